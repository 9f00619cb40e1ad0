// SqlStore as MirrorReads (and TargetQueue::MarkDirty): the rooms the mirror holds and what
// of them, for reconciliation and backfill to compare with the API; their checkpoints.
#include <algorithm>
#include <string>

#include "core/text.h"
#include "store/sql/sql_store.h"
#include "store/sql/values.h"

namespace lbmirror::store::sql {

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

Result<std::vector<std::string>> SqlStore::KnownUsers() {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  auto rows =
      (*connection)
          ->Query(Sql("SELECT user_id FROM {p}notifications"
                      " UNION SELECT user_id FROM {p}comments WHERE user_id IS NOT NULL"
                      " UNION SELECT user_id FROM {p}comment_reactions"
                      " UNION SELECT user_id FROM {p}active_users WHERE user_id IS NOT NULL"
                      " UNION SELECT user_id FROM {p}room_sessions WHERE user_id IS NOT NULL"
                      " UNION SELECT user_id FROM {p}group_members"
                      " UNION SELECT user_id FROM {p}thread_subscriptions"),
                  {});
  if (!rows) return rows.error();
  std::vector<std::string> out;
  out.reserve(rows->size());
  for (const SqlRow& row : *rows) {
    if (row[0] && !row[0]->empty()) out.push_back(*row[0]);
  }
  return out;
}

Result<std::vector<std::pair<std::string, std::string>>> SqlStore::LiveThreads() {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  auto rows = (*connection)
                  ->Query(Sql("SELECT t.room_id, t.thread_id FROM {p}threads t"
                              " WHERE t.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM {p}rooms r"
                              " WHERE r.room_id = t.room_id AND r.deleted_at IS NOT NULL)"),
                          {});
  if (!rows) return rows.error();
  std::vector<std::pair<std::string, std::string>> out;
  out.reserve(rows->size());
  for (const SqlRow& row : *rows) out.emplace_back(row[0].value_or(""), row[1].value_or(""));
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

Status SqlStore::MarkDirty(std::span<const TargetKey> targets, std::string_view reason) {
  if (targets.empty()) return Ok();
  int64_t now = clock_.NowMs();
  return Transact([&](SqlConnection& connection) -> Status {
    for (const TargetKey& key : targets) {
      LBMIRROR_RETURN_IF_ERROR(marks_.MarkBy(connection, key, now, reason));
    }
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

}  // namespace lbmirror::store::sql
