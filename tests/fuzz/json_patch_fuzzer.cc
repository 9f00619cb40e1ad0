// Fuzzes the change feed's JSON Patch between two versions of a Storage document: the input is
// the previous document and the new one, split at the first 0x1e byte, each parsed as the store
// parses documents (up to kMaxNestingDepth levels). The patch applied to the previous document
// must give the new one, also once its change's payload is serialized and parsed back as
// `lbmirror changes` does (kMaxNestingDepth + 3 levels); a patch from
// nothing (a document's first read) applied to null must give the document; equal documents
// give no operation. Any input ends in one of those checks, never in a crash.
#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/json_patch.h"
#include "core/limits.h"

namespace {

namespace json = boost::json;

bool Parse(std::string_view text, json::value& value, int extra_depth = 0) {
  json::parse_options deep;
  deep.max_depth = lbmirror::kMaxNestingDepth + extra_depth;
  boost::system::error_code ec;
  value = json::parse(text, ec, {}, deep);
  return !ec;
}

// The value a reader gets from `value`'s text (the same for a number wherever it stands).
json::value Reread(const json::value& value, int extra_depth) {
  json::value read;
  if (!Parse(json::serialize(value), read, extra_depth)) std::abort();
  return read;
}

// `patch` applied to `from` gives `to`, whether used as made or as a reader gets it (the
// patch's operations nest its values up to three levels deeper than the document).
void CheckPatch(const json::value& from, const json::value& to, const json::array& patch) {
  auto applied = lbmirror::JsonPatchApply(from, patch);
  if (!applied || !lbmirror::JsonEqual(*applied, to)) std::abort();
  const json::value read = Reread(json::object{{"patch", patch}}, 3);
  auto reread = lbmirror::JsonPatchApply(Reread(from, 0), read.at("patch").as_array());
  if (!reread || !lbmirror::JsonEqual(*reread, Reread(to, 0))) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t split = std::min(input.find('\x1e'), input.size());
  json::value previous;
  json::value now;
  const bool previous_parsed = Parse(input.substr(0, split), previous);
  if (!Parse(input.substr(std::min(split + 1, input.size())), now)) return 0;
  CheckPatch(nullptr, now, lbmirror::JsonDiff(nullptr, now));
  if (!previous_parsed) return 0;
  const json::array patch = lbmirror::JsonDiff(previous, now);
  if (patch.empty() != lbmirror::JsonEqual(previous, now)) std::abort();
  CheckPatch(previous, now, patch);
  return 0;
}
