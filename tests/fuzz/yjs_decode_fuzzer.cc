// Fuzzes the Yjs decoder: any bytes must give a document or a clear error, never a crash, a
// leak, undefined behaviour or unbounded memory; a decoded document renders both views, or
// both say why not (nested past the depth limit).
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "yjs/document.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using lbmirror::yjs::Document;
  lbmirror::yjs::DecodeLimits limits;
  limits.max_structs = 100'000;  // keeps each input fast; the limit itself is exercised too
  auto document =
      Document::Decode(std::string_view(reinterpret_cast<const char*>(data), size), limits);
  if (!document) {
    if (document.error().message().empty()) std::abort();  // every error says why
    return 0;
  }
  auto view = document->ToJson();
  auto text = document->Text();
  if (!view || !text) {  // past the depth limit: an error with its reason, from both views
    if ((!view && view.error().message().empty()) || (!text && text.error().message().empty())) {
      std::abort();
    }
    return 0;
  }
  const std::string json = boost::json::serialize(*view);
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = lbmirror::kMaxNestingDepth + 2;
  boost::json::value reparsed = boost::json::parse(json, ec, {}, options);
  if (ec || !reparsed.is_object()) std::abort();  // the JSON view is always a valid object
  return 0;
}
