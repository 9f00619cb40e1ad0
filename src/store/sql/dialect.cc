#include "store/sql/dialect.h"

#include "core/text.h"

namespace lbmirror::store::sql {

namespace {
// The table an INSERT writes to (after the prefix is filled in), for {old:COLUMN}.
std::string InsertTable(const std::string& sql) {
  size_t at = sql.find("INSERT INTO ");
  if (at == std::string::npos) return {};
  at += 12;
  size_t end = sql.find_first_of(" (", at);
  return sql.substr(at, end - at);
}
}  // namespace

std::string RenderSql(std::string sql, Dialect dialect, const std::string& prefix) {
  const bool mysql = dialect == Dialect::kMysql;
  const bool sqlite = dialect == Dialect::kSqlite;
  sql = ReplaceAll(sql, "{p}", prefix);
  sql = ReplaceAll(sql, "{same}", mysql ? "<=>" : sqlite ? "IS" : "IS NOT DISTINCT FROM");
  sql = ReplaceAll(sql, "{least}", sqlite ? "MIN" : "LEAST");
  sql = ReplaceAll(sql, "{greatest}", sqlite ? "MAX" : "GREATEST");
  // A JSON column as text (Postgres's jsonb is not text; COALESCE with a text column fails).
  for (size_t pos; (pos = sql.find("{text:")) != std::string::npos;) {
    size_t end = sql.find('}', pos);
    std::string column = sql.substr(pos + 6, end - pos - 6);
    sql.replace(pos, end - pos + 1, dialect == Dialect::kPostgres ? column + "::text" : column);
  }
  // A parameter whose type nothing around it tells (Postgres would take it for text).
  sql = ReplaceAll(sql, "{bigint:?}", dialect == Dialect::kPostgres ? "CAST(? AS BIGINT)" : "?");
  // Postgres: in an upsert's SET, a bare column could be the row's or the proposed one.
  const std::string table = dialect == Dialect::kPostgres ? InsertTable(sql) + "." : "";
  for (size_t pos; (pos = sql.find("{old:")) != std::string::npos;) {
    size_t end = sql.find('}', pos);
    sql.replace(pos, end - pos + 1, table + sql.substr(pos + 5, end - pos - 5));
  }
  for (size_t pos; (pos = sql.find("{upsert:")) != std::string::npos;) {
    size_t end = sql.find('}', pos);
    std::string keys = sql.substr(pos + 8, end - pos - 8);
    sql.replace(pos, end - pos + 1,
                mysql ? "ON DUPLICATE KEY UPDATE" : "ON CONFLICT(" + keys + ") DO UPDATE SET");
  }
  for (size_t pos; (pos = sql.find("{v:")) != std::string::npos;) {
    size_t end = sql.find('}', pos);
    std::string column = sql.substr(pos + 3, end - pos - 3);
    sql.replace(pos, end - pos + 1, mysql ? "VALUES(" + column + ")" : "excluded." + column);
  }
  return sql;
}

}  // namespace lbmirror::store::sql
