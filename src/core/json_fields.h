// Optional fields of JSON objects that come from outside (webhook bodies, REST answers): a
// field that is missing, or of another type than asked, counts as absent.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "core/text.h"

namespace lbmirror {
inline namespace core {

inline std::optional<std::string> StringField(const boost::json::object& object,
                                              std::string_view field) {
  const boost::json::value* value = object.if_contains(field);
  if (value == nullptr || !value->is_string()) return std::nullopt;
  return std::string(value->as_string());
}

// An ISO-8601 time field as a SQL timestamp ("YYYY-MM-DD HH:MM:SS.mmm" UTC); absent when the
// field is missing or is not a time.
inline std::optional<std::string> TimestampField(const boost::json::object& object,
                                                 std::string_view field) {
  auto text = StringField(object, field);
  if (!text) return std::nullopt;
  auto ms = ParseIsoTimestampMs(*text);
  if (!ms) return std::nullopt;
  return FormatSqlTimestamp(*ms);
}

}  // namespace core
}  // namespace lbmirror
