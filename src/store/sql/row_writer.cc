#include "store/sql/row_writer.h"

#include <algorithm>
#include <variant>

#include "core/log.h"
#include "core/text.h"
#include "store/sql/dialect.h"
#include "store/sql/values.h"

namespace lbmirror::store::sql {

RowWriter::RowWriter(Dialect dialect, const std::string& prefix, bool hard_deletes, size_t max_rows,
                     const SearchIndex& search, const DirtyMarks& marks)
    : dialect_(dialect),
      prefix_(prefix),
      hard_deletes_(hard_deletes),
      max_rows_(max_rows),
      search_(search),
      marks_(marks),
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
        " updated_at = CASE WHEN data IS excluded.data AND deep_data IS excluded.deep_data"
        " AND deleted_at IS NULL THEN updated_at ELSE excluded.updated_at END,"
        " data = excluded.data, deep_data = excluded.deep_data, synced_at = excluded.synced_at,"
        " deleted_at = NULL",
        max_rows);
  }
  upsert_ydoc_ = render(
      "INSERT INTO {p}ydocs (room_id, data, deep_data, text, state, updated_at, synced_at,"
      " deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) {upsert:room_id}"
      " updated_at = CASE WHEN state {same} {v:state} AND deleted_at IS NULL THEN updated_at"
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
      " deleted_at = COALESCE(deleted_at, {v:deleted_at}), synced_at = {v:synced_at}");
  document_gone_ =
      render("UPDATE {p}documents SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL");
  ydoc_gone_ =
      render("UPDATE {p}ydocs SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL");
}

std::string RowWriter::Sql(std::string_view text) const {
  return RenderSql(std::string(text), dialect_, prefix_);
}

Status RowWriter::UpsertDocuments(SqlConnection& connection,
                                  std::span<const DocumentRow* const> documents,
                                  const std::string& now) const {
  std::vector<SqlValue> params;
  for (size_t begin = 0; begin < documents.size(); begin += max_rows_) {
    size_t end = std::min(documents.size(), begin + max_rows_);
    params.clear();
    for (size_t i = begin; i < end; ++i) {
      const DocumentRow& document = *documents[i];
      bool deep = TooDeepForJson(document.depth);
      params.insert(params.end(), {Text(document.room_id), deep ? kJsonNull : Text(document.data),
                                   deep ? Text(document.data) : SqlValue(nullptr), Text(now)});
      if (dialect_ == Dialect::kSqlite) params.push_back(Text(now));
    }
    LBMIRROR_RETURN_IF_ERROR(Run(connection, upsert_documents_.at(end - begin), params));
  }
  return Ok();
}

Status RowWriter::Apply(SqlConnection& connection, const RowWrite& write,
                        const Context& context) const {
  // One Write per kind of row: a kind added to RowWrite without one does not compile.
  return std::visit([&](const auto& row) { return Write(connection, row, context); }, write);
}

Status RowWriter::Write(SqlConnection&, const DocumentRow& document, const Context& context) const {
  context.documents->push_back(&document);  // written with the batch's other documents
  return Ok();
}

Status RowWriter::Write(SqlConnection& connection, const YdocRow& ydoc,
                        const Context& context) const {
  bool deep = TooDeepForJson(ydoc.depth);
  SqlValue params[] = {Text(ydoc.room_id),
                       deep ? kJsonNull : Text(ydoc.data),
                       deep ? Text(ydoc.data) : SqlValue(nullptr),
                       Text(ydoc.text),
                       Blob{ydoc.state},
                       Text(context.now),
                       Text(context.now)};
  LBMIRROR_RETURN_IF_ERROR(Run(connection, upsert_ydoc_, params));
  return search_.IndexDocument(connection, ydoc.room_id, ydoc.text);
}

Status RowWriter::Write(SqlConnection& connection, const RoomRow& room,
                        const Context& context) const {
  SqlValue params[] = {
      Text(room.room_id),          Text(room.organization_id),        Text(room.metadata),
      Text(room.default_accesses), Text(room.users_accesses),         Text(room.groups_accesses),
      Optional(room.created_at),   Optional(room.last_connection_at), Text(context.now)};
  return Run(connection, upsert_room_, params);
}

Status RowWriter::Write(SqlConnection& connection, const DocumentGone& gone,
                        const Context& context) const {
  SqlValue params[] = {Text(context.now), Text(gone.room_id)};
  if (hard_deletes_) {
    return Run(connection, Sql("DELETE FROM {p}documents WHERE room_id = ?"),
               std::span(params).subspan(1));
  }
  return Run(connection, document_gone_, params);
}

