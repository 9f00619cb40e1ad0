// Optional fields of JSON objects that come from outside (webhook bodies, REST answers): a
// field that is missing, or of another type than asked, counts as absent.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace lbmirror {
inline namespace core {

inline std::optional<std::string> StringField(const boost::json::object& object,
                                              std::string_view field) {
  const boost::json::value* value = object.if_contains(field);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return std::string(value->as_string());
}

}  // namespace core
}  // namespace lbmirror
