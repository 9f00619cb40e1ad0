#include "sync/projection.h"

#include <gtest/gtest.h>

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
  EXPECT_EQ(ReadPath(kYdoc), "/v2/rooms/room-y/ydoc");
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
  std::string body = R"({"title":"Hello","count":3,"people":{"alice":{"age":30}},"todos":[{"text":"Buy milk"},"just a string"]})";
  auto projection = Project(kStorage, {200, body, {}});
  ASSERT_TRUE(projection.has_value());
  const auto& row = std::get<store::DocumentRow>(projection->writes[0]);
  EXPECT_EQ(row.room_id, "my room/1");
  EXPECT_EQ(row.data, body);
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
  auto forbidden = Project(kStorage, {403, R"({"error":"Forbidden","message":"Invalid secret key"})", {}});
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

TEST(ProjectionTest, YdocTextFromTiptapXmlKeepsParagraphs) {
  std::string json =
      R"({"default":"<heading level=\"1\">Title</heading><paragraph>Hello <bold>bold</bold> world</paragraph><paragraph>a &lt; b &amp; c</paragraph>"})";
  EXPECT_EQ(YdocTextFromJson(json), "Title\nHello bold world\na < b & c");
}

TEST(ProjectionTest, YdocTextFromNestedBlocksAndPlainText) {
  std::string json =
      R"({"default":"<bulletList><listItem><paragraph>one</paragraph></listItem><listItem><paragraph>two</paragraph></listItem></bulletList>","codemirror":"line one\nline two","meta":{"title":"not text"},"list":["a"]})";
  EXPECT_EQ(YdocTextFromJson(json), "one\ntwo\nline one\nline two");
}

TEST(ProjectionTest, YdocProjectionStoresJsonAndText) {
  std::string body = R"({"text":"Hello world","meta":{"x":1}})";
  auto projection = Project(kYdoc, {200, body, {}});
  ASSERT_TRUE(projection.has_value());
  const auto& row = std::get<store::YdocRow>(projection->writes[0]);
  EXPECT_EQ(row.data, body);
  EXPECT_EQ(row.text, "Hello world");
}

}  // namespace
}  // namespace lbmirror::sync
