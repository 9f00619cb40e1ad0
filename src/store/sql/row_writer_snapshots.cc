// RowWriter, continued: the writes that replace a whole set of rows with a snapshot (a
// thread's comments and reactions, a room's active users, a diagram's nodes and edges).
#include <algorithm>

#include "core/text.h"
#include "store/sql/row_writer.h"
#include "store/sql/values.h"

namespace lbmirror::store::sql {

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
  LBMIRROR_RETURN_IF_ERROR(ApplyAttachments(connection, snapshot, now));
  return search_.IndexThread(connection, snapshot);
}

Status RowWriter::ApplyAttachments(SqlConnection& connection, const ThreadSnapshot& snapshot,
                                   const std::string& now) const {
  const std::string upsert =
      Sql("INSERT INTO {p}comment_attachments (attachment_id, comment_id, thread_id, room_id,"
          " name, size, mime_type, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)"
          " {upsert:attachment_id} comment_id = {v:comment_id}, thread_id = {v:thread_id},"
          " room_id = {v:room_id}, name = {v:name}, size = {v:size},"
          " mime_type = {v:mime_type}, synced_at = {v:synced_at}, deleted_at = NULL");
  for (const AttachmentRow& a : snapshot.attachments) {
    SqlValue row[] = {Text(a.attachment_id), Text(a.comment_id),
                      Text(a.thread_id),     Text(a.room_id),
                      Text(a.name),          a.size ? SqlValue(*a.size) : SqlValue(nullptr),
                      Optional(a.mime_type), Text(now)};
    LBMIRROR_RETURN_IF_ERROR(Run(connection, upsert, row));
  }
  // Attachments the thread no longer lists (their comment was edited or deleted) are gone:
  // every one it lists was just written at `now`.
  SqlValue listed[] = {Text(snapshot.thread.thread_id), Text(now)};
  return Retire(connection, "comment_attachments", "thread_id = ? AND synced_at < ?", listed, now);
}

Status RowWriter::DeleteThread(SqlConnection& connection, const ThreadGone& gone,
                               const std::string& now) const {
  SqlValue key[] = {Text(gone.thread_id)};
  for (const char* table : {"threads", "comments", "comment_attachments", "thread_subscriptions"}) {
    LBMIRROR_RETURN_IF_ERROR(Retire(connection, table, "thread_id = ?", key, now));
  }
  LBMIRROR_RETURN_IF_ERROR(
      Run(connection, Sql("DELETE FROM {p}comment_reactions WHERE thread_id = ?"), key));
  return search_.RemoveThread(connection, gone.thread_id);
}

Status RowWriter::Write(SqlConnection& connection, const GroupsSnapshot& snapshot,
                        const Context& context) const {
  return Tracked(connection, context, {"groups", "group_members"}, "1 = 1", {}, [&]() -> Status {
    const std::string upsert = Sql(
        "INSERT INTO {p}groups (group_id, organization_id, scopes, created_at, updated_at, data,"
        " synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) {upsert:group_id}"
        " organization_id = {v:organization_id}, scopes = {v:scopes},"
        " created_at = {v:created_at}, updated_at = {v:updated_at}, data = {v:data},"
        " synced_at = {v:synced_at}, deleted_at = NULL");
    const std::string clear_members = Sql("DELETE FROM {p}group_members WHERE group_id = ?");
    const std::string insert_member =
        Sql("INSERT INTO {p}group_members (group_id, user_id, added_at, synced_at)"
            " VALUES (?, ?, ?, ?) {upsert:group_id, user_id} added_at = {v:added_at},"
            " synced_at = {v:synced_at}");
    for (const GroupRow& g : snapshot.groups) {
      SqlValue row[] = {Text(g.group_id),       Text(g.organization_id), Text(g.scopes),
                        Optional(g.created_at), Optional(g.updated_at),  Text(g.data),
                        Text(context.now)};
      LBMIRROR_RETURN_IF_ERROR(Run(connection, upsert, row));
      // A group's members are exactly its list (derived rows: no history of their own).
      SqlValue group[] = {Text(g.group_id)};
      LBMIRROR_RETURN_IF_ERROR(Run(connection, clear_members, group));
      for (const GroupMember& m : g.members) {
        SqlValue member[] = {Text(g.group_id), Text(m.user_id), Optional(m.added_at),
                             Text(context.now)};
        LBMIRROR_RETURN_IF_ERROR(Run(connection, insert_member, member));
      }
    }
    // Groups the listing lacks are gone, and their members with them.
    SqlValue older[] = {Text(snapshot.listed_at)};
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection,
            Sql("DELETE FROM {p}group_members WHERE group_id IN (SELECT group_id"
                " FROM {p}groups WHERE synced_at < ?)"),
            older));
    return Retire(connection, "groups", "synced_at < ?", older, context.now);
  });
}

