#include "store/sql/row_writer.h"

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <variant>

#include "core/json_patch.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/text.h"
#include "store/sql/dialect.h"
#include "store/sql/row_changes.h"
#include "store/sql/values.h"

namespace lbmirror::store::sql {

RowWriter::RowWriter(Dialect dialect, const std::string& prefix, bool hard_deletes, size_t max_rows,
                     const SearchIndex& search, const DirtyMarks& marks, AfterEdit after_edit)
    : dialect_(dialect),
      prefix_(prefix),
      hard_deletes_(hard_deletes),
      max_rows_(max_rows),
      search_(search),
      marks_(marks),
      after_edit_(std::move(after_edit)),
      json_depth_limit_(dialect == Dialect::kMysql ? -1 : 0) {
  auto render = [&](const std::string& sql) { return RenderSql(sql, dialect, prefix); };
  // updated_at moves only when the content changes; synced_at on every successful read.
  // Several documents at once: the Storage documents a worker read in one batch.
  if (dialect == Dialect::kMysql) {
    upsert_documents_ = ManyRowStatements(
        dialect, prefix,
        "INSERT INTO {p}documents (room_id, data, deep_data, synced_at, deleted_at) VALUES ",
        "(?, ?, ?, ?, NULL)",
        " ON DUPLICATE KEY UPDATE updated_at = CASE WHEN data <=> VALUES(data)"
        " AND deep_data <=> VALUES(deep_data) AND deleted_at IS NULL THEN updated_at"
        " ELSE CURRENT_TIMESTAMP END,"
        " data = VALUES(data), deep_data = VALUES(deep_data), synced_at = VALUES(synced_at),"
        " deleted_at = NULL",
        max_rows);
  } else {
    upsert_documents_ = ManyRowStatements(
        dialect, prefix,
        "INSERT INTO {p}documents (room_id, data, deep_data, synced_at, deleted_at, updated_at)"
        " VALUES ",
        "(?, ?, ?, ?, NULL, ?)",
        " ON CONFLICT(room_id) DO UPDATE SET"
        " updated_at = CASE WHEN {old:data} {same} excluded.data"
        " AND {old:deep_data} {same} excluded.deep_data"
        " AND {old:deleted_at} IS NULL THEN {old:updated_at} ELSE excluded.updated_at END,"
        " data = excluded.data, deep_data = excluded.deep_data, synced_at = excluded.synced_at,"
        " deleted_at = NULL",
        max_rows);
  }
  upsert_ydoc_ = render(
      "INSERT INTO {p}ydocs (room_id, data, deep_data, text, state, updated_at, synced_at,"
      " deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) {upsert:room_id}"
      " updated_at = CASE WHEN {old:state} {same} {v:state} AND {old:deleted_at} IS NULL"
      " THEN {old:updated_at}"
      " ELSE {v:updated_at} END,"
      " data = {v:data}, deep_data = {v:deep_data}, text = {v:text}, state = {v:state},"
      " synced_at = {v:synced_at}, deleted_at = NULL");
  upsert_room_ = render(
      "INSERT INTO {p}rooms (room_id, organization_id, metadata, default_accesses,"
      " users_accesses, groups_accesses, created_at, last_connection_at, synced_at, deleted_at)"
      " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) {upsert:room_id}"
      " organization_id = {v:organization_id}, metadata = {v:metadata},"
      " default_accesses = {v:default_accesses}, users_accesses = {v:users_accesses},"
      " groups_accesses = {v:groups_accesses}, created_at = {v:created_at},"
      " last_connection_at = {v:last_connection_at}, synced_at = {v:synced_at},"
      " deleted_at = NULL");
  room_gone_ = render(
      "INSERT INTO {p}rooms (room_id, synced_at, deleted_at) VALUES (?, ?, ?) {upsert:room_id}"
      " deleted_at = COALESCE({old:deleted_at}, {v:deleted_at}), synced_at = {v:synced_at}");
  document_gone_ =
      render("UPDATE {p}documents SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL");
  ydoc_gone_ =
      render("UPDATE {p}ydocs SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL");
}

std::string RowWriter::Sql(std::string_view text) const {
  return RenderSql(std::string(text), dialect_, prefix_);
}

Status RowWriter::UpsertDocuments(SqlConnection& connection,
                                  std::span<const PendingDocument> documents,
                                  const Context& context) const {
  std::vector<SqlValue> params;
  for (size_t begin = 0; begin < documents.size(); begin += max_rows_) {
    size_t end = std::min(documents.size(), begin + max_rows_);
    if (changes_ != nullptr) {
      // What the mirror holds of these rooms, before the upsert replaces it.
      std::vector<SqlValue> rooms;
      std::string marks;
      for (size_t i = begin; i < end; ++i) {
        rooms.push_back(Text(documents[i].first->room_id));
        marks += marks.empty() ? "?" : ", ?";
      }
      auto held = connection.Query(
          Sql("SELECT room_id, COALESCE(deep_data, {text:data}) FROM {p}documents WHERE"
              " deleted_at IS NULL AND room_id IN (" +
              marks + ")"),
          rooms);
      if (!held) return held.error();
      std::map<std::string, std::string> previous;
      for (const SqlRow& row : *held) previous[row[0].value_or("")] = row[1].value_or("null");
      for (size_t i = begin; i < end; ++i) {
        const DocumentRow& document = *documents[i].first;
        Context mine = context;
        mine.claim = documents[i].second;
        auto it = previous.find(document.room_id);
        LBMIRROR_RETURN_IF_ERROR(AppendValueChange(
            connection, "document", document.room_id, document.data,
            it == previous.end() ? std::nullopt : std::optional(it->second), mine));
      }
    }
    params.clear();
    for (size_t i = begin; i < end; ++i) {
      const DocumentRow& document = *documents[i].first;
      bool deep = TooDeepForJson(document.depth);
      params.insert(params.end(),
                    {Text(document.room_id), deep ? kJsonNull : Text(document.data),
                     deep ? Text(document.data) : SqlValue(nullptr), Text(context.now)});
      if (dialect_ != Dialect::kMysql) params.push_back(Text(context.now));
    }
    LBMIRROR_RETURN_IF_ERROR(Run(connection, upsert_documents_.at(end - begin), params));
  }
  return Ok();
}

Status RowWriter::AppendValueChange(SqlConnection& connection, std::string_view kind,
                                    const std::string& room_id, const std::string& data,
                                    const std::optional<std::string>& previous,
                                    const Context& context) const {
  // Past this, a change says only that the document changed, and how big it is now.
  constexpr size_t kMaxPatchBytes = 64 * 1024;
  namespace json = boost::json;
  json::parse_options deep;
  deep.max_depth = kMaxNestingDepth;
  boost::system::error_code ec;
  const json::value now = json::parse(data, ec, {}, deep);
  if (ec) return Internal(Cat("the ", kind, " of ", room_id, " is not JSON"));
  json::object payload;
  std::string op = "insert";
  if (previous) {
    const json::value before = json::parse(*previous, ec, {}, deep);
    if (!ec && JsonEqual(before, now)) return Ok();  // read again, unchanged: no change
    op = "update";
    if (!ec) payload["patch"] = JsonDiff(before, now);
  } else {
    payload["patch"] = JsonDiff(nullptr, now);
  }
  std::string text = json::serialize(payload);
  if (text.size() > kMaxPatchBytes || !payload.contains("patch")) {
    text = json::serialize(json::object{{"changed", true}, {"bytes", data.size()}});
  }
  std::vector<Change> change(1);
  change[0].kind = std::string(kind);
  change[0].op = op;
  change[0].room_id = room_id;
  change[0].entity_key = JsonPointerToken(room_id);
  change[0].payload = std::move(text);
  return AppendChanges(connection, context, std::move(change));
}

Status RowWriter::AppendChanges(SqlConnection& connection, const Context& context,
                                std::vector<Change> changes) const {
  if (changes.empty()) return Ok();
  std::string cause = Cat(R"({"reason":")", reason_, R"("})");
  if (context.claim != nullptr && context.causes != nullptr) {
    auto it = context.causes->find(context.claim);
    if (it == context.causes->end()) {
      auto made = changes_->Cause(connection, *context.claim, reason_);
      if (!made) return made.error();
      it = context.causes->emplace(context.claim, std::move(*made)).first;
    }
    cause = it->second;
  }
  for (Change& change : changes) {
    change.committed_at_ms = context.now_ms;
    change.cause = cause;
    // Deeper than the database's JSON type takes (MariaDB before 12.2: 32 levels): the change
    // says only that the row changed, rather than failing the completion.
    if (TooDeepForJson(change.payload)) {
      change.payload = boost::json::serialize(boost::json::object{
          {"changed", true}, {"bytes", change.payload.size()}, {"too_deep", true}});
    }
    LBMIRROR_RETURN_IF_ERROR(changes_->Append(connection, change));
  }
  return Ok();
}

Status RowWriter::Tracked(SqlConnection& connection, const Context& context,
                          std::initializer_list<std::string_view> tables, std::string_view where,
                          std::span<const SqlValue> params,
                          const std::function<Status()>& write) const {
  if (changes_ == nullptr) return write();
  std::vector<std::pair<const ChangeTable*, TableImage>> before;
  for (std::string_view name : tables) {
    const ChangeTable* table = ChangeTableFor(name);
    if (table == nullptr) return Internal(Cat("the change feed does not describe ", name));
    auto image = ReadImage(connection, dialect_, prefix_, *table, where, params);
    if (!image) return image.error();
    before.emplace_back(table, std::move(*image));
  }
  LBMIRROR_RETURN_IF_ERROR(write());
  std::vector<Change> changes;
  for (const auto& [table, image] : before) {
    auto after = ReadImage(connection, dialect_, prefix_, *table, where, params);
    if (!after) return after.error();
    for (Change& change : DiffImages(*table, image, *after)) changes.push_back(std::move(change));
  }
  return AppendChanges(connection, context, std::move(changes));
}

Result<std::optional<std::string>> RowWriter::LiveValue(SqlConnection& connection,
                                                        std::string_view table,
                                                        const std::string& room_id) const {
  SqlValue key[] = {Text(room_id)};
  auto rows = connection.Query(Sql(Cat("SELECT COALESCE(deep_data, {text:data}) FROM {p}", table,
                                       " WHERE room_id = ? AND deleted_at IS NULL")),
                               key);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<std::string>();
  return std::optional<std::string>((*rows)[0][0].value_or("null"));
}

Status RowWriter::AppendDeleted(SqlConnection& connection, std::string_view kind,
                                const std::string& room_id, int64_t changed,
                                const Context& context) const {
  if (changes_ == nullptr || changed == 0) return Ok();
  std::vector<Change> change(1);
  change[0].kind = std::string(kind);
  change[0].op = "delete";
  change[0].room_id = room_id;
  change[0].entity_key = JsonPointerToken(room_id);
  change[0].payload = boost::json::serialize(
      boost::json::object{{"previous", boost::json::object{{"room_id", room_id}}}});
  return AppendChanges(connection, context, std::move(change));
}

Status RowWriter::Apply(SqlConnection& connection, const RowWrite& write,
                        const Context& context) const {
  // One Write per kind of row: a kind added to RowWrite without one does not compile.
  return std::visit([&](const auto& row) { return Write(connection, row, context); }, write);
}

Status RowWriter::Write(SqlConnection& connection, const DocumentRow& document,
                        const Context& context) const {
  context.documents->emplace_back(&document, context.claim);  // with the batch's others
  return MarkAfterEdit(connection, document.room_id, context.now_ms);
}

Status RowWriter::MarkAfterEdit(SqlConnection& connection, const std::string& room_id,
                                int64_t now_ms) const {
  if (after_edit_.delay_ms <= 0) return Ok();
  for (TargetKind kind : after_edit_.kinds) {
    LBMIRROR_RETURN_IF_ERROR(
        marks_.MarkUnlessPending(connection, {kind, room_id, ""}, now_ms, after_edit_.delay_ms));
  }
  return Ok();
}

Status RowWriter::Write(SqlConnection& connection, const YdocRow& ydoc,
                        const Context& context) const {
  if (changes_ != nullptr) {
    auto previous = LiveValue(connection, "ydocs", ydoc.room_id);
    if (!previous) return previous.error();
    LBMIRROR_RETURN_IF_ERROR(
        AppendValueChange(connection, "ydoc", ydoc.room_id, ydoc.data, *previous, context));
  }
  bool deep = TooDeepForJson(ydoc.depth);
  SqlValue params[] = {Text(ydoc.room_id),
                       deep ? kJsonNull : Text(ydoc.data),
                       deep ? Text(ydoc.data) : SqlValue(nullptr),
                       Text(ydoc.text),
                       Blob{ydoc.state},
                       Text(context.now),
                       Text(context.now)};
  LBMIRROR_RETURN_IF_ERROR(Run(connection, upsert_ydoc_, params));
  LBMIRROR_RETURN_IF_ERROR(MarkAfterEdit(connection, ydoc.room_id, context.now_ms));
  return search_.IndexDocument(connection, ydoc.room_id, ydoc.text);
}

Status RowWriter::Write(SqlConnection& connection, const RoomRow& room,
                        const Context& context) const {
  SqlValue params[] = {
      Text(room.room_id),          Text(room.organization_id),        Text(room.metadata),
      Text(room.default_accesses), Text(room.users_accesses),         Text(room.groups_accesses),
      Optional(room.created_at),   Optional(room.last_connection_at), Text(context.now)};
  // A room created again with the same id: its content is read anew (an older deletion may
  // have marked it deleted after it was mirrored).
  LBMIRROR_RETURN_IF_ERROR(
      marks_.MarkRevivedRoomContent(connection, room.room_id, context.now_ms, hard_deletes_));
  SqlValue key[] = {Text(room.room_id)};
  return Tracked(connection, context, {"rooms"}, "room_id = ?", key,
                 [&] { return Run(connection, upsert_room_, params); });
}

Status RowWriter::Write(SqlConnection& connection, const DocumentGone& gone,
                        const Context& context) const {
  SqlValue params[] = {Text(context.now), Text(gone.room_id)};
  auto changed = hard_deletes_
                     ? connection.Execute(Sql("DELETE FROM {p}documents WHERE room_id = ?"),
                                          std::span(params).subspan(1))
                     : connection.Execute(document_gone_, params);
  if (!changed) return changed.error();
  return AppendDeleted(connection, "document", gone.room_id, *changed, context);
}

Status RowWriter::Write(SqlConnection& connection, const YdocGone& gone,
                        const Context& context) const {
  SqlValue params[] = {Text(context.now), Text(gone.room_id)};
  auto changed = hard_deletes_ ? connection.Execute(Sql("DELETE FROM {p}ydocs WHERE room_id = ?"),
                                                    std::span(params).subspan(1))
                               : connection.Execute(ydoc_gone_, params);
  if (!changed) return changed.error();
  LBMIRROR_RETURN_IF_ERROR(AppendDeleted(connection, "ydoc", gone.room_id, *changed, context));
  return search_.RemoveDocument(connection, gone.room_id);
}

Status RowWriter::Write(SqlConnection& connection, const RoomGone& gone,
                        const Context& context) const {
  SqlValue key[] = {Text(gone.room_id)};
  return Tracked(connection, context,
                 {"rooms", "documents", "ydocs", "threads", "comments", "comment_attachments",
                  "thread_subscriptions", "room_versions", "room_version_ydocs", "feeds",
                  "feed_messages", "comment_reactions", "active_users", "flow_nodes", "flow_edges"},
                 "room_id = ?", key,
                 [&] { return DeleteRoom(connection, gone.room_id, context.now, context.now_ms); });
}

Status RowWriter::Write(SqlConnection& connection, const ThreadSnapshot& thread,
                        const Context& context) const {
  SqlValue key[] = {Text(thread.thread.thread_id)};
  return Tracked(
      connection, context, {"threads", "comments", "comment_reactions", "comment_attachments"},
      "thread_id = ?", key, [&] { return ApplyThread(connection, thread, context.now); });
}

Status RowWriter::Write(SqlConnection& connection, const ThreadGone& gone,
                        const Context& context) const {
  SqlValue key[] = {Text(gone.thread_id)};
  return Tracked(
      connection, context,
      {"threads", "comments", "comment_reactions", "comment_attachments", "thread_subscriptions"},
      "thread_id = ?", key, [&] { return DeleteThread(connection, gone, context.now); });
}

Status RowWriter::Write(SqlConnection& connection, const NotificationRow& n,
                        const Context& context) const {
  SqlValue key[] = {Text(n.inbox_notification_id)};
  return Tracked(connection, context, {"notifications"}, "inbox_notification_id = ?", key,
                 [&] { return UpsertNotification(connection, n, context.now); });
}

Status RowWriter::UpsertNotification(SqlConnection& connection, const NotificationRow& n,
                                     const std::string& now) const {
  SqlValue params[] = {Text(n.inbox_notification_id),
                       Text(n.user_id),
                       Text(n.kind),
                       Optional(n.room_id),
                       Optional(n.thread_id),
                       Optional(n.subject_id),
                       Optional(n.notified_at),
                       Optional(n.read_at),
                       Text(n.data),
                       Text(now)};
  return Run(connection,
             Sql("INSERT INTO {p}notifications (inbox_notification_id, user_id, kind, room_id,"
                 " thread_id, subject_id, notified_at, read_at, data, synced_at, deleted_at)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) {upsert:inbox_notification_id}"
                 " user_id = {v:user_id}, kind = {v:kind}, room_id = {v:room_id},"
                 " thread_id = {v:thread_id}, subject_id = {v:subject_id},"
                 " notified_at = {v:notified_at}, read_at = {v:read_at}, data = {v:data},"
                 " synced_at = {v:synced_at}, deleted_at = NULL"),
             params);
}

Status RowWriter::Write(SqlConnection& connection, const NotificationGone& gone,
                        const Context& context) const {
  SqlValue key[] = {Text(gone.inbox_notification_id)};
  return Tracked(connection, context, {"notifications"}, "inbox_notification_id = ?", key, [&] {
    return Retire(connection, "notifications", "inbox_notification_id = ?", key, context.now);
  });
}

Status RowWriter::Write(SqlConnection& connection, const InboxSnapshot& inbox,
                        const Context& context) const {
  SqlValue user[] = {Text(inbox.user_id)};
  return Tracked(connection, context, {"notifications"}, "user_id = ?", user, [&]() -> Status {
    for (const NotificationRow& row : inbox.notifications) {
      LBMIRROR_RETURN_IF_ERROR(UpsertNotification(connection, row, context.now));
    }
    // What the listing lacks is gone; what was written after it began came from a newer read.
    SqlValue listed[] = {Text(inbox.user_id), Text(inbox.listed_at)};
    return Retire(connection, "notifications", "user_id = ? AND synced_at < ?", listed,
                  context.now);
  });
}

Status RowWriter::Write(SqlConnection& connection, const ActiveUsersSnapshot& users,
                        const Context& context) const {
  SqlValue key[] = {Text(users.room_id)};
  // (The room's row too: presence read before the room makes it, with only its count.)
  return Tracked(connection, context, {"active_users", "rooms"}, "room_id = ?", key,
                 [&] { return ApplyActiveUsers(connection, users, context.now, context.now_ms); });
}

Status RowWriter::Write(SqlConnection& connection, const FlowSnapshot& flow,
                        const Context& context) const {
  // A document without the diagram, whose diagram has no rows, costs no statement.
  bool empty = flow.nodes.empty() && flow.edges.empty();
  if (empty && context.diagrams != nullptr &&
      !context.diagrams->contains({flow.room_id, flow.storage_key})) {
    return Ok();
  }
  SqlValue key[] = {Text(flow.room_id), Text(flow.storage_key)};
  return Tracked(connection, context, {"flow_nodes", "flow_edges"},
                 "room_id = ? AND storage_key = ?", key,
                 [&] { return ApplyFlow(connection, flow, context.now); });
}

Status RowWriter::DeleteRoom(SqlConnection& connection, const std::string& room_id,
                             const std::string& now, int64_t now_ms) const {
  SqlValue key[] = {Text(room_id)};
  if (hard_deletes_) {
    LBMIRROR_RETURN_IF_ERROR(Run(connection, Sql("DELETE FROM {p}rooms WHERE room_id = ?"), key));
  } else {
    SqlValue room[] = {Text(room_id), Text(now), Text(now)};
    LBMIRROR_RETURN_IF_ERROR(Run(connection, room_gone_, room));
  }
  for (const char* table :
       {"documents", "ydocs", "threads", "comments", "comment_attachments", "thread_subscriptions",
        "room_versions", "room_version_ydocs", "feeds", "feed_messages"}) {
    LBMIRROR_RETURN_IF_ERROR(Retire(connection, table, "room_id = ?", key, now));
  }
  // Derived rows hold no history of their own: they go in both modes.
  for (const char* table : {"comment_reactions", "active_users", "flow_nodes", "flow_edges"}) {
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection, Sql(std::string("DELETE FROM {p}") + table + " WHERE room_id = ?"), key));
  }
  LBMIRROR_RETURN_IF_ERROR(search_.RemoveRoom(connection, room_id));
  SqlValue zero[] = {Text(room_id)};
  LBMIRROR_RETURN_IF_ERROR(
      Run(connection, Sql("UPDATE {p}rooms SET active_users = 0 WHERE room_id = ?"), zero));
  // The deletion wins over every read of the room's content that started before it: each
  // such target in flight loses its claim (fencing token bumped, so its completion writes
  // nothing) and is due again at once, when it reads 404.
  return marks_.FenceRoomReads(connection, room_id, now_ms);
}