Status RowWriter::Write(SqlConnection& connection, const YdocGone& gone,
                        const Context& context) const {
  SqlValue params[] = {Text(context.now), Text(gone.room_id)};
  LBMIRROR_RETURN_IF_ERROR(hard_deletes_
                               ? Run(connection, Sql("DELETE FROM {p}ydocs WHERE room_id = ?"),
                                     std::span(params).subspan(1))
                               : Run(connection, ydoc_gone_, params));
  return search_.RemoveDocument(connection, gone.room_id);
}

Status RowWriter::Write(SqlConnection& connection, const RoomGone& gone,
                        const Context& context) const {
  return DeleteRoom(connection, gone.room_id, context.now, context.now_ms);
}

Status RowWriter::Write(SqlConnection& connection, const ThreadSnapshot& thread,
                        const Context& context) const {
  return ApplyThread(connection, thread, context.now);
}

Status RowWriter::Write(SqlConnection& connection, const ThreadGone& gone,
                        const Context& context) const {
  return DeleteThread(connection, gone, context.now);
}

Status RowWriter::Write(SqlConnection& connection, const NotificationRow& n,
                        const Context& context) const {
  SqlValue params[] = {Text(n.inbox_notification_id),
                       Text(n.user_id),
                       Text(n.kind),
                       Optional(n.room_id),
                       Optional(n.thread_id),
                       Optional(n.subject_id),
                       Optional(n.notified_at),
                       Optional(n.read_at),
                       Text(n.data),
                       Text(context.now)};
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
  SqlValue params[] = {Text(context.now), Text(gone.inbox_notification_id)};
  if (hard_deletes_) {
    return Run(connection, Sql("DELETE FROM {p}notifications WHERE inbox_notification_id = ?"),
               std::span(params).subspan(1));
  }
  return Run(connection,
             Sql("UPDATE {p}notifications SET deleted_at = ? WHERE inbox_notification_id = ?"
                 " AND deleted_at IS NULL"),
             params);
}

Status RowWriter::Write(SqlConnection& connection, const ActiveUsersSnapshot& users,
                        const Context& context) const {
  return ApplyActiveUsers(connection, users, context.now, context.now_ms);
}

Status RowWriter::Write(SqlConnection& connection, const FlowSnapshot& flow,
                        const Context& context) const {
  return ApplyFlow(connection, flow, context.now, context.diagrams);
}

Status RowWriter::ApplyThread(SqlConnection& connection, const ThreadSnapshot& snapshot,
                              const std::string& now) const {
  const ThreadRow& t = snapshot.thread;
  SqlValue thread[] = {Text(t.thread_id),           Text(t.room_id),    Text(t.metadata),
                       int64_t{t.resolved ? 1 : 0}, Text(t.visibility), Optional(t.created_at),
                       Optional(t.updated_at),      Text(now)};
  LBMIRROR_RETURN_IF_ERROR(Run(
      connection,
      Sql("INSERT INTO {p}threads (thread_id, room_id, metadata, resolved, visibility, created_at,"
          " updated_at, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)"
          " {upsert:thread_id} room_id = {v:room_id}, metadata = {v:metadata},"
          " resolved = {v:resolved}, visibility = {v:visibility}, created_at = {v:created_at},"
          " updated_at = {v:updated_at}, synced_at = {v:synced_at}, deleted_at = NULL"),
      thread));
  const std::string upsert_comment =
      Sql("INSERT INTO {p}comments (comment_id, thread_id, room_id, user_id, body, body_text,"
          " metadata, attachments, created_at, edited_at, synced_at, deleted_at)"
          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) {upsert:comment_id}"
          " thread_id = {v:thread_id}, room_id = {v:room_id}, user_id = {v:user_id},"
          " body = {v:body}, body_text = {v:body_text}, metadata = {v:metadata},"
          " attachments = {v:attachments}, created_at = {v:created_at}, edited_at = {v:edited_at},"
          " synced_at = {v:synced_at}, deleted_at = {v:deleted_at}");
  std::vector<SqlValue> keep = {Text(t.thread_id)};
  std::string placeholders;
  for (const CommentRow& c : snapshot.comments) {
    SqlValue comment[] = {Text(c.comment_id),    Text(c.thread_id),   Text(c.room_id),
                          OrNull(c.user_id),     Optional(c.body),    Text(c.body_text),
                          Text(c.metadata),      Text(c.attachments), Optional(c.created_at),
                          Optional(c.edited_at), Text(now),           Optional(c.deleted_at)};
    LBMIRROR_RETURN_IF_ERROR(Run(connection, upsert_comment, comment));
    keep.push_back(Text(c.comment_id));
    placeholders += placeholders.empty() ? "?" : ", ?";
  }
  // Comments the API no longer lists are gone.
  std::string missing = placeholders.empty() ? "" : " AND comment_id NOT IN (" + placeholders + ")";
  if (hard_deletes_) {
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection, Sql("DELETE FROM {p}comments WHERE thread_id = ?" + missing), keep));
  } else {
    std::vector<SqlValue> params = {Text(now)};
    params.insert(params.end(), keep.begin(), keep.end());
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection,
            Sql("UPDATE {p}comments SET deleted_at = ? WHERE thread_id = ? AND deleted_at IS NULL" +
                missing),
            params));
  }
  SqlValue thread_key[] = {Text(t.thread_id)};
  LBMIRROR_RETURN_IF_ERROR(
      Run(connection, Sql("DELETE FROM {p}comment_reactions WHERE thread_id = ?"), thread_key));
  const std::string insert_reaction = Sql(
      "INSERT INTO {p}comment_reactions (comment_id, emoji, user_id, thread_id, room_id, "
      "created_at)"
      " VALUES (?, ?, ?, ?, ?, ?) {upsert:comment_id, emoji, user_id} created_at = {v:created_at}");
  for (const ReactionRow& r : snapshot.reactions) {
    SqlValue reaction[] = {Text(r.comment_id), Text(r.emoji),   Text(r.user_id),
                           Text(r.thread_id),  Text(r.room_id), Optional(r.created_at)};
    LBMIRROR_RETURN_IF_ERROR(Run(connection, insert_reaction, reaction));
  }
  return search_.IndexThread(connection, snapshot);
}

