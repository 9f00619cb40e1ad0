// Optional fields of JSON objects that come from outside (webhook bodies, REST answers): a
// field that is missing, or of another type than asked, counts as absent.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
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

// A time in milliseconds since the epoch given as a JSON number (feeds); absent when missing,
// not a number, not whole or out of range.
inline std::optional<int64_t> MillisField(const boost::json::object& object,
                                          std::string_view field) {
  const boost::json::value* value = object.if_contains(field);
  if (value == nullptr) return std::nullopt;
  if (value->is_int64()) return value->as_int64();
  if (value->is_uint64()) {
    return value->as_uint64() <= static_cast<uint64_t>(INT64_MAX)
               ? std::optional(static_cast<int64_t>(value->as_uint64()))
               : std::nullopt;
  }
  if (value->is_double()) {
    double d = value->as_double();
    if (d >= -9.2e18 && d <= 9.2e18 && d == static_cast<double>(static_cast<int64_t>(d))) {
      return static_cast<int64_t>(d);
    }
  }
  return std::nullopt;
}

}  // namespace core
}  // namespace lbmirror
