#include "sync/projection.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/limits.h"
#include "sync/pass_kinds.h"

namespace lbmirror::sync {
namespace {

using store::TargetKey;
using store::TargetKind;

const TargetKey kRoom{TargetKind::kRoom, "room-b", ""};
const TargetKey kStorage{TargetKind::kStorage, "my room/1", ""};
const TargetKey kYdoc{TargetKind::kYdoc, "room-y", ""};

TEST(ProjectionTest, ReadsTheDocumentedPathsWithEncodedIds) {
  EXPECT_EQ(ReadPath(kRoom), "/v2/rooms/room-b");
  EXPECT_EQ(ReadPath(kStorage), "/v2/rooms/my%20room%2F1/storage?format=json");
  EXPECT_EQ(ReadPath(kYdoc), "/v2/rooms/room-y/ydoc-binary");
}

TEST(ProjectionTest, ProjectsARoomAsCapturedFromTheDevServer) {
  liveblocks::RestResponse response{
      200,
      R"({"type":"room","id":"room-b","organizationId":"org-1","createdAt":"2026-11-26T18:58:59.760Z","metadata":{"color":"blue","tags":["x","y"]},"defaultAccesses":[],"groupsAccesses":{"eng":["room:read","room:presence:write"]},"usersAccesses":{"alice":["room:write"]}})",
      {}};
  auto projection = Project(kRoom, response);
  ASSERT_TRUE(projection.has_value()) << projection.error().message();
  ASSERT_EQ(projection->writes.size(), 1u);
  const auto& row = std::get<store::RoomRow>(projection->writes[0]);
  EXPECT_EQ(row.room_id, "room-b");
  EXPECT_EQ(row.organization_id, "org-1");
  EXPECT_EQ(row.metadata, R"({"color":"blue","tags":["x","y"]})");
  EXPECT_EQ(row.default_accesses, "[]");
  EXPECT_EQ(row.groups_accesses, R"({"eng":["room:read","room:presence:write"]})");
  EXPECT_EQ(row.users_accesses, R"({"alice":["room:write"]})");
  EXPECT_EQ(*row.created_at, "2026-11-26 18:58:59.760");
  EXPECT_FALSE(row.last_connection_at.has_value());
}

TEST(ProjectionTest, ReadsLastConnectionAtWhenPresent) {
  liveblocks::RestResponse response{
      200,
      R"({"type":"room","id":"room-b","lastConnectionAt":"2022-08-08T23:23:15.281Z","createdAt":"2022-08-08T23:23:15.281Z","metadata":{},"defaultAccesses":["room:write"],"groupsAccesses":{},"usersAccesses":{}})",
      {}};
  auto projection = Project(kRoom, response);
  ASSERT_TRUE(projection.has_value());
  EXPECT_EQ(*std::get<store::RoomRow>(projection->writes[0]).last_connection_at,
            "2022-08-08 23:23:15.281");
}

TEST(ProjectionTest, ARoomWithAnotherIdIsAnError) {
  auto projection = Project(kRoom, {200, R"({"type":"room","id":"other"})", {}});
  EXPECT_FALSE(projection.has_value());
}

TEST(ProjectionTest, StorageIsPassedThroughVerbatim) {
  std::string body =
      R"({"title":"Hello","count":3,"people":{"alice":{"age":30}},"todos":[{"text":"Buy milk"},"just a string"]})";
  auto projection = Project(kStorage, {200, body, {}});
  ASSERT_TRUE(projection.has_value());
  const auto& row = std::get<store::DocumentRow>(projection->writes[0]);
  EXPECT_EQ(row.room_id, "my room/1");
  EXPECT_EQ(row.data, body);
}

TEST(ProjectionTest, StorageIsValidatedWithoutATree) {
  // Refused exactly like json::parse refuses them: trailing bytes, bad escapes, invalid UTF-8,
  // a root that is not an object, an empty body.
  for (std::string bad :
       {std::string(R"({"a":1} x)"), std::string(R"({"a":"\q"})"), std::string("{\"a\":\"\xff\"}"),
        std::string(40, '[') + std::string(40, ']'), std::string("[1,2]"), std::string(R"("text")"),
        std::string(""), std::string(R"({"a":)")}) {
    auto projection = Project(kStorage, {200, bad, {}});
    ASSERT_FALSE(projection.has_value()) << bad;
    EXPECT_EQ(projection.error().code(), ErrorCode::kInternal) << bad;
  }
  std::string deep = "{\"a\":" + std::string(30, '[') + std::string(30, ']') + "}";
  EXPECT_TRUE(Project(kStorage, {200, deep, {}}).has_value());
}

std::string NestedObjects(int depth) {
  std::string json;
  for (int i = 0; i < depth; ++i) json += R"({"c":)";
  json += "1";
  json.append(static_cast<size_t>(depth), '}');
  return json;
}

TEST(ProjectionTest, DeepStorageIsMirroredUpToTheLimitAndRefusedPastItWithItsDepth) {
  ProjectionOptions options;
  options.flow_keys = {"c"};  // a diagram key at the root: the document is parsed to a tree too
  for (int depth : {40, 1000, kMaxNestingDepth}) {
    std::string body = NestedObjects(depth);
    auto projection = Project(kStorage, {200, body, {}}, options);
    ASSERT_TRUE(projection.has_value()) << depth << ": " << projection.error().ToString();
    const auto& row = std::get<store::DocumentRow>(projection->writes[0]);
    EXPECT_EQ(row.data, body);
    EXPECT_EQ(row.depth, depth);
  }
  auto refused = Project(kStorage, {200, NestedObjects(2500), {}}, options);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code(), ErrorCode::kTooLarge);
  EXPECT_EQ(refused.error().message(),
            "storage: the response nests JSON 2500 levels deep, deeper than 2000 levels "
            "(lbmirror's limit)");
}

TEST(ProjectionTest, EveryRestAnswerIsParsedToTheSameDepthLimit) {
  const store::TargetKey thread{store::TargetKind::kThread, "room-1", "th_1"};
  std::string body = R"({"type":"thread","id":"th_1","roomId":"room-1","metadata":{},"comments":[)"
                     R"({"id":"cm_1","body":)" +
                     NestedObjects(3000) + "}]}";
  auto projection = Project(thread, {200, body, {}});
  ASSERT_FALSE(projection.has_value());
  EXPECT_EQ(projection.error().code(), ErrorCode::kTooLarge);
  EXPECT_NE(projection.error().message().find("deeper than 2000 levels"), std::string::npos);
}

TEST(ProjectionTest, StorageDiagramsAreProjectedOnlyFromTheirKeys) {
  ProjectionOptions options;
  options.flow_keys = {"flow", "other"};
  // A key named like a diagram key deeper down is not a diagram.
  std::string body =
      R"({"nested":{"flow":{"nodes":[{"id":"x"}]}},"fl\u006fw":{"nodes":[{"id":"n1","data":{"label":"A"}}],"edges":[]}})";
  auto projection = Project(kStorage, {200, body, {}}, options);
  ASSERT_TRUE(projection.has_value());
  ASSERT_EQ(projection->writes.size(), 3u);
  EXPECT_EQ(std::get<store::DocumentRow>(projection->writes[0]).data, body);
  const auto& flow = std::get<store::FlowSnapshot>(projection->writes[1]);
  EXPECT_EQ(flow.storage_key, "flow");
  ASSERT_EQ(flow.nodes.size(), 1u);
  EXPECT_EQ(flow.nodes[0].node_id, "n1");
  // A diagram key that is absent gives an empty diagram (its rows are removed).
  const auto& other = std::get<store::FlowSnapshot>(projection->writes[2]);
  EXPECT_EQ(other.storage_key, "other");
  EXPECT_TRUE(other.nodes.empty());
  EXPECT_TRUE(other.edges.empty());
}

TEST(ProjectionTest, NotFoundMarksRowsDeletedAndRechecksTheRoom) {
  auto storage = Project(kStorage, {404, R"({"error":"ROOM_NOT_FOUND"})", {}});
  ASSERT_TRUE(storage.has_value());
  EXPECT_TRUE(std::holds_alternative<store::DocumentGone>(storage->writes[0]));
  ASSERT_EQ(storage->also_dirty.size(), 1u);
  EXPECT_EQ(storage->also_dirty[0].ToString(), "room:my room/1");
  auto room = Project(kRoom, {404, R"({"error":"ROOM_NOT_FOUND"})", {}});
  ASSERT_TRUE(room.has_value());
  EXPECT_TRUE(std::holds_alternative<store::RoomGone>(room->writes[0]));
  EXPECT_TRUE(room->also_dirty.empty());
}

TEST(ProjectionTest, ClassifiesErrorStatuses) {
  auto forbidden =
      Project(kStorage, {403, R"({"error":"Forbidden","message":"Invalid secret key"})", {}});
  ASSERT_FALSE(forbidden.has_value());
  EXPECT_EQ(forbidden.error().code(), ErrorCode::kUnauthenticated);
  EXPECT_FALSE(forbidden.error().retryable());
  EXPECT_NE(forbidden.error().message().find("Invalid secret key"), std::string::npos);
  auto busy = Project(kStorage, {429, "", {}});
  ASSERT_FALSE(busy.has_value());
  EXPECT_TRUE(busy.error().retryable());
  auto broken = Project(kStorage, {500, "<html>oops</html>", {}});
  ASSERT_FALSE(broken.has_value());
  EXPECT_TRUE(broken.error().retryable());
  auto teapot = Project(kStorage, {418, "", {}});
  ASSERT_FALSE(teapot.has_value());
  EXPECT_FALSE(teapot.error().retryable());
  auto garbage = Project(kStorage, {200, "not json", {}});
  EXPECT_FALSE(garbage.has_value());
}

// Y.encodeStateAsUpdate of a document with Y.Text "text" = "Hello world" and Y.Map "meta" =
// {x: 1}, client 7 (made with npm yjs).
std::string HelloUpdate() {
  std::string hex = "01020700040104746578740b48656c6c6f20776f726c642801046d6574610178017d0100";
  std::string bytes;
  for (size_t i = 0; i < hex.size(); i += 2) {
    bytes += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  }
  return bytes;
}

TEST(ProjectionTest, YdocProjectionDecodesTheBinaryState) {
  std::string state = HelloUpdate();
  auto projection = Project(kYdoc, {200, state, {}});
  ASSERT_TRUE(projection.has_value()) << projection.error().message();
  const auto& row = std::get<store::YdocRow>(projection->writes[0]);
  EXPECT_EQ(row.data, R"({"meta":{"x":1},"text":"Hello world"})");
  EXPECT_EQ(row.text, "Hello world");
  EXPECT_EQ(row.state, state);
}

TEST(ProjectionTest, AnEmptyYdocHasEmptyJsonAndText) {
  auto projection = Project(kYdoc, {200, std::string("\0\0", 2), {}});
  ASSERT_TRUE(projection.has_value()) << projection.error().message();
  const auto& row = std::get<store::YdocRow>(projection->writes[0]);
  EXPECT_EQ(row.data, "{}");
  EXPECT_EQ(row.text, "");
}

TEST(ProjectionTest, AYdocThatDoesNotDecodeIsAClearError) {
  std::string state = HelloUpdate();
  auto projection = Project(kYdoc, {200, state.substr(0, state.size() - 5), {}});
  ASSERT_FALSE(projection.has_value());
  EXPECT_EQ(projection.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(projection.error().message().find("ydoc-binary: malformed Yjs update"),
            std::string::npos)
      << projection.error().message();
}

TEST(ProjectionTest, AMissingYdocRoomMarksItGone) {
  auto projection = Project(kYdoc, {404, R"({"error":"ROOM_NOT_FOUND"})", {}});
  ASSERT_TRUE(projection.has_value());
  EXPECT_TRUE(std::holds_alternative<store::YdocGone>(projection->writes[0]));
}

}  // namespace
}  // namespace lbmirror::sync

