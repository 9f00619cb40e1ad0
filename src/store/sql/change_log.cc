#include "store/sql/change_log.h"

#include <boost/json.hpp>

#include "core/text.h"
#include "store/sql/values.h"

namespace lbmirror::store::sql {

namespace {
// A change as read_ and room_changes_ select it (a position is NULL until sequenced).
ChangeRow ToChange(const SqlRow& row) {
  return {row[0] ? std::optional<int64_t>(IntField(row[0])) : std::nullopt,
          IntField(row[1]),
          row[2].value_or(""),
          row[3].value_or(""),
          row[4],
          row[5].value_or(""),
          row[6].value_or("null"),
          row[7].value_or("null")};
}
}  // namespace

ChangeLog::ChangeLog(Dialect dialect, const std::string& prefix, EventTargets event_targets)
    : event_targets_(std::move(event_targets)) {
  auto render = [&](const std::string& sql) { return RenderSql(sql, dialect, prefix); };
  append_ = render(
      "INSERT INTO {p}changes (committed_at, kind, op, room_id, entity_key, cause, payload)"
      " VALUES (?, ?, ?, ?, ?, ?, ?)");
  // The lock every sequencer takes first (the row is made on first use): on MySQL an upsert
  // locks the row, and the plain reads after it see every change committed before.
  lock_ = render(
      "INSERT INTO {p}change_sequence (id, last_position) VALUES (1, 0) {upsert:id}"
      " last_position = {old:last_position}");
  last_ = render("SELECT last_position FROM {p}change_sequence WHERE id = 1");
  unsequenced_ =
      render("SELECT change_id FROM {p}changes WHERE position IS NULL ORDER BY change_id LIMIT ?");
  place_ = render("UPDATE {p}changes SET position = ? WHERE change_id = ?");
  advance_ = render("UPDATE {p}change_sequence SET last_position = ? WHERE id = 1");
  pruned_ = render("SELECT pruned_through FROM {p}change_sequence WHERE id = 1");
  // The newest position among the oldest `limit` old enough (a derived table: MySQL takes no
  // LIMIT in an IN subquery).
  cutoff_ = render(
      "SELECT MAX(position) FROM (SELECT position FROM {p}changes WHERE position IS NOT NULL"
      " AND committed_at < ? ORDER BY position LIMIT ?) oldest");
  prune_ = render("DELETE FROM {p}changes WHERE position IS NOT NULL AND position <= ?");
  mark_pruned_ = render("UPDATE {p}change_sequence SET pruned_through = ? WHERE id = 1");
  first_dirty_ = render(
      "SELECT first_dirty_at, marked_by FROM {p}targets WHERE kind = ? AND scope_id = ?"
      " AND object_id = ?");
  // The webhooks a target's read may answer: its room's (or, for a user's notification, every
  // notification's) since the target became due; those that do not mark it are left out.
  room_events_ = render(
      "SELECT webhook_id, {text:payload} FROM {p}events WHERE room_id = ? AND received_at >= ?"
      " ORDER BY received_at, webhook_id LIMIT 200");
  user_events_ = render(
      "SELECT webhook_id, {text:payload} FROM {p}events WHERE type = 'notification'"
      " AND received_at >= ? ORDER BY received_at, webhook_id LIMIT 200");
  cursor_create_ = render(
      "INSERT INTO {p}change_cursors (endpoint, position) VALUES (?, ?) {upsert:endpoint}"
      " position = {old:position}");
  cursor_lease_ = render(
      "UPDATE {p}change_cursors SET lease_owner = ?, lease_until = ? WHERE endpoint = ?"
      " AND (lease_owner = ? OR lease_until <= ?) AND next_attempt_at <= ?");
  cursor_read_ = render(
      "SELECT position, lease_owner, lease_until, next_attempt_at FROM {p}change_cursors"
      " WHERE endpoint = ?");
  // A lost lease saves nothing; the position never goes back; a success keeps the last error
  // (for the operator) but clears the failures.
  cursor_save_ = render(
      "UPDATE {p}change_cursors SET position = {greatest}(position, ?), delivered = delivered + ?,"
      " failures = CASE WHEN ? = 1 THEN failures + 1 ELSE 0 END,"
      " last_error = COALESCE(?, last_error), next_attempt_at = ?, updated_at = ?"
      " WHERE endpoint = ? AND lease_owner = ? AND lease_until >= ?");
  cursor_all_ = render(
      "SELECT endpoint, position, lease_owner, lease_until, failures, next_attempt_at, last_error,"
      " delivered, updated_at FROM {p}change_cursors ORDER BY endpoint");
  cursor_release_ = render(
      "UPDATE {p}change_cursors SET lease_owner = '', lease_until = 0 WHERE endpoint = ?"
      " AND lease_owner = ?");
  cursor_retry_ = render("UPDATE {p}change_cursors SET next_attempt_at = 0 WHERE endpoint = ?");
  room_changes_ = render(
      "SELECT position, committed_at, kind, op, room_id, entity_key, {text:cause},"
      " {text:payload} FROM {p}changes WHERE room_id = ? ORDER BY change_id DESC LIMIT ?");
  read_ = render(
      "SELECT position, committed_at, kind, op, room_id, entity_key, {text:cause},"
      " {text:payload} FROM {p}changes WHERE position > ? ORDER BY position LIMIT ?");
}

Status ChangeLog::Append(SqlConnection& connection, const ChangeRow& change) const {
  SqlValue params[] = {change.committed_at_ms,      std::string_view(change.kind),
                       std::string_view(change.op), Optional(change.room_id),
                       Text(change.entity_key),     Text(change.cause),
                       Text(change.payload)};
  return Run(connection, append_, params);
}

Result<int64_t> ChangeLog::Sequence(SqlConnection& connection, int limit) const {
  LBMIRROR_RETURN_IF_ERROR(Run(connection, lock_, {}));
  auto last = connection.Query(last_, {});
  if (!last) return last.error();
  if (last->empty() || !(*last)[0][0]) return Internal("change_sequence has no row");
  int64_t position = std::stoll(*(*last)[0][0]);
  SqlValue bound[] = {int64_t{limit}};
  auto ids = connection.Query(unsequenced_, bound);
  if (!ids) return ids.error();
  for (const SqlRow& row : *ids) {
    SqlValue place[] = {++position, std::stoll(row[0].value_or("0"))};
    LBMIRROR_RETURN_IF_ERROR(Run(connection, place_, place));
  }
  if (!ids->empty()) {
    SqlValue advance[] = {position};
    LBMIRROR_RETURN_IF_ERROR(Run(connection, advance_, advance));
  }
  return static_cast<int64_t>(ids->size());
}

Result<int64_t> ChangeLog::Prune(SqlConnection& connection, int64_t before_ms, int limit) const {
  LBMIRROR_RETURN_IF_ERROR(Run(connection, lock_, {}));
  SqlValue params[] = {before_ms, int64_t{limit}};
  auto cutoff = connection.Query(cutoff_, params);
  if (!cutoff) return cutoff.error();
  if (cutoff->empty() || !(*cutoff)[0][0]) return int64_t{0};
  const int64_t through = std::stoll(*(*cutoff)[0][0]);
  SqlValue bound[] = {through};
  auto deleted = connection.Execute(prune_, bound);
  if (!deleted) return deleted.error();
  LBMIRROR_RETURN_IF_ERROR(Run(connection, mark_pruned_, bound));
  return *deleted;
}

Result<std::vector<ChangeRow>> ChangeLog::Read(SqlConnection& connection, int64_t after, int limit,
                                               const ChangeFilter& filter) const {
  auto pruned = connection.Query(pruned_, {});
  if (!pruned) return pruned.error();
  const int64_t through = pruned->empty() ? 0 : std::stoll((*pruned)[0][0].value_or("0"));
  if (after < through) {
    return InvalidArgument(Cat("position ", after,
                               " is older than the changes kept (they start after ", through,
                               "): read the tables again, then the changes after ", through));
  }
  std::vector<SqlValue> params = {after};
  std::string sql = read_;
  if (!filter.kinds.empty() || !filter.room_prefix.empty()) {
    // Filtered on the server: a prefix compared as characters, exactly (LIKE would need
    // escaping, and ignores case on SQLite).
    std::string where = "WHERE position > ?";
    if (!filter.kinds.empty()) {
      where += " AND kind IN (";
      for (size_t i = 0; i < filter.kinds.size(); ++i) {
        where += i == 0 ? "?" : ", ?";
        params.emplace_back(std::string_view(filter.kinds[i]));
      }
      where += ")";
    }
    if (!filter.room_prefix.empty()) {
      int64_t characters = 0;
      for (unsigned char c : filter.room_prefix) characters += (c & 0xC0) != 0x80;
      where += " AND SUBSTR(room_id, 1, ?) = ?";
      params.emplace_back(characters);
      params.emplace_back(std::string_view(filter.room_prefix));
    }
    sql = ReplaceAll(sql, "WHERE position > ?", where);
  }
  params.emplace_back(int64_t{limit});
  auto rows = connection.Query(sql, params);
  if (!rows) return rows.error();
  std::vector<ChangeRow> out;
  for (const SqlRow& row : *rows) out.push_back(ToChange(row));
  return out;
}

Result<std::vector<ChangeRow>> ChangeLog::RoomChanges(SqlConnection& connection,
                                                      std::string_view room_id, int limit) const {
  SqlValue params[] = {room_id, int64_t{limit}};
  auto rows = connection.Query(room_changes_, params);
  if (!rows) return rows.error();
  std::vector<ChangeRow> out;
  for (const SqlRow& row : *rows) out.push_back(ToChange(row));
  return out;
}

Result<std::optional<int64_t>> ChangeLog::LeaseCursor(SqlConnection& connection,
                                                      std::string_view endpoint,
                                                      std::string_view owner, int64_t now_ms,
                                                      int64_t lease_ms) const {
  auto head = connection.Query(last_, {});
  if (!head) return head.error();
  SqlValue create[] = {endpoint, head->empty() ? int64_t{0} : IntField((*head)[0][0])};
  LBMIRROR_RETURN_IF_ERROR(Run(connection, cursor_create_, create));
  const int64_t until = now_ms + lease_ms;
  SqlValue lease[] = {owner, until, endpoint, owner, now_ms, now_ms};
  LBMIRROR_RETURN_IF_ERROR(Run(connection, cursor_lease_, lease));
  // Read back rather than trusting the count (MySQL counts only rows that changed).
  SqlValue key[] = {endpoint};
  auto row = connection.Query(cursor_read_, key);
  if (!row) return row.error();
  if (row->empty() || (*row)[0][1].value_or("") != owner || IntField((*row)[0][2]) != until ||
      IntField((*row)[0][3]) > now_ms) {
    return std::optional<int64_t>();
  }
  return std::optional<int64_t>(IntField((*row)[0][0]));
}

Result<bool> ChangeLog::SaveCursor(SqlConnection& connection, std::string_view endpoint,
                                   std::string_view owner, const CursorUpdate& update,
                                   int64_t now_ms) const {
  SqlValue params[] = {update.position,
                       update.delivered,
                       int64_t{update.error ? 1 : 0},
                       Optional(update.error),
                       update.next_attempt_at_ms,
                       now_ms,
                       endpoint,
                       owner,
                       now_ms};
  auto saved = connection.Execute(cursor_save_, params);
  if (!saved) return saved.error();
  return *saved > 0;
}

Result<ForwardingStatus> ChangeLog::Forwarding(SqlConnection& connection) const {
  ForwardingStatus status;
  auto head = connection.Query(last_, {});
  if (!head) return head.error();
  status.head = head->empty() ? 0 : IntField((*head)[0][0]);
  auto rows = connection.Query(cursor_all_, {});
  if (!rows) return rows.error();
  for (const SqlRow& row : *rows) {
    status.cursors.push_back({row[0].value_or(""), IntField(row[1]), row[2].value_or(""),
                              IntField(row[3]), static_cast<int>(IntField(row[4])),
                              IntField(row[5]), row[6], IntField(row[7]), IntField(row[8])});
  }
  return status;
}

Status ChangeLog::ReleaseCursor(SqlConnection& connection, std::string_view endpoint,
                                std::string_view owner) const {
  SqlValue key[] = {endpoint, owner};
  return Run(connection, cursor_release_, key);
}

Result<bool> ChangeLog::RetryCursor(SqlConnection& connection, std::string_view endpoint) const {
  SqlValue key[] = {endpoint};
  auto row = connection.Query(cursor_read_, key);
  if (!row) return row.error();
  if (row->empty()) return false;
  LBMIRROR_RETURN_IF_ERROR(Run(connection, cursor_retry_, key));
  return true;
}

Result<std::string> ChangeLog::Cause(SqlConnection& connection, const Claim& claim,
                                     std::string_view reason) const {
  constexpr size_t kMaxWebhooks = 20;
  namespace json = boost::json;
  const TargetKey& key = claim.key;
  SqlValue target[] = {TargetKindName(key.kind), std::string_view(key.scope_id),
                       std::string_view(key.object_id)};
  auto due = connection.Query(first_dirty_, target);
  if (!due) return due.error();
  json::array webhooks;
  std::string marked_by;
  if (!due->empty()) {
    marked_by = (*due)[0][1].value_or("");
    const std::string since = FormatSqlTimestamp(IntField((*due)[0][0]));
    const bool by_user = key.kind == TargetKind::kNotification;
    SqlValue room[] = {std::string_view(key.scope_id), Text(since)};
    SqlValue user[] = {Text(since)};
    auto events =
        by_user ? connection.Query(user_events_, user) : connection.Query(room_events_, room);
    if (!events) return events.error();
    for (const SqlRow& row : *events) {
      if (event_targets_) {
        const std::vector<TargetKey> marked = event_targets_(row[1].value_or(""));
        if (std::find(marked.begin(), marked.end(), key) == marked.end()) continue;
      }
      webhooks.emplace_back(row[0].value_or(""));
      if (webhooks.size() == kMaxWebhooks) break;
    }
  }
  json::object cause;
  if (webhooks.empty()) {
    cause["reason"] = marked_by.empty() ? reason : std::string_view(marked_by);
  } else {
    cause["reason"] = "webhook";
    cause["webhooks"] = std::move(webhooks);
  }
  if (claim.attempts > 1) cause["attempt"] = claim.attempts;
  return json::serialize(cause);
}

}  // namespace lbmirror::store::sql
