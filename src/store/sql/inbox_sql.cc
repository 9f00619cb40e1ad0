#include "store/sql/inbox_sql.h"

#include <algorithm>
#include <boost/json.hpp>

#include "core/text.h"
#include "store/sql/row_changes.h"
#include "store/sql/transactor.h"
#include "store/sql/values.h"

namespace lbmirror::store::sql {

InboxSql::InboxSql(Dialect dialect, const std::string& prefix, int64_t coalesce_ms, size_t max_rows,
                   const DirtyMarks& marks)
    : dialect_(dialect),
      prefix_(prefix),
      coalesce_ms_(coalesce_ms),
      max_rows_(max_rows),
      marks_(marks) {
  select_events_ =
      ManyRowStatements(dialect, prefix, "SELECT webhook_id FROM {p}events WHERE webhook_id IN (",
                        "?", ")", max_rows);
  insert_events_ = ManyRowStatements(
      dialect, prefix,
      "INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at,"
      " payload) VALUES ",
      "(?, ?, ?, ?, ?, ?)",
      dialect == Dialect::kMysql ? " ON DUPLICATE KEY UPDATE webhook_id = webhook_id"
                                 : " ON CONFLICT(webhook_id) DO NOTHING",
      max_rows);
}

std::string InboxSql::Sql(std::string_view text) const {
  return RenderSql(std::string(text), dialect_, prefix_);
}

Result<std::vector<bool>> InboxSql::Record(ConnectionPool& pool,
                                           std::span<const InboxEvent* const> events) const {
  std::vector<bool> stored;
  Status status = Ok();
  for (int attempt = 0; attempt < 4; ++attempt) {
    // First optimistically (redeliveries are rare: no lookup before the insert); a conflict
    // means some, not all, of the group were stored before: the transaction was rolled back,
    // and the next attempt looks first.
    status = Transact(pool, [&](SqlConnection& connection) {
      return RecordMany(connection, events, stored, /*look_first=*/attempt > 0);
    });
    if (status || status.error().code() != ErrorCode::kConflict) break;
  }
  if (!status) return status.error().WithContext("recording webhook");
  return stored;
}

Status InboxSql::WarmUp(ConnectionPool& pool, int connections) const {
  constexpr size_t kWarmRows = 16;
  std::vector<ConnectionPool::Lease> held;  // all at once: each is a connection of its own
  for (int i = 0; i < std::max(1, connections); ++i) {
    auto connection = pool.Acquire();
    if (!connection) return connection.error();
    LBMIRROR_RETURN_IF_ERROR((*connection)->Begin());
    for (size_t rows = 1; rows <= kWarmRows; ++rows) {
      LBMIRROR_RETURN_IF_ERROR((*connection)->Prepare(insert_events_.at(rows)));
      LBMIRROR_RETURN_IF_ERROR((*connection)->Prepare(marks_.Many(rows)));
    }
    LBMIRROR_RETURN_IF_ERROR((*connection)->Rollback());
    held.push_back(std::move(*connection));
  }
  return Ok();
}

Status InboxSql::RecordMany(SqlConnection& connection, std::span<const InboxEvent* const> events,
                            std::vector<bool>& stored, bool look_first) const {
  // Which ids are stored already (redeliveries), and which repeat within the group.
  stored.assign(events.size(), false);
  std::vector<SqlValue> params;
  std::vector<std::string_view> seen;
  std::vector<SqlRow> existing;  // `seen` points into it
  if (look_first) {
    std::vector<std::string_view> ids;
    for (const InboxEvent* event : events) ids.push_back(event->webhook_id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    params.assign(ids.begin(), ids.end());
    auto rows = connection.Query(select_events_.at(ids.size()), params);
    if (!rows) return rows.error();
    existing = std::move(*rows);
    for (const SqlRow& row : existing) {
      if (row[0]) seen.push_back(*row[0]);
    }
  }
  for (size_t i = 0; i < events.size(); ++i) {
    std::string_view id = events[i]->webhook_id;
    if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
    stored[i] = true;
    seen.push_back(id);
  }

  // The new events, in one statement, in id order (concurrent groups then lock their rows in
  // the same order).
  std::vector<size_t> order;
  for (size_t i = 0; i < events.size(); ++i) {
    if (stored[i]) order.push_back(i);
  }
  if (order.empty()) return Ok();
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return events[a]->webhook_id < events[b]->webhook_id; });
  std::vector<std::string> received_at;
  received_at.reserve(order.size());
  params.clear();
  for (size_t i : order) {
    const InboxEvent& event = *events[i];
    received_at.push_back(FormatSqlTimestamp(event.received_at_ms));
    params.insert(
        params.end(),
        {std::string_view(event.webhook_id), std::string_view(event.type),
         event.room_id.empty() ? SqlValue(nullptr) : SqlValue(std::string_view(event.room_id)),
         event.webhook_timestamp, std::string_view(received_at.back()), event.payload});
  }
  auto inserted = connection.Execute(insert_events_.at(order.size()), params);
  if (!inserted) return inserted.error();
  if (*inserted == 0 && !look_first) {
    stored.assign(events.size(), false);  // every one stored already: redeliveries
    return Ok();
  }
  if (*inserted != static_cast<int64_t>(order.size())) {
    // Some were stored already (before this transaction, or by a concurrent group after the
    // lookup: the insert waited for it). Rolled back and tried again, looking first.
    return Error(ErrorCode::kConflict, "a webhook of the group was stored already");
  }

