// Small pieces every SQL unit of the store shares: binding values, running a statement whose
// count does not matter, the lock order of target rows, and statements over lists of rows.
// Header-only, thread-safe.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/result.h"
#include "store/sql/dialect.h"
#include "store/sql/sql_connection.h"
#include "store/target.h"

namespace lbmirror::store::sql {

inline SqlValue Text(const std::string& text) { return std::string_view(text); }
inline SqlValue Optional(const std::optional<std::string>& text) {
  return text ? SqlValue(std::string_view(*text)) : SqlValue(nullptr);
}
inline SqlValue OptionalInt(std::optional<int64_t> value) {
  return value ? SqlValue(*value) : SqlValue(nullptr);
}
inline SqlValue OrNull(const std::string& text) {
  return text.empty() ? SqlValue(nullptr) : SqlValue(std::string_view(text));
}
// What a JSON column holds when the value itself is too deep for it (kept in deep_data).
inline const SqlValue kJsonNull = std::string_view("null");

// Runs one statement, keeping only its error.
inline Status Run(SqlConnection& connection, const std::string& sql,
                  std::span<const SqlValue> params) {
  auto changed = connection.Execute(sql, params);
  if (!changed) return changed.error();
  return Ok();
}

// The order of the targets table's primary key (utf8mb4_bin compares bytes, as std::string
// does): statements that lock several target rows lock them in this order.
inline bool KeyOrder(const TargetKey& a, const TargetKey& b) {
  return std::make_tuple(TargetKindName(a.kind), std::string_view(a.scope_id),
                         std::string_view(a.object_id)) <
         std::make_tuple(TargetKindName(b.kind), std::string_view(b.scope_id),
                         std::string_view(b.object_id));
}

// head + `row` repeated n times (joined by `separator`) + tail, rendered, for n = 1..max;
// element n of the result holds the statement for n rows (element 0 is empty).
inline std::vector<std::string> ManyRowStatements(Dialect dialect, const std::string& prefix,
                                                  const std::string& head, std::string_view row,
                                                  const std::string& tail, size_t max,
                                                  std::string_view separator = ", ") {
  // Rendered whole: the tail's placeholders may need the head ({old:...} names its table).
  std::vector<std::string> statements(max + 1);
  std::string list;
  for (size_t n = 1; n <= max; ++n) {
    if (n > 1) list += separator;
    list += row;
    statements[n] = RenderSql(head + list + tail, dialect, prefix);
  }
  return statements;
}

}  // namespace lbmirror::store::sql