Status RowWriter::DeleteThread(SqlConnection& connection, const ThreadGone& gone,
                               const std::string& now) const {
  SqlValue key[] = {Text(gone.thread_id)};
  SqlValue stamped[] = {Text(now), Text(gone.thread_id)};
  if (hard_deletes_) {
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection, Sql("DELETE FROM {p}threads WHERE thread_id = ?"), key));
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection, Sql("DELETE FROM {p}comments WHERE thread_id = ?"), key));
  } else {
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection,
            Sql("UPDATE {p}threads SET deleted_at = ? WHERE thread_id = ? AND deleted_at IS NULL"),
            stamped));
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection,
            Sql("UPDATE {p}comments SET deleted_at = ? WHERE thread_id = ? AND deleted_at IS NULL"),
            stamped));
  }
  LBMIRROR_RETURN_IF_ERROR(
      Run(connection, Sql("DELETE FROM {p}comment_reactions WHERE thread_id = ?"), key));
  return search_.RemoveThread(connection, gone.thread_id);
}

Status RowWriter::ApplyActiveUsers(SqlConnection& connection, const ActiveUsersSnapshot& snapshot,
                                   const std::string& now, int64_t now_ms) const {
  SqlValue room[] = {Text(snapshot.room_id)};
  LBMIRROR_RETURN_IF_ERROR(
      Run(connection, Sql("DELETE FROM {p}active_users WHERE room_id = ?"), room));
  const std::string insert =
      Sql("INSERT INTO {p}active_users (room_id, connection_id, user_id, user_info, synced_at)"
          " VALUES (?, ?, ?, ?, ?)");
  for (const ActiveUser& user : snapshot.users) {
    SqlValue row[] = {Text(snapshot.room_id), user.connection_id, Optional(user.user_id),
                      Optional(user.user_info), Text(now)};
    LBMIRROR_RETURN_IF_ERROR(Run(connection, insert, row));
  }
  SqlValue count[] = {static_cast<int64_t>(snapshot.users.size()), Text(snapshot.room_id)};
  auto changed =
      connection.Execute(Sql("UPDATE {p}rooms SET active_users = ? WHERE room_id = ?"), count);
  if (!changed) return changed.error();
  if (*changed == 0) {
    // Presence arrived before the room was mirrored: read the room too, then it gets its count.
    SqlValue placeholder[] = {Text(snapshot.room_id), static_cast<int64_t>(snapshot.users.size()),
                              Text(now)};
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection,
            Sql("INSERT INTO {p}rooms (room_id, active_users, synced_at) VALUES (?, ?, ?)"
                " {upsert:room_id} active_users = {v:active_users}"),
            placeholder));
    return marks_.Mark(connection, {TargetKind::kRoom, snapshot.room_id, ""}, now_ms);
  }
  return Ok();
}

