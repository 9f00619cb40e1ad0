// Row writes produced by projections and applied by the store in the transaction that
// completes a target. Plain values; timestamps are "YYYY-MM-DD HH:MM:SS.mmm" UTC strings and
// JSON fields hold JSON text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace lbmirror::store {

using OptionalText = std::optional<std::string>;

// liveblocks_documents: Storage as plain JSON (the REST body, passed through verbatim).
// `depth` is its nesting of objects and arrays: a document deeper than the database's JSON
// type holds goes to the deep_data text column instead.
struct DocumentRow {
  std::string room_id;
  std::string data;
  int depth = 0;
};
// liveblocks_ydocs: the decoded JSON of a Yjs document, its plain text and its binary state
// (GET ydoc-binary, one Yjs update) from which the document can be restored exactly.
// `depth` is the nesting of `data`, as for DocumentRow.
struct YdocRow {
  std::string room_id;
  std::string data;
  std::string text;
  std::string state;
  int depth = 0;
};
// liveblocks_rooms: one room as the REST API returned it.
struct RoomRow {
  std::string room_id;
  std::string organization_id;
  std::string metadata;
  std::string default_accesses;
  std::string users_accesses;
  std::string groups_accesses;
  OptionalText created_at;
  OptionalText last_connection_at;
};
// The Storage document or Yjs document of a room is gone (REST 404).
struct DocumentGone {
  std::string room_id;
};
struct YdocGone {
  std::string room_id;
};
// The room is gone (REST 404): everything mirrored for it is deleted.
struct RoomGone {
  std::string room_id;
};

struct ThreadRow {
  std::string thread_id;
  std::string room_id;
  std::string metadata;
  bool resolved = false;
  std::string visibility;
  OptionalText created_at;
  OptionalText updated_at;
};
struct CommentRow {
  std::string comment_id;
  std::string thread_id;
  std::string room_id;
  std::string user_id;
  OptionalText body;      // absent on deleted comments
  std::string body_text;  // plain text per the SDK's stringifyCommentBody rules
  std::string metadata;
  std::string attachments;
  OptionalText created_at;
  OptionalText edited_at;
  OptionalText deleted_at;  // set when the API lists the comment as deleted
};
struct ReactionRow {
  std::string comment_id;
  std::string emoji;
  std::string user_id;
  std::string thread_id;
  std::string room_id;
  OptionalText created_at;
};
// One attachment of a comment: its metadata as the comment lists it (never a download URL).
struct AttachmentRow {
  std::string attachment_id;
  std::string comment_id;
  std::string thread_id;
  std::string room_id;
  std::string name;
  std::optional<int64_t> size;  // bytes
  OptionalText mime_type;
};
// A thread as the REST API returned it: the mirror's thread, comments, reactions and
// attachments become exactly this (comments and attachments that disappeared are deleted,
// reactions replaced).
struct ThreadSnapshot {
  ThreadRow thread;
  std::vector<CommentRow> comments;
  std::vector<ReactionRow> reactions;
  std::vector<AttachmentRow> attachments = {};
};
struct ThreadGone {
  std::string room_id;
  std::string thread_id;
};

struct NotificationRow {
  std::string inbox_notification_id;
  std::string user_id;
  std::string kind;
  OptionalText room_id;
  OptionalText thread_id;
  OptionalText subject_id;
  OptionalText notified_at;
  OptionalText read_at;
  std::string data;  // the whole notification JSON
};
struct NotificationGone {
  std::string user_id;
  std::string inbox_notification_id;
};

