#include "store/sql/dialect.h"

#include "core/text.h"

namespace lbmirror::store::sql {

std::string RenderSql(std::string sql, Dialect dialect, const std::string& prefix) {
  bool mysql = dialect == Dialect::kMysql;
  sql = ReplaceAll(sql, "{p}", prefix);
  sql = ReplaceAll(sql, "{same}", mysql ? "<=>" : "IS");
  sql = ReplaceAll(sql, "{least}", mysql ? "LEAST" : "MIN");
  sql = ReplaceAll(sql, "{greatest}", mysql ? "GREATEST" : "MAX");
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