bool RowWriter::TooDeepForJson(int depth) const {
  int limit = json_depth_limit_.load(std::memory_order_relaxed);
  return limit > 0 && depth > limit;
}

bool RowWriter::TooDeepForJson(const std::string& json) const {
  return json_depth_limit_.load(std::memory_order_relaxed) > 0 && TooDeepForJson(JsonDepth(json));
}

Status RowWriter::ProbeJsonDepthLimit(SqlConnection& connection) {
  if (!NeedsJsonDepthProbe()) return Ok();
  // The deepest array the server's JSON parser takes (MariaDB before 12.2: 32, MySQL: 100),
  // found by bisection with JSON_VALID, which is what MariaDB's JSON columns check; an error
  // (MySQL refuses a too-deep document) counts as not valid.
  constexpr int kProbeCeiling = 4096;
  auto valid = [&](int depth) -> Result<bool> {
    std::string json = std::string(static_cast<size_t>(depth), '[') + "1" +
                       std::string(static_cast<size_t>(depth), ']');
    SqlValue param[] = {std::string_view(json)};
    auto rows = connection.Query("SELECT JSON_VALID(?)", param);
    if (!rows) {
      if (rows.error().retryable() || connection.broken()) return rows.error();
      return false;
    }
    return !rows->empty() && (*rows)[0][0] == "1";
  };
  auto deepest = valid(kProbeCeiling);
  if (!deepest) return deepest.error().WithContext("probing the JSON depth limit");
  int limit = 0;  // none below the ceiling
  if (!*deepest) {
    int low = 0, high = kProbeCeiling;  // valid(low) holds (or low = 0), valid(high) does not
    while (high - low > 1) {
      int middle = (low + high) / 2;
      auto ok = valid(middle);
      if (!ok) return ok.error().WithContext("probing the JSON depth limit");
      (*ok ? low : high) = middle;
    }
    limit = std::max(low, 1);
  }
  json_depth_limit_.store(limit);
  if (limit > 0) {
    log::Info(Cat("the database's JSON columns hold documents up to ", limit,
                  " levels deep; deeper ones are kept as text in deep_data"));
  }
  return Ok();
}

}  // namespace lbmirror::store::sql