// Every inbox notification of one user, as GET /v2/users/{userId}/inbox-notifications lists
// them (all pages): the user's rows become these (their readAt included, which no webhook
// reports), and rows the listing lacks are deleted, unless they were written at or after
// `listed_at`, when the listing began (a newer read wrote them).
struct InboxSnapshot {
  std::string user_id;
  std::vector<NotificationRow> notifications;
  std::string listed_at;  // SQL timestamp
};
// Every group of the project, as GET /v2/groups lists them (all pages): the groups table
// becomes these (groups it lacks are deleted, unless written at or after `listed_at`), and
// each group's members exactly its list.
struct GroupMember {
  std::string user_id;
  OptionalText added_at;
};
struct GroupRow {
  std::string group_id;
  std::string organization_id;  // organizationId, or the older tenantId
  std::string scopes;           // JSON object, such as {"mention":true}
  OptionalText created_at;
  OptionalText updated_at;
  std::string data;  // the whole group JSON
  std::vector<GroupMember> members;
};
struct GroupsSnapshot {
  std::vector<GroupRow> groups;
  std::string listed_at;  // SQL timestamp
};
// A room's version history, as GET /v2/rooms/{roomId}/versions lists it (all pages): the
// room's version rows become these (those it lacks are deleted, unless written at or after
// `listed_at`); the Yjs document of each live version not mirrored yet is marked to be read.
struct VersionRow {
  std::string version_id;
  OptionalText created_at;
  std::string authors;  // JSON array of the authors' user ids
  std::string data;     // the whole version JSON
};
struct VersionsSnapshot {
  std::string room_id;
  std::vector<VersionRow> versions;
  std::string listed_at;  // SQL timestamp
};
// One version's Yjs document (GET …/versions/{id}/yjs), decoded as for YdocRow; a version
// never changes, so it is read once.
struct VersionYdocRow {
  std::string room_id;
  std::string version_id;
  std::string data;
  std::string text;
  std::string state;
  int depth = 0;
};
struct VersionYdocGone {
  std::string room_id;
  std::string version_id;
};
// A user's notification settings (GET /v2/users/{userId}/notification-settings): per channel
// (email, slack, teams, webPush; each optional), per notification kind, on or off.
struct NotificationSettingsRow {
  std::string user_id;
  std::string settings;  // the whole JSON object
};
// The user has none (404): the row is deleted.
struct NotificationSettingsGone {
  std::string user_id;
};
// A user's subscription settings in every room, as GET …/room-subscription-settings lists
// them (all pages): the user's rows become these (rows it lacks are deleted, unless written at
// or after `listed_at`).
struct RoomSubscriptionSetting {
  std::string room_id;
  std::string threads;        // "all", "replies_and_mentions" or "none"
  std::string text_mentions;  // "mine" or "none"
};
struct RoomSubscriptionSettingsSnapshot {
  std::string user_id;
  std::vector<RoomSubscriptionSetting> settings;
  std::string listed_at;  // SQL timestamp
};
// Who follows a thread (GET …/threads/{threadId}/subscriptions, one page): the thread's rows
// become these (those it lacks are deleted, unless written at or after `listed_at`); a thread
// gone (404) has none.
struct ThreadSubscription {
  std::string user_id;
  std::string kind;  // "thread" for this endpoint
  OptionalText created_at;
};
struct ThreadSubscriptionsSnapshot {
  std::string room_id;
  std::string thread_id;
  std::vector<ThreadSubscription> subscriptions;
  std::string listed_at;  // SQL timestamp
};
// A room's feeds (GET /v2/rooms/{roomId}/feeds, all pages), timestamps in ms since the epoch
// as Liveblocks gives them: the room's feed rows become these (as for versions); a feed gone
// takes its messages with it; each listed feed's messages are marked to be read.
struct FeedRow {
  std::string feed_id;
  std::string metadata;  // JSON object
  std::optional<int64_t> created_at_ms;
  std::optional<int64_t> updated_at_ms;
  std::string data;  // the whole feed JSON
};
struct FeedsSnapshot {
  std::string room_id;
  std::vector<FeedRow> feeds;
  std::string listed_at;  // SQL timestamp
};
// One feed's messages (GET …/feeds/{feedId}/messages, all pages), replaced as for feeds.
struct FeedMessageRow {
  std::string message_id;
  std::string data;  // the message's customer-defined data, JSON
  std::optional<int64_t> created_at_ms;
  std::optional<int64_t> updated_at_ms;
};
struct FeedMessagesSnapshot {
  std::string room_id;
  std::string feed_id;
  std::vector<FeedMessageRow> messages;
  std::string listed_at;  // SQL timestamp
};
struct ActiveUser {
  int64_t connection_id = 0;
  OptionalText user_id;
  OptionalText user_info;
};
// The room's current active users; replaces the previous set and the room's count.
struct ActiveUsersSnapshot {
  std::string room_id;
  std::vector<ActiveUser> users;
};

struct FlowNode {
  std::string node_id;
  OptionalText type;
  std::optional<double> position_x;
  std::optional<double> position_y;
  OptionalText data;
  std::string node;  // the whole node JSON
};
struct FlowEdge {
  std::string edge_id;
  OptionalText source;
  OptionalText target;
  OptionalText type;
  OptionalText data;
  std::string edge;  // the whole edge JSON
};
// The React Flow diagram under one Storage key; replaces that diagram's nodes and edges.
struct FlowSnapshot {
  std::string room_id;
  std::string storage_key;
  std::vector<FlowNode> nodes;
  std::vector<FlowEdge> edges;
};

using RowWrite =
    std::variant<DocumentRow, YdocRow, RoomRow, DocumentGone, YdocGone, RoomGone, ThreadSnapshot,
                 ThreadGone, NotificationRow, NotificationGone, InboxSnapshot, GroupsSnapshot,
                 ActiveUsersSnapshot, FlowSnapshot, VersionsSnapshot, VersionYdocRow,
                 VersionYdocGone, NotificationSettingsRow, NotificationSettingsGone,
                 RoomSubscriptionSettingsSnapshot, ThreadSubscriptionsSnapshot, FeedsSnapshot,
                 FeedMessagesSnapshot>;

}  // namespace lbmirror::store