Status RowWriter::Write(SqlConnection& connection, const VersionsSnapshot& snapshot,
                        const Context& context) const {
  SqlValue scope[] = {Text(snapshot.room_id)};
  return Tracked(
      connection, context, {"room_versions", "room_version_ydocs"}, "room_id = ?", scope,
      [&]() -> Status {
        const std::string upsert = Sql(
            "INSERT INTO {p}room_versions (room_id, version_id, created_at, authors, data,"
            " synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, NULL) {upsert:room_id, version_id}"
            " created_at = {v:created_at}, authors = {v:authors}, data = {v:data},"
            " synced_at = {v:synced_at}, deleted_at = NULL");
        for (const VersionRow& v : snapshot.versions) {
          SqlValue row[] = {Text(snapshot.room_id), Text(v.version_id), Optional(v.created_at),
                            Text(v.authors),        Text(v.data),       Text(context.now)};
          LBMIRROR_RETURN_IF_ERROR(Run(connection, upsert, row));
        }
        // Versions deleted (anywhere in the history) are the ones a complete listing lacks.
        SqlValue listed[] = {Text(snapshot.room_id), Text(snapshot.listed_at)};
        for (const char* table : {"room_versions", "room_version_ydocs"}) {
          LBMIRROR_RETURN_IF_ERROR(
              Retire(connection, table, "room_id = ? AND synced_at < ?", listed, context.now));
        }
        // A version never changes: its Yjs document is read once, when first listed.
        SqlValue room[] = {Text(snapshot.room_id)};
        auto unread = connection.Query(
            Sql("SELECT v.version_id FROM {p}room_versions v LEFT JOIN {p}room_version_ydocs y"
                " ON y.room_id = v.room_id AND y.version_id = v.version_id"
                " WHERE v.room_id = ? AND v.deleted_at IS NULL AND y.version_id IS NULL"),
            room);
        if (!unread) return unread.error();
        for (const SqlRow& row : *unread) {
          LBMIRROR_RETURN_IF_ERROR(marks_.Mark(
              connection, {TargetKind::kVersionYdoc, snapshot.room_id, row[0].value_or("")},
              context.now_ms));
        }
        return Ok();
      });
}

Status RowWriter::Write(SqlConnection& connection, const VersionYdocRow& ydoc,
                        const Context& context) const {
  SqlValue scope[] = {Text(ydoc.room_id), Text(ydoc.version_id)};
  return Tracked(
      connection, context, {"room_version_ydocs"}, "room_id = ? AND version_id = ?", scope,
      [&]() -> Status {
        bool deep = TooDeepForJson(ydoc.depth);
        SqlValue params[] = {Text(ydoc.room_id),
                             Text(ydoc.version_id),
                             deep ? kJsonNull : Text(ydoc.data),
                             deep ? Text(ydoc.data) : SqlValue(nullptr),
                             Text(ydoc.text),
                             Blob{ydoc.state},
                             Text(context.now)};
        return Run(
            connection,
            Sql("INSERT INTO {p}room_version_ydocs (room_id, version_id, data, deep_data, text,"
                " state, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)"
                " {upsert:room_id, version_id} data = {v:data}, deep_data = {v:deep_data},"
                " text = {v:text}, state = {v:state}, synced_at = {v:synced_at},"
                " deleted_at = NULL"),
            params);
      });
}

