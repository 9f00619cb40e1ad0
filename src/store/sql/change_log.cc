#include "store/sql/change_log.h"

#include <boost/json.hpp>

#include "core/text.h"
#include "store/sql/values.h"

namespace lbmirror::store::sql {

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
      "SELECT first_dirty_at FROM {p}targets WHERE kind = ? AND scope_id = ? AND object_id = ?");
  // The webhooks a target's read may answer: its room's (or, for a user's notification, every
  // notification's) since the target became due; those that do not mark it are left out.
  room_events_ = render(
      "SELECT webhook_id, {text:payload} FROM {p}events WHERE room_id = ? AND received_at >= ?"
      " ORDER BY received_at, webhook_id LIMIT 200");
  user_events_ = render(
      "SELECT webhook_id, {text:payload} FROM {p}events WHERE type = 'notification'"
      " AND received_at >= ? ORDER BY received_at, webhook_id LIMIT 200");
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
  for (const SqlRow& row : *rows) {
    out.push_back({std::stoll(row[0].value_or("0")), std::stoll(row[1].value_or("0")),
                   row[2].value_or(""), row[3].value_or(""), row[4], row[5].value_or(""),
                   row[6].value_or("null"), row[7].value_or("null")});
  }
  return out;
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
  if (!due->empty()) {
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
    cause["reason"] = reason;
  } else {
    cause["reason"] = "webhook";
    cause["webhooks"] = std::move(webhooks);
  }
  if (claim.attempts > 1) cause["attempt"] = claim.attempts;
  return json::serialize(cause);
}

}  // namespace lbmirror::store::sql
