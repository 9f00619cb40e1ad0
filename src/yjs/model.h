// The document model (private to src/yjs/): items (structs of the update format, each with
// its id, origins, parent and content) and types (arrays, maps, texts, XML), linked as Yjs
// links them once integrated; and Document::Impl, which decodes updates into it
// (integrate.cc) and renders its views (views.cc).
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "yjs/document.h"
#include "yjs/lib0_reader.h"

namespace lbmirror::yjs {

enum Content : uint8_t {
  kGc = 0,
  kDeleted = 1,
  kJson = 2,
  kBinary = 3,
  kString = 4,
  kEmbed = 5,
  kFormat = 6,
  kType = 7,
  kAny = 8,
  kDoc = 9,
};
enum TypeRef : uint8_t {
  kArray = 0,
  kMap = 1,
  kText = 2,
  kXmlElement = 3,
  kXmlFragment = 4,
  kXmlHook = 5,
  kXmlText = 6,
  kUnknownRoot = 255,
};

struct Id {
  uint64_t client = 0;
  uint64_t clock = 0;
  bool operator==(const Id&) const = default;
};

struct Type;

struct Item {
  Id id;
  uint64_t length = 0;
  std::optional<Id> origin, right_origin;
  // Parent as written in the update (only when there are no origins).
  std::optional<std::string> parent_key;
  std::optional<Id> parent_id;
  std::optional<std::string> parent_sub;
  Content content = kGc;
  std::string str;                  // kString (UTF-8), kBinary (bytes), kFormat key, kDoc guid
  std::vector<json::value> values;  // kJson / kAny elements; kEmbed / kFormat value
  std::unique_ptr<Type> type;       // kType
  // Integration state.
  Type* parent = nullptr;
  Item* left = nullptr;
  Item* right = nullptr;
  bool deleted = false;

  uint64_t end() const { return id.clock + length; }
  bool countable() const { return content != kDeleted && content != kFormat && content != kGc; }
};

struct Type {
  TypeRef ref = kUnknownRoot;
  std::string name;  // XML element node name or hook name
  Item* start = nullptr;
  std::map<std::string, Item*> map;  // key -> the rightmost (current) item
  Item* item = nullptr;              // the item holding this type; null for roots
};

inline bool SameId(const std::optional<Id>& a, const std::optional<Id>& b) { return a == b; }

// Number of UTF-16 code units of a UTF-8 string (what Yjs counts as string length).
uint64_t Utf16Length(std::string_view s);
// Splits UTF-8 text at a UTF-16 offset. A cut through a surrogate pair leaves U+FFFD on both
// sides, as Yjs does.
std::pair<std::string, std::string> SplitUtf16(std::string_view s, uint64_t offset);

struct Document::Impl {
  DecodeLimits limits;
  std::map<std::string, std::unique_ptr<Type>> roots;  // by name: views list roots sorted
  std::unordered_map<uint64_t, std::vector<std::unique_ptr<Item>>> store;  // by clock
  size_t structs = 0;

  // -- decoding --
  void ReadContent(Reader& r, Item& item, uint8_t info);
  void ReadUpdate(std::string_view update);
  // -- integration --
  Type* Root(const std::string& name);
  Item* Find(const Id& id);
  Item* Split(Item* item, uint64_t diff);
  Item* CleanStart(const Id& id);
  Item* CleanEnd(const Id& id);
  uint64_t State(uint64_t client) const;
  void Integrate(std::unique_ptr<Item> owned);
  void IntegrateAll(std::unordered_map<uint64_t, std::vector<std::unique_ptr<Item>>>& pending);
  void ApplyDeleteSet(Reader& r);
  // -- views --
  TypeRef RootRef(const Type& type) const;
  json::value TypeJson(const Type& type, TypeRef ref, int depth) const;
  json::value ItemValue(const Item& item, size_t index, int depth) const;
  json::value Delta(const Type& type, int depth) const;
  json::value SequenceJson(const Type& type, int depth) const;
  json::object MapJson(const Type& type, int depth) const;
  void CollectText(const Type& type, TypeRef ref, std::vector<std::string>& blocks,
                   std::string& current, int depth) const;
};

}  // namespace lbmirror::yjs