Status RowWriter::ApplyFlow(SqlConnection& connection, const FlowSnapshot& flow,
                            const std::string& now, const FlowKeys* diagrams) const {
  // Replaced whole: the old rows go, the snapshot's rows come in (64 to a statement). A
  // document without the diagram, whose diagram has no rows, costs no statement.
  bool empty = flow.nodes.empty() && flow.edges.empty();
  if (empty && diagrams != nullptr && !diagrams->contains({flow.room_id, flow.storage_key})) {
    return Ok();
  }
  SqlValue key[] = {Text(flow.room_id), Text(flow.storage_key)};
  LBMIRROR_RETURN_IF_ERROR(
      Run(connection, Sql("DELETE FROM {p}flow_nodes WHERE room_id = ? AND storage_key = ?"), key));
  LBMIRROR_RETURN_IF_ERROR(
      Run(connection, Sql("DELETE FROM {p}flow_edges WHERE room_id = ? AND storage_key = ?"), key));
  auto real = [](const std::optional<double>& v) { return v ? SqlValue(*v) : SqlValue(nullptr); };
  auto insert_rows = [&](const std::string& head, size_t count, auto&& row_params) -> Status {
    std::vector<SqlValue> params;
    for (size_t begin = 0; begin < count; begin += max_rows_) {
      size_t end = std::min(count, begin + max_rows_);
      params.clear();
      std::string sql = head;
      for (size_t i = begin; i < end; ++i) {
        sql += i == begin ? "(?, ?, ?, ?, ?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?, ?, ?, ?, ?)";
        row_params(i, params);
      }
      LBMIRROR_RETURN_IF_ERROR(Run(connection, Sql(sql), params));
    }
    return Ok();
  };
  LBMIRROR_RETURN_IF_ERROR(insert_rows(
      "INSERT INTO {p}flow_nodes (room_id, storage_key, node_id, type, position_x, position_y,"
      " data, node, synced_at) VALUES ",
      flow.nodes.size(), [&](size_t i, std::vector<SqlValue>& params) {
        const FlowNode& n = flow.nodes[i];
        bool deep = TooDeepForJson(n.node);
        params.insert(params.end(), {Text(flow.room_id), Text(flow.storage_key), Text(n.node_id),
                                     Optional(n.type), real(n.position_x), real(n.position_y),
                                     deep ? SqlValue(nullptr) : Optional(n.data),
                                     deep ? kJsonNull : Text(n.node), Text(now)});
      }));
  return insert_rows(
      "INSERT INTO {p}flow_edges (room_id, storage_key, edge_id, type, source, target, data, edge,"
      " synced_at) VALUES ",
      flow.edges.size(), [&](size_t i, std::vector<SqlValue>& params) {
        const FlowEdge& e = flow.edges[i];
        bool deep = TooDeepForJson(e.edge);
        params.insert(params.end(), {Text(flow.room_id), Text(flow.storage_key), Text(e.edge_id),
                                     Optional(e.type), Optional(e.source), Optional(e.target),
                                     deep ? SqlValue(nullptr) : Optional(e.data),
                                     deep ? kJsonNull : Text(e.edge), Text(now)});
      });
}

Result<RowWriter::FlowKeys> RowWriter::DiagramsWithRows(
    SqlConnection& connection, std::span<const Completion> completions) const {
  std::vector<std::string_view> rooms;
  for (const Completion& completion : completions) {
    for (const RowWrite& write : completion.writes) {
      if (auto* flow = std::get_if<FlowSnapshot>(&write)) rooms.push_back(flow->room_id);
    }
  }
  std::sort(rooms.begin(), rooms.end());
  rooms.erase(std::unique(rooms.begin(), rooms.end()), rooms.end());
  FlowKeys found;
  for (size_t begin = 0; begin < rooms.size(); begin += max_rows_) {
    size_t end = std::min(rooms.size(), begin + max_rows_);
    std::string list;
    std::vector<SqlValue> params;
    for (size_t i = begin; i < end; ++i) {
      list += i == begin ? "?" : ", ?";
      params.push_back(rooms[i]);
    }
    params.insert(params.end(), params.begin(), params.end());
    auto rows = connection.Query(
        Sql("SELECT room_id, storage_key FROM {p}flow_nodes WHERE room_id IN (" + list +
            ") UNION SELECT room_id, storage_key FROM {p}flow_edges WHERE room_id IN (" + list +
            ")"),
        params);
    if (!rows) return rows.error();
    for (const SqlRow& row : *rows) found.insert({row[0].value_or(""), row[1].value_or("")});
  }
  return found;
}

Status RowWriter::DeleteRoom(SqlConnection& connection, const std::string& room_id,
                             const std::string& now, int64_t now_ms) const {
  SqlValue key[] = {Text(room_id)};
  SqlValue stamped[] = {Text(now), Text(room_id)};
  if (hard_deletes_) {
    for (const char* table : {"rooms", "documents", "ydocs", "threads", "comments"}) {
      LBMIRROR_RETURN_IF_ERROR(
          Run(connection, Sql(std::string("DELETE FROM {p}") + table + " WHERE room_id = ?"), key));
    }
  } else {
    SqlValue room[] = {Text(room_id), Text(now), Text(now)};
    LBMIRROR_RETURN_IF_ERROR(Run(connection, room_gone_, room));
    for (const char* table : {"documents", "ydocs", "threads", "comments"}) {
      LBMIRROR_RETURN_IF_ERROR(
          Run(connection,
              Sql(std::string("UPDATE {p}") + table +
                  " SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL"),
              stamped));
    }
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