namespace lbmirror::sync {
namespace {

const std::string kThreadJson =
    R"({"type":"thread","id":"th_abc","roomId":"my-room","createdAt":"2026-01-01T10:00:00.000Z","updatedAt":"2026-01-01T10:05:00.000Z","metadata":{"status":"open","priority":2,"pinned":false},"resolved":false,"visibility":"public","comments":[{"type":"comment","id":"cm_1","threadId":"th_abc","roomId":"my-room","userId":"alice","createdAt":"2026-01-01T10:00:00.000Z","editedAt":"2026-01-01T10:01:00.000Z","reactions":[{"emoji":"👍","createdAt":"2026-01-01T10:02:00.000Z","users":[{"id":"bob"},{"id":"carol"}]}],"attachments":[],"metadata":{},"body":{"version":1,"content":[{"type":"paragraph","children":[{"text":"Hello "},{"type":"mention","kind":"user","id":"bob"}]}]}},{"type":"comment","id":"cm_2","threadId":"th_abc","roomId":"my-room","userId":"bob","createdAt":"2026-01-01T10:03:00.000Z","reactions":[],"attachments":[],"metadata":{},"deletedAt":"2026-01-01T10:05:00.000Z"}]})";

TEST(ThreadProjectionTest, ProjectsTheSpecsIllustrativeThread) {
  store::TargetKey key{store::TargetKind::kThread, "my-room", "th_abc"};
  auto projection = Project(key, {200, kThreadJson, {}});
  ASSERT_TRUE(projection.has_value()) << projection.error().message();
  const auto& snapshot = std::get<store::ThreadSnapshot>(projection->writes.at(0));
  EXPECT_EQ(snapshot.thread.metadata, R"({"status":"open","priority":2,"pinned":false})");
  EXPECT_FALSE(snapshot.thread.resolved);
  EXPECT_EQ(snapshot.thread.visibility, "public");
  EXPECT_EQ(*snapshot.thread.updated_at, "2026-01-01 10:05:00.000");
  ASSERT_EQ(snapshot.comments.size(), 2u);
  EXPECT_EQ(snapshot.comments[0].body_text, "Hello @bob");
  EXPECT_EQ(*snapshot.comments[0].edited_at, "2026-01-01 10:01:00.000");
  EXPECT_FALSE(snapshot.comments[0].deleted_at.has_value());
  EXPECT_FALSE(snapshot.comments[1].body.has_value());
  EXPECT_EQ(*snapshot.comments[1].deleted_at, "2026-01-01 10:05:00.000");
  ASSERT_EQ(snapshot.reactions.size(), 2u);
  EXPECT_EQ(snapshot.reactions[0].emoji, "👍");
  EXPECT_EQ(snapshot.reactions[1].user_id, "carol");
}

TEST(ThreadProjectionTest, AttachmentsComeFromTheirCommentsWithoutAnyUrl) {
  store::TargetKey key{store::TargetKind::kThread, "r", "th_1"};
  const std::string thread =
      R"({"type":"thread","id":"th_1","roomId":"r","metadata":{},"resolved":false,"comments":[)"
      R"({"type":"comment","id":"cm_1","threadId":"th_1","roomId":"r","userId":"u","reactions":[],)"
      R"("attachments":[{"type":"attachment","id":"at_1","name":"a.pdf","size":12345,"mimeType":"application/pdf"},)"
      R"({"type":"attachment","id":"at_2","name":"b.png","size":1.5e3}]},)"
      R"({"type":"comment","id":"cm_2","threadId":"th_1","roomId":"r","userId":"u","reactions":[],)"
      R"("deletedAt":"2026-01-01T00:00:00.000Z"}]})";
  auto projection = Project(key, {200, thread, {}});
  ASSERT_TRUE(projection.has_value()) << projection.error().ToString();
  const auto& attachments = std::get<store::ThreadSnapshot>(projection->writes.at(0)).attachments;
  ASSERT_EQ(attachments.size(), 2u);
  EXPECT_EQ(attachments[0].attachment_id, "at_1");
  EXPECT_EQ(attachments[0].comment_id, "cm_1");
  EXPECT_EQ(attachments[0].thread_id, "th_1");
  EXPECT_EQ(attachments[0].room_id, "r");
  EXPECT_EQ(attachments[0].name, "a.pdf");
  EXPECT_EQ(attachments[0].size, 12345);
  EXPECT_EQ(attachments[0].mime_type, "application/pdf");
  EXPECT_EQ(attachments[1].size, 1500);
  EXPECT_FALSE(attachments[1].mime_type.has_value());
  for (const char* bad : {R"("attachments":[{"type":"attachment","name":"no id"}])",
                          R"("attachments":{"id":"at_1"})"}) {
    std::string body = thread;
    const size_t from = body.find(R"("attachments":[{"type":"attachment","id":"at_1")");
    const std::string last = R"("size":1.5e3}])";
    body.replace(from, body.find(last) + last.size() - from, bad);
    auto refused = Project(key, {200, body, {}});
    ASSERT_FALSE(refused.has_value()) << bad;
    EXPECT_NE(refused.error().message().find("attachment"), std::string::npos) << bad;
  }
}

TEST(ThreadProjectionTest, NotFoundDeletesTheThread) {
  store::TargetKey key{store::TargetKind::kThread, "my-room", "th_abc"};
  EXPECT_EQ(ReadPath(key), "/v2/rooms/my-room/threads/th_abc");
  auto projection = Project(key, {404, R"({"error":"RESOURCE_NOT_FOUND"})", {}});
  ASSERT_TRUE(projection.has_value());
  EXPECT_EQ(std::get<store::ThreadGone>(projection->writes.at(0)).thread_id, "th_abc");
}

TEST(NotificationProjectionTest, ProjectsEachKind) {
  store::TargetKey key{store::TargetKind::kNotification, "bob", "in_1"};
  EXPECT_EQ(ReadPath(key), "/v2/users/bob/inbox-notifications/in_1");
  auto thread = Project(
      key,
      {200,
       R"({"kind":"thread","id":"in_1","roomId":"r","threadId":"th_1","notifiedAt":"2026-01-01T10:00:00.000Z","readAt":null})",
       {}});
  ASSERT_TRUE(thread.has_value());
  const auto& row = std::get<store::NotificationRow>(thread->writes.at(0));
  EXPECT_EQ(row.kind, "thread");
  EXPECT_EQ(*row.thread_id, "th_1");
  EXPECT_FALSE(row.read_at.has_value());
  auto custom = Project(
      key,
      {200,
       R"({"kind":"$fileUploaded","id":"in_1","subjectId":"file-1","notifiedAt":"2026-01-01T10:00:00.000Z","readAt":"2026-01-01T11:00:00.000Z","activities":[{"id":"a1","createdAt":"2026-01-01T10:00:00.000Z","data":{"file":"x.pdf"}}]})",
       {}});
  ASSERT_TRUE(custom.has_value());
  const auto& custom_row = std::get<store::NotificationRow>(custom->writes.at(0));
  EXPECT_EQ(*custom_row.subject_id, "file-1");
  EXPECT_FALSE(custom_row.room_id.has_value());
  EXPECT_EQ(*custom_row.read_at, "2026-01-01 11:00:00.000");
  EXPECT_FALSE(Project(key, {200, R"({"kind":"thread","id":"other"})", {}}).has_value());
}

TEST(InboxProjectionTest, AUsersWholeInboxReplacesItsRows) {
  store::TargetKey key{store::TargetKind::kInbox, "bob", ""};
  ASSERT_TRUE(ListingOf(key).has_value());
  EXPECT_EQ(ListingOf(key)->path, "/v2/users/bob/inbox-notifications");
  EXPECT_TRUE(IsPassKind(store::TargetKind::kInbox));
  EXPECT_FALSE(IsPassKind(store::TargetKind::kNotification));
  const int64_t started = 1'767'225'600'000;  // 2026-01-01 00:00:00 UTC
  auto projection = Project(
      key,
      {200,
       R"({"data":[{"kind":"thread","id":"in_1","roomId":"r","threadId":"th_1","notifiedAt":"2026-01-01T10:00:00.000Z","readAt":"2026-01-01T11:00:00.000Z"},)"
       R"({"kind":"$custom","id":"in_2","subjectId":"s","notifiedAt":"2026-01-01T09:00:00.000Z","readAt":null,"activities":[]}]})",
       {}},
      {}, started);
  ASSERT_TRUE(projection.has_value()) << projection.error().ToString();
  const auto& inbox = std::get<store::InboxSnapshot>(projection->writes.at(0));
  EXPECT_EQ(inbox.user_id, "bob");
  EXPECT_EQ(inbox.listed_at, "2026-01-01 00:00:00.000");
  ASSERT_EQ(inbox.notifications.size(), 2u);
  EXPECT_EQ(inbox.notifications[0].inbox_notification_id, "in_1");
  EXPECT_EQ(inbox.notifications[0].user_id, "bob");
  EXPECT_EQ(*inbox.notifications[0].read_at, "2026-01-01 11:00:00.000");
  EXPECT_EQ(*inbox.notifications[1].subject_id, "s");
  EXPECT_FALSE(inbox.notifications[1].read_at.has_value());
  EXPECT_EQ(
      inbox.notifications[1].data,
      R"({"kind":"$custom","id":"in_2","subjectId":"s","notifiedAt":"2026-01-01T09:00:00.000Z","readAt":null,"activities":[]})");
}

TEST(InboxProjectionTest, AnUnknownUserHasNoNotificationsAndAnUnsupportedServerNoRows) {
  store::TargetKey key{store::TargetKind::kInbox, "ghost", ""};
  auto gone = Project(key, {404, R"({"error":"USER_NOT_FOUND"})", {}}, {}, 0);
  ASSERT_TRUE(gone.has_value());
  EXPECT_TRUE(std::get<store::InboxSnapshot>(gone->writes.at(0)).notifications.empty());
  auto unsupported = Project(key, {501, R"({"error":"Not implemented"})", {}});
  ASSERT_TRUE(unsupported.has_value());
  EXPECT_TRUE(unsupported->unsupported);
  EXPECT_TRUE(unsupported->writes.empty());
  auto single = Project({store::TargetKind::kNotification, "bob", "in_1"}, {501, "{}", {}});
  EXPECT_FALSE(single.has_value()) << "a webhook's read answered 501 is an error to retry";
  for (const char* body :
       {R"({"data":[{"kind":"thread"}]})", R"({"data":[{"id":""}]})", R"({"data":{}})", R"([])"}) {
    auto bad = Project(key, {200, body, {}});
    ASSERT_FALSE(bad.has_value()) << body;
    EXPECT_EQ(bad.error().code(), ErrorCode::kInternal) << body;
  }
}

TEST(GroupsProjectionTest, EveryGroupWithItsMembersInEitherContract) {
  store::TargetKey key{store::TargetKind::kGroups, "project", ""};
  ASSERT_TRUE(ListingOf(key).has_value());
  EXPECT_EQ(ListingOf(key)->path, "/v2/groups");
  EXPECT_EQ(ListingOf(key)->limit, 100);
  auto projection = Project(
      key,
      {200,
       R"({"data":[{"type":"group","id":"engineering","organizationId":"default",)"
       R"("createdAt":"2026-01-01T10:00:00.000Z","updatedAt":"2026-01-02T09:00:00.000Z",)"
       R"("scopes":{"mention":true},"members":[{"id":"alice","addedAt":"2026-01-01T10:00:00.000Z"},)"
       R"({"id":"bob","addedAt":"2026-01-02T09:00:00.000Z"}]},)"
       R"({"type":"group","id":"old","tenantId":"t1","scopes":{},"members":[]}]})",
       {}},
      {}, 1'767'225'600'000);
  ASSERT_TRUE(projection.has_value()) << projection.error().ToString();
  const auto& groups = std::get<store::GroupsSnapshot>(projection->writes.at(0));
  EXPECT_EQ(groups.listed_at, "2026-01-01 00:00:00.000");
  ASSERT_EQ(groups.groups.size(), 2u);
  const store::GroupRow& eng = groups.groups[0];
  EXPECT_EQ(eng.group_id, "engineering");
  EXPECT_EQ(eng.organization_id, "default");
  EXPECT_EQ(eng.scopes, R"({"mention":true})");
  EXPECT_EQ(*eng.updated_at, "2026-01-02 09:00:00.000");
  ASSERT_EQ(eng.members.size(), 2u);
  EXPECT_EQ(eng.members[1].user_id, "bob");
  EXPECT_EQ(*eng.members[1].added_at, "2026-01-02 09:00:00.000");
  EXPECT_EQ(groups.groups[1].organization_id, "t1") << "tenantId, the older name";
  EXPECT_TRUE(groups.groups[1].members.empty());
  for (const char* body : {R"({"data":[{"type":"group","members":[]}]})",
                           R"({"data":[{"id":"g","members":[{"addedAt":"x"}]}]})",
                           R"({"data":[{"id":"g","members":{}}]})", R"({"groups":[]})"}) {
    auto bad = Project(key, {200, body, {}});
    ASSERT_FALSE(bad.has_value()) << body;
    EXPECT_NE(bad.error().message().find("groups"), std::string::npos) << body;
  }
  EXPECT_FALSE(Project(key, {404, R"({"error":"NOT_FOUND"})", {}}).has_value());
  EXPECT_TRUE(Project(key, {501, "{}", {}})->unsupported);
}

TEST(VersionsProjectionTest, TheHistoryInEitherContractAndEachVersionsYjsDocument) {
  store::TargetKey key{store::TargetKind::kVersions, "my room", ""};
  ASSERT_TRUE(ListingOf(key).has_value());
  EXPECT_EQ(ListingOf(key)->path, "/v2/rooms/my%20room/versions");
  EXPECT_EQ(ListingOf(key)->paging, liveblocks::Paging::kCursor);
  auto projection = Project(
      key,
      {200,
       R"({"data":[{"id":"vh_2","createdAt":"2024-10-15T10:30:00.000Z","authors":[{"id":"user-123"},{"id":"user-456"}]},)"
       R"({"type":"historyVersion","id":"vh_1","createdAt":"2024-10-14T10:30:00.000Z","kind":"yjs"}],)"
       R"("nextCursor":null})",
       {}},
      {}, 1'767'225'600'000);
  ASSERT_TRUE(projection.has_value()) << projection.error().ToString();
  const auto& history = std::get<store::VersionsSnapshot>(projection->writes.at(0));
  EXPECT_EQ(history.room_id, "my room");
  ASSERT_EQ(history.versions.size(), 2u);
  EXPECT_EQ(history.versions[0].version_id, "vh_2");
  EXPECT_EQ(*history.versions[0].created_at, "2024-10-15 10:30:00.000");
  EXPECT_EQ(history.versions[0].authors, R"(["user-123","user-456"])");
  EXPECT_EQ(history.versions[1].authors, "[]") << "the older contract may leave authors out";
  for (const char* body : {R"({"data":[{"createdAt":"2024-10-15T10:30:00.000Z"}]})",
                           R"({"data":[{"id":"vh_1","authors":"alice"}]})",
                           R"({"data":[{"id":"vh_1","authors":[{"name":"x"}]}]})"}) {
    auto bad = Project(key, {200, body, {}});
    ASSERT_FALSE(bad.has_value()) << body;
    EXPECT_NE(bad.error().message().find("versions"), std::string::npos) << body;
  }
  auto gone = Project(key, {404, R"({"error":"ROOM_NOT_FOUND"})", {}}, {}, 0);
  ASSERT_TRUE(gone.has_value());
  EXPECT_TRUE(std::get<store::VersionsSnapshot>(gone->writes.at(0)).versions.empty());
  ASSERT_EQ(gone->also_dirty.size(), 1u);
  EXPECT_EQ(gone->also_dirty[0].ToString(), "room:my room");

  store::TargetKey content{store::TargetKind::kVersionYdoc, "my room", "vh_2"};
  EXPECT_EQ(store::TargetKey::Parse(content.ToString()), content);
  EXPECT_EQ(ReadPath(content), "/v2/rooms/my%20room/versions/vh_2/yjs");
  EXPECT_FALSE(ListingOf(content).has_value()) << "one read";
  EXPECT_TRUE(IsPassKind(content.kind));
  const std::string empty_update("\x00\x00", 2);  // no structs, no deletions
  auto decoded = Project(content, {200, empty_update, {}});
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  const auto& row = std::get<store::VersionYdocRow>(decoded->writes.at(0));
  EXPECT_EQ(row.version_id, "vh_2");
  EXPECT_EQ(row.data, "{}");
  EXPECT_EQ(row.state, empty_update);
  auto malformed = Project(content, {200, "\x05", {}});
  ASSERT_FALSE(malformed.has_value());
  EXPECT_NE(malformed.error().message().find("version Yjs document"), std::string::npos);
  auto deleted = Project(content, {404, "{}", {}});
  ASSERT_TRUE(deleted.has_value());
  EXPECT_EQ(std::get<store::VersionYdocGone>(deleted->writes.at(0)).version_id, "vh_2");
}

TEST(SettingsProjectionTest, AUsersNotificationAndRoomSubscriptionSettings) {
  store::TargetKey channels{store::TargetKind::kNotificationSettings, "alice", ""};
  EXPECT_EQ(ReadPath(channels), "/v2/users/alice/notification-settings");
  EXPECT_FALSE(ListingOf(channels).has_value());
  const std::string example =
      R"({"email":{"thread":true,"textMention":false,"$customNotification":true},)"
      R"("slack":{"thread":true,"textMention":true,"$customNotification":false}})";
  auto settings = Project(channels, {200, example, {}});
  ASSERT_TRUE(settings.has_value()) << settings.error().ToString();
  const auto& row = std::get<store::NotificationSettingsRow>(settings->writes.at(0));
  EXPECT_EQ(row.user_id, "alice");
  EXPECT_EQ(row.settings, example);
  EXPECT_TRUE(Project(channels, {200, "{}", {}}).has_value()) << "every channel is optional";
  EXPECT_FALSE(Project(channels, {200, R"({"email":true})", {}}).has_value());
  auto none = Project(channels, {404, R"({"error":"USER_NOT_FOUND"})", {}});
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(std::get<store::NotificationSettingsGone>(none->writes.at(0)).user_id, "alice");

  store::TargetKey rooms{store::TargetKind::kRoomSubscriptionSettings, "alice", ""};
  ASSERT_TRUE(ListingOf(rooms).has_value());
  EXPECT_EQ(ListingOf(rooms)->path, "/v2/users/alice/room-subscription-settings");
  EXPECT_EQ(ListingOf(rooms)->limit, 50);
  auto listed = Project(
      rooms,
      {200, R"({"data":[{"threads":"all","textMentions":"mine","roomId":"my-room-id"}]})", {}}, {},
      1'767'225'600'000);
  ASSERT_TRUE(listed.has_value()) << listed.error().ToString();
  const auto& snapshot = std::get<store::RoomSubscriptionSettingsSnapshot>(listed->writes.at(0));
  ASSERT_EQ(snapshot.settings.size(), 1u);
  EXPECT_EQ(snapshot.settings[0].room_id, "my-room-id");
  EXPECT_EQ(snapshot.settings[0].threads, "all");
  EXPECT_EQ(snapshot.settings[0].text_mentions, "mine");
  for (const char* body : {R"({"data":[{"threads":"all","textMentions":"mine"}]})",
                           R"({"data":[{"roomId":"r","threads":1,"textMentions":"mine"}]})"}) {
    auto bad = Project(rooms, {200, body, {}});
    ASSERT_FALSE(bad.has_value()) << body;
    EXPECT_NE(bad.error().message().find("room subscription settings"), std::string::npos);
  }
}

TEST(PresenceProjectionTest, ProjectsTheDevServersCapture) {
  store::TargetKey key{store::TargetKind::kPresence, "room-a", ""};
  auto projection = Project(
      key,
      {200,
       R"({"data":[{"type":"user","connectionId":2,"id":"alice","info":{"name":"Alice","color":"#f00"}},{"type":"user","connectionId":3,"id":"bob"},{"type":"user","connectionId":4}]})",
       {}});
  ASSERT_TRUE(projection.has_value());
  const auto& users = std::get<store::ActiveUsersSnapshot>(projection->writes.at(0)).users;
  ASSERT_EQ(users.size(), 3u);
  EXPECT_EQ(*users[0].user_info, R"({"name":"Alice","color":"#f00"})");
  EXPECT_FALSE(users[1].user_info.has_value());
  EXPECT_FALSE(users[2].user_id.has_value());
  EXPECT_EQ(users[2].connection_id, 4);
}

TEST(FlowProjectionTest, ReadsNodesAndEdgesAsMapsOrArrays) {
  auto storage =
      boost::json::parse(
          R"({"flow":{"nodes":{"n1":{"id":"n1","type":"input","position":{"x":10,"y":-2.5},"data":{"label":"A"}},"n2":{"id":"n2","position":{"x":0,"y":0},"data":{"label":"B"}}},"edges":[{"id":"e1","source":"n1","target":"n2","type":"smoothstep"}]}})")
          .as_object();
  store::FlowSnapshot flow = ProjectFlow("r", "flow", storage);
  ASSERT_EQ(flow.nodes.size(), 2u);
  EXPECT_EQ(flow.nodes[0].node_id, "n1");
  EXPECT_EQ(*flow.nodes[0].type, "input");
  EXPECT_DOUBLE_EQ(*flow.nodes[0].position_y, -2.5);
  EXPECT_EQ(*flow.nodes[1].data, R"({"label":"B"})");
  ASSERT_EQ(flow.edges.size(), 1u);
  EXPECT_EQ(*flow.edges[0].source, "n1");
  EXPECT_EQ(*flow.edges[0].target, "n2");
  EXPECT_TRUE(ProjectFlow("r", "other", storage).nodes.empty());
}

TEST(FlowProjectionTest, StorageProjectsEveryConfiguredKey) {
  store::TargetKey key{store::TargetKind::kStorage, "r", ""};
  ProjectionOptions options;
  options.flow_keys = {"flow", "second"};
  auto projection =
      Project(key, {200, R"({"flow":{"nodes":[{"id":"a"}],"edges":[]}})", {}}, options);
  ASSERT_TRUE(projection.has_value());
  ASSERT_EQ(projection->writes.size(), 3u);
  EXPECT_EQ(std::get<store::FlowSnapshot>(projection->writes[1]).nodes.size(), 1u);
  EXPECT_EQ(std::get<store::FlowSnapshot>(projection->writes[2]).storage_key, "second");
}

}  // namespace
}  // namespace lbmirror::sync

namespace lbmirror::sync {
namespace {

TEST(ThreadSubscriptionsProjectionTest, WhoFollowsAThreadAndAThreadGone) {
  store::TargetKey followers{store::TargetKind::kThreadSubscriptions, "my room", "th_abc123"};
  EXPECT_EQ(ReadPath(followers), "/v2/rooms/my%20room/threads/th_abc123/subscriptions");
  EXPECT_FALSE(ListingOf(followers).has_value()) << "the endpoint is not paginated";
  // The example of the contract, verbatim.
  auto read = Project(
      followers,
      {200,
       R"({"data":[{"kind":"thread","subjectId":"th_abc123","createdAt":"2022-07-13T14:32:50.697Z","userId":"alice"}]})",
       {}},
      {}, 1'767'225'600'000);
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  const auto& snapshot = std::get<store::ThreadSubscriptionsSnapshot>(read->writes.at(0));
  EXPECT_EQ(snapshot.room_id, "my room");
  EXPECT_EQ(snapshot.thread_id, "th_abc123");
  EXPECT_EQ(snapshot.listed_at, "2026-01-01 00:00:00.000");
  ASSERT_EQ(snapshot.subscriptions.size(), 1u);
  EXPECT_EQ(snapshot.subscriptions[0].user_id, "alice");
  EXPECT_EQ(snapshot.subscriptions[0].kind, "thread");
  EXPECT_EQ(snapshot.subscriptions[0].created_at, "2022-07-13 14:32:50.697");
  auto gone = Project(followers, {404, R"({"error":"THREAD_NOT_FOUND"})", {}}, {}, 0);
  ASSERT_TRUE(gone.has_value());
  EXPECT_TRUE(
      std::get<store::ThreadSubscriptionsSnapshot>(gone->writes.at(0)).subscriptions.empty());
  for (const char* body : {R"({"subscriptions":[]})", R"({"data":[{"kind":"thread"}]})"}) {
    auto bad = Project(followers, {200, body, {}});
    ASSERT_FALSE(bad.has_value()) << body;
    EXPECT_NE(bad.error().message().find("thread subscriptions"), std::string::npos);
  }
}

TEST(FeedsProjectionTest, FeedsAndMessagesInBothContractsWithTimesInMilliseconds) {
  store::TargetKey feeds{store::TargetKind::kFeeds, "room-a", ""};
  ASSERT_TRUE(ListingOf(feeds).has_value());
  EXPECT_EQ(ListingOf(feeds)->path, "/v2/rooms/room-a/feeds");
  EXPECT_EQ(ListingOf(feeds)->paging, liveblocks::Paging::kCursor);
  // The Python client's shape (with nextCursor), then the Node SDK's ({data} only).
  for (
      const char* body :
      {R"({"nextCursor":null,"data":[{"feedId":"my-feed-id","metadata":{"type":"chat","name":"General Discussion"},"createdAt":1660000988137,"updatedAt":1660000988138}]})",
       R"({"data":[{"feedId":"my-feed-id","metadata":{"type":"chat","name":"General Discussion"},"createdAt":1660000988137,"updatedAt":1660000988138}]})"}) {
    auto read = Project(feeds, {200, body, {}}, {}, 0);
    ASSERT_TRUE(read.has_value()) << read.error().ToString();
    const auto& snapshot = std::get<store::FeedsSnapshot>(read->writes.at(0));
    ASSERT_EQ(snapshot.feeds.size(), 1u);
    EXPECT_EQ(snapshot.feeds[0].feed_id, "my-feed-id");
    EXPECT_EQ(snapshot.feeds[0].metadata, R"({"type":"chat","name":"General Discussion"})");
    EXPECT_EQ(snapshot.feeds[0].created_at_ms, 1660000988137);
    EXPECT_EQ(snapshot.feeds[0].updated_at_ms, 1660000988138);
  }
  auto no_times =
      Project(feeds, {200, R"({"data":[{"feedId":"f","createdAt":"2022-01-01"}]})", {}});
  ASSERT_TRUE(no_times.has_value());
  const auto& bare = std::get<store::FeedsSnapshot>(no_times->writes.at(0)).feeds.at(0);
  EXPECT_FALSE(bare.created_at_ms.has_value()) << "a time that is not a number is absent";
  EXPECT_EQ(bare.metadata, "{}");
  auto room_gone = Project(feeds, {404, R"({"error":"ROOM_NOT_FOUND"})", {}}, {}, 0);
  ASSERT_TRUE(room_gone.has_value());
  EXPECT_TRUE(std::get<store::FeedsSnapshot>(room_gone->writes.at(0)).feeds.empty());
  EXPECT_EQ(room_gone->also_dirty.at(0).kind, store::TargetKind::kRoom);
  for (const char* body :
       {R"({"data":[{"metadata":{}}]})", R"({"data":[{"feedId":"f","metadata":[1]}]})"}) {
    EXPECT_FALSE(Project(feeds, {200, body, {}}).has_value()) << body;
  }

  store::TargetKey messages{store::TargetKind::kFeedMessages, "room-a", "my feed"};
  ASSERT_TRUE(ListingOf(messages).has_value());
  EXPECT_EQ(ListingOf(messages)->path, "/v2/rooms/room-a/feeds/my%20feed/messages");
  auto read = Project(
      messages,
      {200,
       R"({"nextCursor":null,"data":[{"id":"msg_xyz789","data":{"type":"text","content":"Hello, world!"},"createdAt":1660000988137,"updatedAt":1660000988137}]})",
       {}},
      {}, 0);
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  const auto& listed = std::get<store::FeedMessagesSnapshot>(read->writes.at(0));
  EXPECT_EQ(listed.feed_id, "my feed");
  ASSERT_EQ(listed.messages.size(), 1u);
  EXPECT_EQ(listed.messages[0].message_id, "msg_xyz789");
  EXPECT_EQ(listed.messages[0].data, R"({"type":"text","content":"Hello, world!"})");
  EXPECT_EQ(listed.messages[0].created_at_ms, 1660000988137);
  EXPECT_FALSE(Project(messages, {200, R"({"data":[{"data":1}]})", {}}).has_value());
  auto feed_gone = Project(messages, {404, "{}", {}}, {}, 0);
  ASSERT_TRUE(feed_gone.has_value());
  EXPECT_TRUE(std::get<store::FeedMessagesSnapshot>(feed_gone->writes.at(0)).messages.empty());
}

// The dev server answers the feeds routes with fixed data under other names, and says so in
// an X-LB-Warn header: that is "not offered", never rows (nor an error, retried forever).
TEST(FeedsProjectionTest, TheDevServersDummyResponsesAreNotOffered) {
  store::TargetKey feeds{store::TargetKind::kFeeds, "room-a", ""};
  liveblocks::RestResponse dummy{
      200,
      R"({"feeds":[{"feedId":"123","metadata":{"title":"Test Feed"},"timestamp":1795917921574}],"nextCursor":null})",
      {},
      true};
  auto read = Project(feeds, dummy);
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_TRUE(read->unsupported);
  EXPECT_TRUE(read->writes.empty());
  dummy.dummy = false;  // the same body without the header is a shape we do not know
  auto unknown = Project(feeds, dummy);
  ASSERT_FALSE(unknown.has_value());
  EXPECT_NE(unknown.error().message().find("feeds: response has no data array"), std::string::npos);
  // A webhook kind answered by a dummy is not a pass kind: its body is read as usual.
  auto room = Project({store::TargetKind::kRoom, "room-a", ""}, {200, "[]", {}, true});
  EXPECT_FALSE(room.has_value()) << "[] is read as a room, and is not one";
}

}  // namespace
}  // namespace lbmirror::sync
