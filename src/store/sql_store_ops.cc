// SqlStore: what backfill, reconciliation and operators read and write besides the mirror
// itself (room listings and content for comparison, checkpoints, queue status, pruning).
#include <algorithm>
#include <string>

#include "core/text.h"
#include "store/sql/values.h"
#include "store/sql_store.h"

namespace lbmirror::store {

namespace {
// A LIKE pattern matching ids that start with `prefix` ('!' escapes, valid in every dialect).
std::string PrefixPattern(std::string_view prefix) {
  std::string out;
  for (char c : prefix) {
    if (c == '!' || c == '%' || c == '_') out += '!';
    out += c;
  }
  out += '%';
  return out;
}

}  // namespace

Result<std::vector<RoomRow>> SqlStore::LiveRooms(std::string_view prefix) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  std::string pattern = PrefixPattern(prefix);
  SqlValue params[] = {std::string_view(pattern)};
  auto rows =
      (*connection)
          ->Query(Sql("SELECT room_id, organization_id, metadata, default_accesses, users_accesses,"
                      " groups_accesses, created_at, last_connection_at FROM {p}rooms"
                      " WHERE deleted_at IS NULL AND room_id LIKE ? ESCAPE '!' ORDER BY room_id"),
                  params);
  if (!rows) return rows.error();
  std::vector<RoomRow> out;
  for (const SqlRow& row : *rows) {
    out.push_back({row[0].value_or(""), row[1].value_or(""), row[2].value_or("{}"),
                   row[3].value_or("[]"), row[4].value_or("{}"), row[5].value_or("{}"), row[6],
                   row[7]});
  }
  return out;
}

Result<RoomContent> SqlStore::Content(std::string_view room_id) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  SqlValue key[] = {room_id};
  RoomContent content;
  auto document =
      (*connection)
          ->Query(Sql("SELECT COALESCE(deep_data, {text:data}) FROM {p}documents WHERE room_id = ?"
                      " AND deleted_at IS NULL"),
                  key);
  if (!document) return document.error();
  if (!document->empty()) content.document = (*document)[0][0].value_or("");
  auto ydoc =
      (*connection)
          ->Query(Sql("SELECT state FROM {p}ydocs WHERE room_id = ? AND deleted_at IS NULL"), key);
  if (!ydoc) return ydoc.error();
  if (!ydoc->empty()) content.ydoc_state = (*ydoc)[0][0].value_or("");
  auto threads = (*connection)
                     ->Query(Sql("SELECT thread_id, updated_at FROM {p}threads WHERE room_id = ? "
                                 "AND deleted_at IS NULL"),
                             key);
  if (!threads) return threads.error();
  for (const SqlRow& row : *threads) content.threads[row[0].value_or("")] = row[1];
  // Per kind, so that the primary key (kind, scope_id, object_id) serves the lookup.
  auto pending =
      (*connection)
          ->Query(
              Sql("SELECT kind FROM {p}targets WHERE kind IN ('room', 'storage', 'ydoc', 'thread')"
                  " AND scope_id = ? AND dirty_seq > done_seq"),
              key);
  if (!pending) return pending.error();
  for (const SqlRow& row : *pending) {
    if (auto kind = ParseTargetKind(row[0].value_or(""))) content.pending.push_back(*kind);
  }
  return content;
}

Status SqlStore::MarkDirty(std::span<const TargetKey> targets) {
  if (targets.empty()) return Ok();
  int64_t now = clock_.NowMs();
  return Transact([&](SqlConnection& connection) -> Status {
    for (const TargetKey& key : targets) LBMIRROR_RETURN_IF_ERROR(MarkDirty(connection, key, now));
    return Ok();
  });
}

Result<std::optional<std::string>> SqlStore::Checkpoint(std::string_view name) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  SqlValue key[] = {name};
  auto rows = (*connection)->Query(Sql("SELECT value FROM {p}checkpoints WHERE name = ?"), key);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<std::string>();
  return (*rows)[0][0];
}

Status SqlStore::SetCheckpoint(std::string_view name, std::string_view value) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  SqlValue params[] = {name, value, clock_.NowMs()};
  return sql::Run(**connection,
                  Sql("INSERT INTO {p}checkpoints (name, value, updated_at) VALUES (?, ?, ?)"
                      " {upsert:name} value = {v:value}, updated_at = {v:updated_at}"),
                  params);
}

Result<QueueStatus> SqlStore::Queue(int max_failures) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  QueueStatus status;
  auto totals = (*connection)
                    ->Query(Sql("SELECT COUNT(*), MIN(first_dirty_at),"
                                " SUM(CASE WHEN last_error IS NULL THEN 0 ELSE 1 END)"
                                " FROM {p}targets WHERE dirty_seq > done_seq"),
                            {});
  if (!totals) return totals.error();
  if (!totals->empty()) {
    status.pending = IntField((*totals)[0][0]);
    if ((*totals)[0][1]) status.oldest_pending_ms = IntField((*totals)[0][1]);
    status.failed = IntField((*totals)[0][2]);
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
      auto rows = connection.Execute(
          Sql("UPDATE {p}targets SET next_attempt_at = ? WHERE dirty_seq > done_seq"
              " AND last_error IS NOT NULL"),
          params);
      if (!rows) return rows.error();
      changed = *rows;
      return Ok();
    }
    SqlValue params[] = {now, TargetKindName(target->kind), std::string_view(target->scope_id),
                         std::string_view(target->object_id)};
    auto rows = connection.Execute(
        Sql("UPDATE {p}targets SET next_attempt_at = ? WHERE kind = ? AND scope_id = ?"
            " AND object_id = ? AND dirty_seq > done_seq"),
        params);
    if (!rows) return rows.error();
    changed = 1;
    if (*rows > 0) return Ok();
    return MarkDirty(connection, *target, now);  // not pending: read it again
  });
  if (!status) return status.error();
  return changed;
}

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

Result<RoomSummary> SqlStore::Summary(std::string_view room_id) {
  // Per table: whether its rows can be marked deleted, and whether they carry synced_at.
  struct Table {
    const char* name;
    bool soft_deleted;
    bool synced;
  };
  // Each is looked up by an index that starts with room_id (reactions and notifications,
  // which have none, are left out).
  static constexpr Table kTables[] = {{"rooms", true, true},       {"documents", true, true},
                                      {"ydocs", true, true},       {"threads", true, true},
                                      {"comments", true, true},    {"active_users", false, true},
                                      {"flow_nodes", false, true}, {"flow_edges", false, true}};
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

}  // namespace lbmirror::store
