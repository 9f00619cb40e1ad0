#include "sync/replay.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>

#include "core/text.h"
#include "fakes/fake_clock.h"
#include "fakes/temp_sqlite_store.h"
#include "sync/pass_kinds.h"
#include "sync/projection.h"

namespace lbmirror::sync {
namespace {

using store::TargetKey;
using store::TargetKind;

class ReplayTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.migrated()); }

  // A webhook stored at `at_ms` whose targets are not marked (as after they were all read).
  void Stored(const std::string& id, int64_t at_ms, const std::string& type,
              const std::string& room, const std::string& body) {
    payloads_.push_back(body);
    store::InboxEvent event;
    event.webhook_id = id;
    event.type = type;
    event.room_id = room;
    event.received_at_ms = at_ms;
    event.payload = payloads_.back();
    auto recorded = store_->Record(event);
    ASSERT_TRUE(recorded.has_value() && *recorded);
  }

  // The due targets, as a worker would claim them.
  std::vector<std::string> Dirty() {
    std::vector<store::TargetKind> kinds = SupportedKinds();
    kinds.insert(kinds.end(), PassKinds().begin(), PassKinds().end());
    auto claims = store_->ClaimDue("w", kinds, 100, 60'000);
    EXPECT_TRUE(claims.has_value());
    std::vector<std::string> out;
    for (const store::Claim& claim : claims ? *claims : std::vector<store::Claim>{}) {
      out.push_back(claim.key.ToString());
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  FakeClock clock_;
  std::deque<std::string> payloads_;
  TempSqliteStore store_{"replay", clock_};
};

std::string Storage(const std::string& room) {
  return R"({"type":"storageUpdated","data":{"roomId":")" + room + R"(","projectId":"p"}})";
}
constexpr const char* kStorage = "storageUpdated";

TEST_F(ReplayTest, ARangeMarksExactlyTheTargetsOfTheWebhooksInIt) {
  const int64_t t0 = clock_.NowMs();
  Stored("w1", t0, kStorage, "before", Storage("before"));
  Stored("w2", t0 + 60'000, kStorage, "inside", Storage("inside"));
  Stored(
      "w3", t0 + 61'000, "threadCreated", "inside",
      R"({"type":"threadCreated","data":{"roomId":"inside","threadId":"th_1","projectId":"p"}})");
  Stored("w4", t0 + 62'000, "somethingNew", "", R"({"type":"somethingNew","data":{}})");
  Stored("w5", t0 + 63'000, "unparsed", "", "not json");
  Stored("w6", t0 + 64'000, kStorage, "inside", Storage("inside"));  // the same target: once
  Stored("w7", t0 + 120'000, kStorage, "after", Storage("after"));
  ASSERT_TRUE(Dirty().empty());

  ReplayOptions options;
  options.since_ms = t0 + 60'000;
  options.until_ms = t0 + 120'000;
  auto counts = Replay(*store_.get(), *store_.get(), options);
  ASSERT_TRUE(counts.has_value()) << counts.error().ToString();
  EXPECT_EQ(counts->webhooks, 5);
  EXPECT_EQ(counts->targets, 3);  // a thread's webhook: the thread and its subscriptions
  EXPECT_EQ(counts->without_targets, 1);
  EXPECT_EQ(counts->unreadable, 1);
  EXPECT_EQ(Dirty(), (std::vector<std::string>{"storage:inside", "thread:inside:th_1",
                                               "thread_subs:inside:th_1"}));
}

TEST_F(ReplayTest, TypeAndRoomNarrowTheReplayAndManyPagesAreAllReplayed) {
  const int64_t t0 = clock_.NowMs();
  for (int i = 0; i < 1'200; ++i) {  // more than two pages
    std::string room = Cat("room-", i % 600);
    Stored(Cat("w", i), t0 + i, kStorage, room, Storage(room));
  }
  Stored("room", t0 + 5'000, "roomCreated", "room-7",
         R"({"type":"roomCreated","data":{"roomId":"room-7","projectId":"p"}})");
  ReplayOptions only_rooms;
  only_rooms.since_ms = t0;
  only_rooms.type = "roomCreated";
  auto rooms = Replay(*store_.get(), *store_.get(), only_rooms);
  ASSERT_TRUE(rooms.has_value());
  EXPECT_EQ(rooms->webhooks, 1);
  EXPECT_EQ(Dirty(), std::vector<std::string>{"room:room-7"});

  ReplayOptions one_room;
  one_room.since_ms = t0;
  one_room.room_id = "room-7";
  auto mine = Replay(*store_.get(), *store_.get(), one_room);
  ASSERT_TRUE(mine.has_value());
  EXPECT_EQ(mine->webhooks, 3);  // w7, w607 and the roomCreated
  EXPECT_EQ(mine->targets, 2);

  ReplayOptions all;
  all.since_ms = t0;
  auto counts = Replay(*store_.get(), *store_.get(), all);
  ASSERT_TRUE(counts.has_value());
  EXPECT_EQ(counts->webhooks, 1'201);
  EXPECT_EQ(counts->targets, 601);
}

}  // namespace
}  // namespace lbmirror::sync
