#include "webhook/event.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <set>
#include <sstream>

namespace lbmirror::webhook {
namespace {

namespace json = boost::json;

json::array LoadCases() {
  std::ifstream file(std::string(LBMIRROR_TESTDATA_DIR) + "/events.json");
  std::stringstream text;
  text << file.rdbuf();
  return json::parse(text.str()).as_array();
}

TEST(EventTest, ParsesEveryCaseOfTheTable) {
  json::array cases = LoadCases();
  ASSERT_GE(cases.size(), 30u);
  for (const json::value& value : cases) {
    const json::object& c = value.as_object();
    std::string name(c.at("name").as_string());
    SCOPED_TRACE(name);
    Result<Event> event = ParseEvent(std::string(c.at("body").as_string()));
    if (const json::value* error = c.if_contains("error")) {
      ASSERT_FALSE(event.has_value());
      EXPECT_EQ(event.error().message(), std::string(error->as_string()));
      EXPECT_EQ(event.error().code(), ErrorCode::kInvalidArgument);
      continue;
    }
    ASSERT_TRUE(event.has_value()) << event.error().message();
    EXPECT_EQ(event->known(), c.at("known").as_bool());
    if (event->known()) {
      EXPECT_EQ(KnownEventTypes()[static_cast<size_t>(event->type_index)], event->type);
    }
    std::vector<std::string> targets;
    for (const auto& target : event->targets) targets.push_back(target.ToString());
    std::vector<std::string> expected;
    for (const json::value& t : c.at("targets").as_array()) expected.emplace_back(t.as_string());
    EXPECT_EQ(targets, expected);
  }
}

TEST(EventTest, TheTableCoversEveryKnownType) {
  std::set<std::string> covered;
  for (const json::value& value : LoadCases()) {
    const json::object& c = value.as_object();
    if (c.contains("error") || !c.at("known").as_bool()) continue;
    auto body = json::parse(c.at("body").as_string());
    covered.insert(std::string(body.at("type").as_string()));
  }
  EXPECT_EQ(KnownEventTypes().size(), 19u);  // the SDK's 18 and roomUpdated
  for (std::string_view type : KnownEventTypes()) {
    EXPECT_TRUE(covered.count(std::string(type))) << type;
  }
}

TEST(EventTest, KeepsPresenceDetails) {
  auto event = ParseEvent(
      R"({"type":"userLeft","data":{"roomId":"r","connectionId":12,"userId":"alice","leftAt":"2026-01-01T00:00:00Z"}})");
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->room_id, "r");
  EXPECT_EQ(*event->connection_id, 12);
  EXPECT_EQ(event->user_id, "alice");
}

TEST(EventTest, UnknownTypeKeepsItsRoomForTheAuditLog) {
  auto event = ParseEvent(R"({"type":"roomArchived","data":{"roomId":"r9"}})");
  ASSERT_TRUE(event.has_value());
  EXPECT_FALSE(event->known());
  EXPECT_EQ(event->room_id, "r9");
  EXPECT_TRUE(event->targets.empty());
}

TEST(EventTest, RoomUpdatedIsAHintForTheRoomTarget) {
  auto event = ParseEvent(R"({"type":"roomUpdated","data":{"roomId":"r9"}})");
  ASSERT_TRUE(event.has_value());
  EXPECT_TRUE(event->known());
  ASSERT_EQ(event->targets.size(), 1u);
  EXPECT_EQ(event->targets[0].ToString(), "room:r9");
  // Without a room it is only stored: its shape is not documented.
  auto bare = ParseEvent(R"({"type":"roomUpdated","data":{}})");
  ASSERT_TRUE(bare.has_value());
  EXPECT_FALSE(bare->known());
  EXPECT_TRUE(bare->targets.empty());
}

}  // namespace
}  // namespace lbmirror::webhook
