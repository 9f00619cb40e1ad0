// What operators read and ask for: a room's summary, retrying failed targets, and the stored
// webhooks by time, type and room, in pages.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "core/text.h"
#include "store/sql/schema.h"
#include "store/sql_store_fixture.h"

namespace lbmirror::store::sql {
namespace {

TEST_P(SqlStoreTest, ARoomsSummaryCountsItsRowsAndNamesItsThreadsAndPendingTargets) {
  COMPLETE_WITH(store_, DocumentRow{"room-1", R"({"a":1})", 1},
                Thread({{"cm_1", "first"}, {"cm_2", "second"}}, {}));
  COMPLETE_WITH(store_, Thread({{"cm_1", "first"}}, {}));  // cm_2 deleted since
  ASSERT_TRUE(Recorded(Event("msg_y", {{TargetKind::kYdoc, "room-1", ""}})));
  auto summary = store_->Summary("room-1");
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  EXPECT_FALSE(summary->known) << "no room row was written";
  auto table = [&](const std::string& name) {
    for (const RoomTableSummary& t : summary->tables) {
      if (t.table == name) return t;
    }
    ADD_FAILURE() << name << " is not in the summary";
    return RoomTableSummary{};
  };
  const std::string now = FormatSqlTimestamp(clock_.NowMs());
  EXPECT_EQ(summary->tables.size(), 9u);
  EXPECT_EQ(table("comment_attachments").rows, 0);
  EXPECT_EQ(table("documents").rows, 1);
  EXPECT_EQ(table("documents").live, 1);
  EXPECT_EQ(table("documents").last_synced_at, now);
  EXPECT_EQ(table("threads").live, 1);
  EXPECT_EQ(table("comments").rows, 2);
  EXPECT_EQ(table("comments").live, 1);
  EXPECT_EQ(table("ydocs").rows, 0);
  EXPECT_EQ(table("ydocs").last_synced_at, std::nullopt);
  EXPECT_EQ(table("flow_nodes").rows, 0);
  EXPECT_EQ(summary->live_threads, std::vector<std::string>{"th_1"});
  ASSERT_EQ(summary->latest_comments.size(), 1u) << "cm_2 was deleted";
  EXPECT_EQ(summary->latest_comments[0].comment_id, "cm_1");
  EXPECT_EQ(summary->latest_comments[0].text, "first");
  EXPECT_EQ(summary->latest_comments[0].thread_id, "th_1");
  ASSERT_EQ(summary->pending.size(), 1u);
  EXPECT_EQ(summary->pending[0].key, (TargetKey{TargetKind::kYdoc, "room-1", ""}));
  EXPECT_EQ(summary->pending[0].attempts, 0);
  auto other = store_->Summary("room-2");
  ASSERT_TRUE(other.has_value());
  EXPECT_FALSE(other->known);
  EXPECT_EQ(table("documents").rows, 1) << "room-1's summary is unchanged";
  for (const RoomTableSummary& t : other->tables) EXPECT_EQ(t.rows, 0) << t.table;
  EXPECT_TRUE(other->pending.empty());
}

TEST_P(SqlStoreTest, RetryNowMakesFailedTargetsDue) {
  ASSERT_TRUE(Recorded(Event("msg_1", {kStorage, kRoom})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 2u);
  for (const Claim& claim : claims)
    ASSERT_TRUE(store_->Fail(claim, "boom", clock_.NowMs() + 600'000).has_value());
  EXPECT_TRUE(ClaimAll().empty()) << "both wait for their retry";
  auto one = store_->RetryNow(kStorage);
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ(*one, 1);
  auto due = ClaimAll();
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].key, kStorage);
  ASSERT_TRUE(store_->Release(due[0]).has_value());
  clock_.Advance(1);  // MySQL counts the rows an UPDATE changes, not those it matches
  auto all = store_->RetryNow(std::nullopt);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(*all, 2) << "every failed target";
  EXPECT_EQ(ClaimAll().size(), 2u);
  // A target that is not pending is marked dirty.
  const TargetKey other{TargetKind::kYdoc, "room-9", ""};
  ASSERT_TRUE(store_->RetryNow(other).has_value());
  auto marked = ClaimAll();
  ASSERT_EQ(marked.size(), 1u);
  EXPECT_EQ(marked[0].key, other);
}

TEST_P(SqlStoreTest, StoredWebhooksAreListedByTimeTypeAndRoomInPages) {
  const int64_t t0 = clock_.NowMs();
  // msg_0 .. msg_5 a minute apart; rooms a/b alternate; msg_3 is a roomCreated.
  for (int i = 0; i < 6; ++i) {
    std::string room = i % 2 == 0 ? "room-a" : "room-b";
    InboxEvent event = Event(Cat("msg_", i), {{TargetKind::kStorage, room, ""}});
    event.received_at_ms = t0 + i * 60'000;
    if (i == 3) event.type = "roomCreated";
    ASSERT_TRUE(Recorded(event));
  }
  auto ids = [&](const EventFilter& filter) {
    auto events = store_->Events(filter);
    EXPECT_TRUE(events.has_value()) << events.error().ToString();
    std::vector<std::string> out;
    for (const StoredEvent& e : events ? *events : std::vector<StoredEvent>{}) {
      out.push_back(e.webhook_id);
    }
    return out;
  };
  EventFilter all;
  EXPECT_EQ(ids(all),
            (std::vector<std::string>{"msg_0", "msg_1", "msg_2", "msg_3", "msg_4", "msg_5"}));
  EventFilter range;
  range.since_ms = t0 + 60'000;
  range.until_ms = t0 + 4 * 60'000;  // msg_4 was received at the end: not in it
  EXPECT_EQ(ids(range), (std::vector<std::string>{"msg_1", "msg_2", "msg_3"}));
  EventFilter room = range;
  room.room_id = "room-b";
  EXPECT_EQ(ids(room), (std::vector<std::string>{"msg_1", "msg_3"}));
  EventFilter type;
  type.type = "roomCreated";
  EXPECT_EQ(ids(type), std::vector<std::string>{"msg_3"});
  // Two at a time, each page after the last one of the page before.
  EventFilter page;
  page.limit = 2;
  std::vector<std::string> paged;
  for (int i = 0; i < 4; ++i) {
    auto events = store_->Events(page);
    ASSERT_TRUE(events.has_value()) << events.error().ToString();
    for (const StoredEvent& e : *events) paged.push_back(e.webhook_id);
    if (events->size() < 2) break;
    page.after = std::make_pair(events->back().received_at, events->back().webhook_id);
  }
  EXPECT_EQ(paged, ids(all));
  EventFilter newest;
  newest.newest_first = true;
  newest.limit = 2;
  EXPECT_EQ(ids(newest), (std::vector<std::string>{"msg_5", "msg_4"}));
  newest.after = std::make_pair(FormatSqlTimestamp(t0 + 4 * 60'000), std::string("msg_4"));
  EXPECT_EQ(ids(newest), (std::vector<std::string>{"msg_3", "msg_2"}));
  // What a stored webhook holds, as received.
  auto one = store_->Events(type);
  ASSERT_TRUE(one.has_value() && one->size() == 1u);
  EXPECT_EQ((*one)[0].type, "roomCreated");
  EXPECT_EQ((*one)[0].room_id, "room-b");
  EXPECT_EQ((*one)[0].received_at, FormatSqlTimestamp(t0 + 3 * 60'000));
  ExpectSameJson((*one)[0].payload, std::string(kPayload), "the payload");
}

}  // namespace
}  // namespace lbmirror::store::sql