  // Their targets, each once (the earliest receipt counts), in key order so that concurrent
  // groups lock the rows in the same order.
  struct Mark {
    const TargetKey* key;
    int64_t received_at_ms;
  };
  std::vector<Mark> marks;
  for (size_t i = 0; i < events.size(); ++i) {
    if (!stored[i]) continue;
    for (const TargetKey& key : events[i]->targets)
      marks.push_back({&key, events[i]->received_at_ms});
  }
  auto by_key = [](const Mark& a, const Mark& b) {
    if (KeyOrder(*a.key, *b.key)) return true;
    if (KeyOrder(*b.key, *a.key)) return false;
    return a.received_at_ms < b.received_at_ms;
  };
  std::sort(marks.begin(), marks.end(), by_key);
  marks.erase(std::unique(marks.begin(), marks.end(),
                          [](const Mark& a, const Mark& b) { return *a.key == *b.key; }),
              marks.end());
  for (size_t begin = 0; begin < marks.size(); begin += max_rows_) {
    size_t end = std::min(marks.size(), begin + max_rows_);
    params.clear();
    for (size_t i = begin; i < end; ++i) {
      const TargetKey& key = *marks[i].key;
      params.insert(params.end(),
                    {TargetKindName(key.kind), std::string_view(key.scope_id),
                     std::string_view(key.object_id), marks[i].received_at_ms + coalesce_ms_,
                     marks[i].received_at_ms});
    }
    auto marked = connection.Execute(marks_.Many(end - begin), params);
    if (!marked) return marked.error();
  }
  for (size_t i = 0; i < events.size(); ++i) {
    if (stored[i] && events[i]->session) {
      LBMIRROR_RETURN_IF_ERROR(ApplySessionChange(connection, *events[i]->session, *events[i]));
    }
  }
  return Ok();
}

Status InboxSql::ApplySessionChange(SqlConnection& connection, const SessionChange& change,
                                    const InboxEvent& event) const {
  if (changes_ == nullptr) return ApplySession(connection, change);
  const ChangeTable& table = *ChangeTableFor("room_sessions");
  SqlValue scope[] = {Text(change.room_id), change.connection_id};
  constexpr std::string_view kWhere = "room_id = ? AND connection_id = ?";
  auto before = ReadImage(connection, dialect_, prefix_, table, kWhere, scope);
  if (!before) return before.error();
  LBMIRROR_RETURN_IF_ERROR(ApplySession(connection, change));
  auto after = ReadImage(connection, dialect_, prefix_, table, kWhere, scope);
  if (!after) return after.error();
  namespace json = boost::json;
  const std::string cause = json::serialize(json::object{
      {"reason", "webhook"}, {"webhooks", json::array{json::string(event.webhook_id)}}});
  for (Change& made : DiffImages(table, *before, *after)) {
    made.committed_at_ms = event.received_at_ms;
    made.cause = cause;
    LBMIRROR_RETURN_IF_ERROR(changes_->Append(connection, made));
  }
  return Ok();
}

Status InboxSql::ApplySession(SqlConnection& connection, const SessionChange& change) const {
  std::string at = FormatSqlTimestamp(change.at_ms);
  SqlValue user = OrNull(change.user_id);
  SqlValue info = OrNull(change.user_info);
  if (change.entered) {
    // A userLeft may have arrived first and left a placeholder (entered_known = 0) whose
    // entered_at is the leave time: complete it instead of opening a second session.
    SqlValue complete[] = {Text(at), user, info, Text(change.room_id), change.connection_id,
                           Text(at)};
    auto changed = connection.Execute(
        Sql("UPDATE {p}room_sessions SET entered_at = ?, entered_known = 1, user_id = ?,"
            " user_info = ? WHERE room_id = ? AND connection_id = ? AND entered_known = 0"
            " AND entered_at >= ?"),
        complete);
    if (!changed) return changed.error();
    if (*changed > 0) return Ok();
    SqlValue open[] = {Text(change.room_id), change.connection_id, Text(at), user, info};
    return Run(
        connection,
        Sql("INSERT INTO {p}room_sessions (room_id, connection_id, entered_at, entered_known,"
            " user_id, user_info, left_at) VALUES (?, ?, ?, 1, ?, ?, NULL)"
            " {upsert:room_id, connection_id, entered_at} entered_known = 1"),
        open);
  }
  SqlValue close[] = {Text(at), Text(change.room_id), change.connection_id, Text(at)};
  auto changed = connection.Execute(
      Sql("UPDATE {p}room_sessions SET left_at = ? WHERE room_id = ? AND connection_id = ?"
          " AND entered_at <= ? AND left_at IS NULL"),
      close);
  if (!changed) return changed.error();
  if (*changed > 0) return Ok();
  // No open session: either this leave came before its enter, or the session is closed
  // already (a second leave). Only the first case records a placeholder.
  SqlValue same[] = {Text(change.room_id), change.connection_id, Text(at)};
  auto closed = connection.Query(
      Sql("SELECT COUNT(*) FROM {p}room_sessions WHERE room_id = ? AND connection_id = ?"
          " AND left_at = ?"),
      same);
  if (!closed) return closed.error();
  if (!closed->empty() && IntField((*closed)[0][0]) > 0) return Ok();
  SqlValue placeholder[] = {
      Text(change.room_id), change.connection_id, Text(at), user, info, Text(at)};
  return Run(connection,
             Sql("INSERT INTO {p}room_sessions (room_id, connection_id, entered_at, entered_known,"
                 " user_id, user_info, left_at) VALUES (?, ?, ?, 0, ?, ?, ?)"
                 " {upsert:room_id, connection_id, entered_at} left_at = {v:left_at}"),
             placeholder);
}

}  // namespace lbmirror::store::sql