Status RowWriter::Write(SqlConnection& connection, const VersionYdocGone& gone,
                        const Context& context) const {
  SqlValue scope[] = {Text(gone.room_id), Text(gone.version_id)};
  return Tracked(connection, context, {"room_version_ydocs"}, "room_id = ? AND version_id = ?",
                 scope, [&]() -> Status {
                   SqlValue key[] = {Text(gone.room_id), Text(gone.version_id)};
                   return Retire(connection, "room_version_ydocs", "room_id = ? AND version_id = ?",
                                 key, context.now);
                 });
}

Status RowWriter::Write(SqlConnection& connection, const NotificationSettingsRow& row,
                        const Context& context) const {
  SqlValue scope[] = {Text(row.user_id)};
  return Tracked(
      connection, context, {"notification_settings"}, "user_id = ?", scope, [&]() -> Status {
        SqlValue params[] = {Text(row.user_id), Text(row.settings), Text(context.now)};
        return Run(
            connection,
            Sql("INSERT INTO {p}notification_settings (user_id, settings, synced_at, deleted_at)"
                " VALUES (?, ?, ?, NULL) {upsert:user_id} settings = {v:settings},"
                " synced_at = {v:synced_at}, deleted_at = NULL"),
            params);
      });
}

Status RowWriter::Write(SqlConnection& connection, const NotificationSettingsGone& gone,
                        const Context& context) const {
  SqlValue scope[] = {Text(gone.user_id)};
  return Tracked(
      connection, context, {"notification_settings"}, "user_id = ?", scope, [&]() -> Status {
        SqlValue key[] = {Text(gone.user_id)};
        return Retire(connection, "notification_settings", "user_id = ?", key, context.now);
      });
}

Status RowWriter::Write(SqlConnection& connection, const RoomSubscriptionSettingsSnapshot& snapshot,
                        const Context& context) const {
  SqlValue scope[] = {Text(snapshot.user_id)};
  return Tracked(
      connection, context, {"room_subscription_settings"}, "user_id = ?", scope, [&]() -> Status {
        const std::string upsert = Sql(
            "INSERT INTO {p}room_subscription_settings (room_id, user_id, threads, text_mentions,"
            " synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, NULL) {upsert:room_id, user_id}"
            " threads = {v:threads}, text_mentions = {v:text_mentions},"
            " synced_at = {v:synced_at}, deleted_at = NULL");
        for (const RoomSubscriptionSetting& s : snapshot.settings) {
          SqlValue row[] = {Text(s.room_id), Text(snapshot.user_id), Text(s.threads),
                            Text(s.text_mentions), Text(context.now)};
          LBMIRROR_RETURN_IF_ERROR(Run(connection, upsert, row));
        }
        SqlValue listed[] = {Text(snapshot.user_id), Text(snapshot.listed_at)};
        return Retire(connection, "room_subscription_settings", "user_id = ? AND synced_at < ?",
                      listed, context.now);
      });
}

Status RowWriter::Retire(SqlConnection& connection, std::string_view table, std::string_view where,
                         std::span<const SqlValue> params, const std::string& now) const {
  if (hard_deletes_)
    return Run(connection, Sql(Cat("DELETE FROM {p}", table, " WHERE ", where)), params);
  std::vector<SqlValue> stamped = {Text(now)};
  stamped.insert(stamped.end(), params.begin(), params.end());
  return Run(
      connection,
      Sql(Cat("UPDATE {p}", table, " SET deleted_at = ? WHERE ", where, " AND deleted_at IS NULL")),
      stamped);
}

Status RowWriter::Write(SqlConnection& connection, const ThreadSubscriptionsSnapshot& snapshot,
                        const Context& context) const {
  SqlValue scope[] = {Text(snapshot.thread_id)};
  return Tracked(
      connection, context, {"thread_subscriptions"}, "thread_id = ?", scope, [&]() -> Status {
        const std::string upsert = Sql(
            "INSERT INTO {p}thread_subscriptions (thread_id, user_id, room_id, kind, created_at,"
            " synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, NULL) {upsert:thread_id, user_id}"
            " room_id = {v:room_id}, kind = {v:kind}, created_at = {v:created_at},"
            " synced_at = {v:synced_at}, deleted_at = NULL");
        for (const ThreadSubscription& s : snapshot.subscriptions) {
          SqlValue row[] = {Text(snapshot.thread_id), Text(s.user_id),
                            Text(snapshot.room_id),   Text(s.kind),
                            Optional(s.created_at),   Text(context.now)};
          LBMIRROR_RETURN_IF_ERROR(Run(connection, upsert, row));
        }
        SqlValue listed[] = {Text(snapshot.thread_id), Text(snapshot.listed_at)};
        return Retire(connection, "thread_subscriptions", "thread_id = ? AND synced_at < ?", listed,
                      context.now);
      });
}

