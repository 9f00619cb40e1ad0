// JSON Patch (RFC 6902) between two JSON values, for telling what changed in a document.
// Diff gives "add", "remove" and "replace" operations that turn `from` into `to`: objects are
// compared member by member, arrays index by index (a longer array gets its new elements added
// at the end, a shorter one loses its last ones, last first), and anything else that differs is
// replaced whole. Apply carries a patch out as RFC 6902 says for those three operations (and
// "test"). Paths are JSON Pointers (RFC 6901: "~" is written "~0" and "/" is "~1").
// Both recurse once per level of nesting: callers bound the depth of what they parse.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <string_view>

#include "core/result.h"

namespace lbmirror {
inline namespace core {

// Whether `a` and `b` are the same JSON value. Unlike boost::json's operator== (which, in
// Boost 1.81, copies each member of an object it compares: quadratic in the depth, and cubic
// when a diff compares at every level), it copies nothing: linear in their size.
bool JsonEqual(const boost::json::value& a, const boost::json::value& b);

// The operations that turn `from` into `to`; empty when they are equal.
boost::json::array JsonDiff(const boost::json::value& from, const boost::json::value& to);

// `document` with `patch` applied; an error names the first operation that does not apply.
Result<boost::json::value> JsonPatchApply(boost::json::value document,
                                          const boost::json::array& patch);

// One reference token of a JSON Pointer, escaped ("a/b~" -> "a~1b~0").
std::string JsonPointerToken(std::string_view key);

}  // namespace core
}  // namespace lbmirror
