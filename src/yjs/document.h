// The yjs layer's front header: a decoder of the Yjs update format (v1, what
// Y.encodeStateAsUpdate and GET /v2/rooms/{room}/ydoc-binary produce) into a document model
// of maps, arrays, text and XML, and two views of it:
//  * JSON, lossless for what people write: Y.Map -> object, Y.Array -> array, Y.Text -> string
//    when it has no formatting or embeds, else its delta [{"insert":…,"attributes":{…}}],
//    Y.XmlFragment -> array of children, Y.XmlElement -> {"nodeName","attributes","children"},
//    Y.XmlText -> like Y.Text, wrapped as {"attributes","delta"} when it has attributes;
//    binary values -> {"$binary": base64}, subdocuments -> {"$doc": guid}, undefined -> null.
//    A root type's class is not recorded in the format; it is read from its content (map
//    entries only: map; text, formats or embeds: text; XML children: fragment; else array).
//  * plain text for search: Y.Text, Y.XmlText (Lexical) and XML fragments (Tiptap, BlockNote),
//    one line per block, formatting dropped.
// Pure computation; a Document is immutable after Decode and safe to read from many threads.
#pragma once

#include <boost/json/value.hpp>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/limits.h"
#include "core/result.h"

namespace lbmirror::yjs {

struct DecodeLimits {
  size_t max_update_bytes = 256u << 20;  // larger updates are refused before decoding
  size_t max_structs = 20'000'000;       // items, GC and skip records together
  int max_depth = kMaxNestingDepth;      // nesting of values and types
};

class Document {
 public:
  ~Document();
  Document(Document&&) noexcept;
  Document& operator=(Document&&) noexcept;

  // Decodes one v1 update into a fresh document. kInvalidArgument with the reason (and byte
  // offset) for a truncated or malformed update; kTooLarge past the limits. Never crashes.
  static Result<Document> Decode(std::string_view update, const DecodeLimits& limits = {});

  // {"rootName": value, ...} for every root type that has content, sorted by name.
  // kTooLarge when types nest deeper than the limits' max_depth. Never throws.
  Result<boost::json::value> ToJson() const;
  // The document's plain text, roots sorted by name, blocks on their own lines. kTooLarge
  // when types nest deeper than the limits' max_depth. Never throws.
  Result<std::string> Text() const;

  struct Impl;

 private:
  explicit Document(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace lbmirror::yjs