Status RowWriter::Write(SqlConnection& connection, const FeedsSnapshot& snapshot,
                        const Context& context) const {
  SqlValue scope[] = {Text(snapshot.room_id)};
  return Tracked(
      connection, context, {"feeds", "feed_messages"}, "room_id = ?", scope, [&]() -> Status {
        const std::string upsert = Sql(
            "INSERT INTO {p}feeds (room_id, feed_id, metadata, created_at_ms, updated_at_ms, data,"
            " synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) {upsert:room_id, feed_id}"
            " metadata = {v:metadata}, created_at_ms = {v:created_at_ms},"
            " updated_at_ms = {v:updated_at_ms}, data = {v:data}, synced_at = {v:synced_at},"
            " deleted_at = NULL");
        for (const FeedRow& f : snapshot.feeds) {
          SqlValue row[] = {Text(snapshot.room_id),
                            Text(f.feed_id),
                            Text(f.metadata),
                            OptionalInt(f.created_at_ms),
                            OptionalInt(f.updated_at_ms),
                            Text(f.data),
                            Text(context.now)};
          LBMIRROR_RETURN_IF_ERROR(Run(connection, upsert, row));
          // A feed's messages are read after each listing of its room's feeds.
          LBMIRROR_RETURN_IF_ERROR(
              marks_.Mark(connection, {TargetKind::kFeedMessages, snapshot.room_id, f.feed_id},
                          context.now_ms));
        }
        SqlValue listed[] = {Text(snapshot.room_id), Text(snapshot.listed_at)};
        LBMIRROR_RETURN_IF_ERROR(
            Retire(connection, "feeds", "room_id = ? AND synced_at < ?", listed, context.now));
        // A feed gone takes its messages with it.
        SqlValue room[] = {Text(snapshot.room_id), Text(snapshot.room_id)};
        return Retire(
            connection, "feed_messages",
            "room_id = ? AND feed_id NOT IN (SELECT feed_id FROM {p}feeds WHERE room_id = ?"
            " AND deleted_at IS NULL)",
            room, context.now);
      });
}

Status RowWriter::Write(SqlConnection& connection, const FeedMessagesSnapshot& snapshot,
                        const Context& context) const {
  SqlValue scope[] = {Text(snapshot.room_id), Text(snapshot.feed_id)};
  return Tracked(
      connection, context, {"feed_messages"}, "room_id = ? AND feed_id = ?", scope,
      [&]() -> Status {
        const std::string upsert =
            Sql("INSERT INTO {p}feed_messages (room_id, feed_id, message_id, data, created_at_ms,"
                " updated_at_ms, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL)"
                " {upsert:room_id, feed_id, message_id} data = {v:data}, created_at_ms = "
                "{v:created_at_ms},"
                " updated_at_ms = {v:updated_at_ms}, synced_at = {v:synced_at}, deleted_at = NULL");
        for (const FeedMessageRow& m : snapshot.messages) {
          SqlValue row[] = {
              Text(snapshot.room_id), Text(snapshot.feed_id),       Text(m.message_id),
              Text(m.data),           OptionalInt(m.created_at_ms), OptionalInt(m.updated_at_ms),
              Text(context.now)};
          LBMIRROR_RETURN_IF_ERROR(Run(connection, upsert, row));
        }
        SqlValue listed[] = {Text(snapshot.room_id), Text(snapshot.feed_id),
                             Text(snapshot.listed_at)};
        return Retire(connection, "feed_messages", "room_id = ? AND feed_id = ? AND synced_at < ?",
                      listed, context.now);
      });
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
                            const std::string& now) const {
  // Replaced whole: the old rows go, the snapshot's rows come in (64 to a statement).
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

}  // namespace lbmirror::store::sql
