// SqlStore as OperatorViews: the queue at a glance, retrying failed targets, and everything the
// mirror holds of one room.
#include <algorithm>
#include <limits>
#include <string>

#include "core/text.h"
#include "store/sql/sql_store.h"
#include "store/sql/values.h"

namespace lbmirror::store::sql {

Result<QueueStatus> SqlStore::Queue(int max_failures) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  QueueStatus status;
  auto totals = (*connection)
                    ->Query(Sql("SELECT kind, COUNT(*), MIN(first_dirty_at),"
                                " SUM(CASE WHEN last_error IS NULL THEN 0 ELSE 1 END)"
                                " FROM {p}targets WHERE dirty_seq > done_seq GROUP BY kind"),
                            {});
  if (!totals) return totals.error();
  for (const SqlRow& row : *totals) {
    QueueStatus::Counts counts{IntField(row[1]), IntField(row[3])};
    status.pending += counts.pending;
    status.failed += counts.failed;
    if (row[2]) {
      status.oldest_pending_ms = std::min(
          IntField(row[2]), status.oldest_pending_ms.value_or(std::numeric_limits<int64_t>::max()));
    }
    status.by_kind[row[0].value_or("")] = counts;
  }
  if (max_failures > 0 && status.failed > 0) {
    SqlValue limit[] = {static_cast<int64_t>(max_failures)};
    auto failures =
        (*connection)
            ->Query(Sql("SELECT kind, scope_id, object_id, attempts, last_error, next_attempt_at"
                        " FROM {p}targets WHERE dirty_seq > done_seq AND last_error IS NOT NULL"
                        " ORDER BY next_attempt_at DESC LIMIT ?"),
                    limit);
    if (!failures) return failures.error();
    for (const SqlRow& row : *failures) {
      auto kind = ParseTargetKind(row[0].value_or(""));
      if (!kind) continue;
      status.failures.push_back({{*kind, row[1].value_or(""), row[2].value_or("")},
                                 static_cast<int>(IntField(row[3])),
                                 row[4].value_or(""),
                                 IntField(row[5])});
    }
  }
  return status;
}

Result<int64_t> SqlStore::RetryNow(const std::optional<TargetKey>& target) {
  int64_t now = clock_.NowMs();
  int64_t changed = 0;
  Status status = Transact([&](SqlConnection& connection) -> Status {
    if (!target) {
      SqlValue params[] = {now};
      auto rows =
          connection.Execute(Sql("UPDATE {p}targets SET next_attempt_at = ?, marked_by = 'retry'"
                                 " WHERE dirty_seq > done_seq"
                                 " AND last_error IS NOT NULL"),
                             params);
      if (!rows) return rows.error();
      changed = *rows;
      return Ok();
    }
    SqlValue params[] = {now, TargetKindName(target->kind), std::string_view(target->scope_id),
                         std::string_view(target->object_id)};
    auto rows = connection.Execute(
        Sql("UPDATE {p}targets SET next_attempt_at = ?, marked_by = 'retry' WHERE kind = ?"
            " AND scope_id = ? AND object_id = ? AND dirty_seq > done_seq"),
        params);
    if (!rows) return rows.error();
    changed = 1;
    if (*rows > 0) return Ok();
    return marks_.MarkBy(connection, *target, now, "retry");  // not pending: read it again
  });
  if (!status) return status.error();
  return changed;
}

Result<RoomSummary> SqlStore::Summary(std::string_view room_id) {
  // Per table: whether its rows can be marked deleted, and whether they carry synced_at.
  struct Table {
    const char* name;
    bool soft_deleted;
    bool synced;
  };
  // Each is looked up by an index that starts with room_id (reactions and notifications,
  // which have none, are left out).
  static constexpr Table kTables[] = {
      {"rooms", true, true},         {"documents", true, true},
      {"ydocs", true, true},         {"threads", true, true},
      {"comments", true, true},      {"comment_attachments", true, true},
      {"active_users", false, true}, {"flow_nodes", false, true},
      {"flow_edges", false, true}};
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  SqlValue key[] = {room_id};
  // One round trip: a SELECT per table, by UNION ALL, each row led by its table's position.
  std::string sql;
  std::vector<SqlValue> keys;
  for (size_t i = 0; i < std::size(kTables); ++i) {
    const Table& table = kTables[i];
    sql +=
        Cat(i == 0 ? "" : " UNION ALL ", "SELECT ", i, ", COUNT(*), ",
            table.soft_deleted ? "SUM(CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END)" : "COUNT(*)",
            ", ", table.synced ? "MAX(synced_at)" : "NULL", " FROM {p}", table.name,
            " WHERE room_id = ?");
    keys.emplace_back(room_id);
  }
  auto rows = (*connection)->Query(Sql(sql), keys);
  if (!rows) return rows.error();
  RoomSummary summary;
  summary.tables.resize(std::size(kTables));
  for (const SqlRow& row : *rows) {
    const auto i = static_cast<size_t>(IntField(row[0]));
    if (i >= summary.tables.size()) continue;
    summary.tables[i] = {kTables[i].name, IntField(row[1]), IntField(row[2]), row[3]};
  }
  auto room = (*connection)->Query(Sql("SELECT deleted_at FROM {p}rooms WHERE room_id = ?"), key);
  if (!room) return room.error();
  summary.known = !room->empty();
  if (summary.known) summary.deleted_at = (*room)[0][0];
  auto threads = (*connection)
                     ->Query(Sql("SELECT thread_id FROM {p}threads WHERE room_id = ? AND "
                                 "deleted_at IS NULL ORDER BY thread_id"),
                             key);
  if (!threads) return threads.error();
  for (const SqlRow& row : *threads) summary.live_threads.push_back(row[0].value_or(""));
  auto comments = (*connection)
                      ->Query(Sql("SELECT thread_id, comment_id, user_id, body_text, created_at"
                                  " FROM {p}comments WHERE room_id = ? AND deleted_at IS NULL"
                                  " ORDER BY created_at DESC, comment_id DESC LIMIT 10"),
                              key);
  if (!comments) return comments.error();
  for (SqlRow& row : *comments) {
    summary.latest_comments.push_back({row[0].value_or(""), row[1].value_or(""),
                                       row[2].value_or(""), std::move(row[3]).value_or(""),
                                       row[4]});
  }
  auto pending = (*connection)
                     ->Query(Sql("SELECT kind, object_id, attempts, last_error FROM {p}targets"
                                 " WHERE scope_id = ? AND dirty_seq > done_seq"
                                 " ORDER BY kind, object_id"),
                             key);
  if (!pending) return pending.error();
  for (const SqlRow& row : *pending) {
    auto kind = ParseTargetKind(row[0].value_or(""));
    if (!kind) continue;
    summary.pending.push_back({{*kind, std::string(room_id), row[1].value_or("")},
                               static_cast<int>(IntField(row[2])),
                               row[3].value_or("")});
  }
  return summary;
}

}  // namespace lbmirror::store::sql
