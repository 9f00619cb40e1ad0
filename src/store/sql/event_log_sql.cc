// SqlStore as EventLog: the stored webhooks by type, by filter and page, and their pruning.
#include <algorithm>
#include <string>

#include "core/text.h"
#include "store/sql/sql_store.h"
#include "store/sql/values.h"

namespace lbmirror::store::sql {

Result<std::vector<LastEvent>> SqlStore::LastEvents() {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  auto rows = (*connection)
                  ->Query(Sql("SELECT type, COUNT(*), MAX(received_at) FROM {p}events GROUP BY "
                              "type ORDER BY type"),
                          {});
  if (!rows) return rows.error();
  std::vector<LastEvent> out;
  for (const SqlRow& row : *rows) {
    out.push_back({row[0].value_or(""), IntField(row[1]), row[2].value_or("")});
  }
  return out;
}

Result<std::vector<StoredEvent>> SqlStore::Events(const EventFilter& filter) {
  // The statement names only the conditions asked for, so each uses its index (received_at;
  // room_id, received_at).
  std::string sql =
      "SELECT webhook_id, type, room_id, received_at, {text:payload} FROM {p}events WHERE 1 = 1";
  std::vector<std::string> texts;  // the parameters' text, kept alive for the call
  texts.reserve(8);
  std::vector<SqlValue> params;
  auto bind = [&](std::string text) {
    params.emplace_back(std::string_view(texts.emplace_back(std::move(text))));
  };
  if (filter.since_ms) {
    sql += " AND received_at >= ?";
    bind(FormatSqlTimestamp(*filter.since_ms));
  }
  if (filter.until_ms) {
    sql += " AND received_at < ?";
    bind(FormatSqlTimestamp(*filter.until_ms));
  }
  if (!filter.type.empty()) {
    sql += " AND type = ?";
    bind(filter.type);
  }
  if (!filter.room_id.empty()) {
    sql += " AND room_id = ?";
    bind(filter.room_id);
  }
  if (filter.after) {
    sql += filter.newest_first ? " AND (received_at < ? OR (received_at = ? AND webhook_id < ?))"
                               : " AND (received_at > ? OR (received_at = ? AND webhook_id > ?))";
    bind(filter.after->first);
    bind(filter.after->first);
    bind(filter.after->second);
  }
  sql += filter.newest_first ? " ORDER BY received_at DESC, webhook_id DESC LIMIT ?"
                             : " ORDER BY received_at, webhook_id LIMIT ?";
  params.emplace_back(static_cast<int64_t>(std::max(1, filter.limit)));
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  auto rows = (*connection)->Query(Sql(sql), params);
  if (!rows) return rows.error();
  std::vector<StoredEvent> out;
  out.reserve(rows->size());
  for (SqlRow& row : *rows) {
    out.push_back({row[0].value_or(""), row[1].value_or(""), row[2].value_or(""),
                   row[3].value_or(""), std::move(row[4]).value_or("")});
  }
  return out;
}

Result<int64_t> SqlStore::PruneEvents(int64_t before_ms) {
  // In batches by primary key, so that no statement holds many locks or runs for long
  // (PlanetScale limits a transaction's rows and time).
  constexpr int kBatch = 1000;
  std::string before = FormatSqlTimestamp(before_ms);
  int64_t deleted = 0;
  for (;;) {
    auto connection = pool_.Acquire();
    if (!connection) return connection.error();
    SqlValue params[] = {std::string_view(before), static_cast<int64_t>(kBatch)};
    auto ids = (*connection)
                   ->Query(Sql("SELECT webhook_id FROM {p}events WHERE received_at < ? ORDER BY "
                               "received_at LIMIT ?"),
                           params);
    if (!ids) return ids.error();
    if (ids->empty()) return deleted;
    std::string sql = Sql("DELETE FROM {p}events WHERE webhook_id IN (");
    std::vector<SqlValue> keys;
    for (const SqlRow& row : *ids) {
      sql += keys.empty() ? "?" : ", ?";
      keys.emplace_back(std::string_view(*row[0]));
    }
    sql += ")";
    auto changed = (*connection)->Execute(sql, keys);
    if (!changed) return changed.error();
    deleted += *changed;
    if (static_cast<int>(ids->size()) < kBatch) return deleted;
  }
}

}  // namespace lbmirror::store::sql
