// Small string helpers shared by every layer: concatenation, splitting, trimming,
// base64 (standard alphabet) and timestamp conversion. Pure functions, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace lbmirror {
inline namespace core {

// Concatenates anything that streams into std::ostream.
template <typename... Args>
std::string Cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

// Splits on any of the characters in `separators`, dropping empty pieces.
std::vector<std::string> SplitAny(std::string_view text, std::string_view separators);
std::string_view Trim(std::string_view text);
bool StartsWith(std::string_view text, std::string_view prefix);
// Equality in a time that depends on the lengths only (secrets, signatures).
bool ConstantTimeEquals(std::string_view a, std::string_view b);
std::string ToLower(std::string_view text);
// True for well-formed UTF-8 (RFC 3629: no overlong forms, surrogates or code points past
// U+10FFFF), what a strict decoder such as TextDecoder with fatal: true accepts.
bool IsValidUtf8(std::string_view text);
// `text` with every occurrence of `from` replaced by `to` (left to right, not rescanned).
std::string ReplaceAll(std::string text, std::string_view from, std::string_view to);
// The contents of a JSON string literal for `text` (quotes and backslashes escaped, control
// characters as \uXXXX), without the surrounding quotes.
std::string JsonEscape(std::string_view text);
// The nesting depth of JSON text: objects and arrays, outside strings ("1" is 0, "{}" 1,
// "{\"a\":[]}" 2). Linear, no allocation; the text is assumed to be valid JSON.
int JsonDepth(std::string_view json);
// "250ms", "30s", "5m", "2h", "30d" (or "0") in milliseconds; nullopt for anything else.
std::optional<int64_t> ParseDurationMs(std::string_view text);

// Standard base64 with '=' padding.
std::string Base64Encode(std::string_view bytes);
// Decodes standard base64. Accepts missing padding and the URL-safe characters '-' and '_'
// like Node's decoder does; returns nullopt for any other character or a bad length.
std::optional<std::string> Base64Decode(std::string_view text);

// Parses an ISO-8601 UTC timestamp ("2026-01-01T00:00:00Z", with or without fractional
// seconds, 'Z' or "+00:00") into milliseconds since the epoch; nullopt if malformed.
std::optional<int64_t> ParseIsoTimestampMs(std::string_view text);
// Formats milliseconds since the epoch as "YYYY-MM-DD HH:MM:SS.mmm" (UTC), the form every
// backend stores in its timestamp columns.
std::string FormatSqlTimestamp(int64_t epoch_ms);
// Formats as ISO-8601 "YYYY-MM-DDTHH:MM:SS.mmmZ".
std::string FormatIsoTimestamp(int64_t epoch_ms);

// Percent-encodes everything except A-Z a-z 0-9 - _ . ! ~ * ' ( ) (encodeURIComponent).
std::string EncodeUriComponent(std::string_view text);
// Decodes %XX sequences; nullopt on a malformed escape. '+' is kept as is.
std::optional<std::string> PercentDecode(std::string_view text);

}  // namespace core
}  // namespace lbmirror
