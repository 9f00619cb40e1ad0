// Recording webhooks (the group committer and the inbox's SQL): each stored once with its
// targets marked, redeliveries found in memory or in the database, concurrent recording, and
// the presence sessions written from the payloads.
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

TEST_P(SqlStoreTest, RecordsAnEventOnceAndMarksItsTargets) {
  EXPECT_TRUE(Recorded(Event("msg_1", {kStorage})));
  EXPECT_FALSE(Recorded(Event("msg_1", {kStorage})));
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}events"), "1");
  ExpectJson("SELECT payload FROM {p}events", std::string(kPayload));
  EXPECT_EQ(One("SELECT dirty_seq FROM {p}targets WHERE kind = 'storage'"), "1");
}

TEST_P(SqlStoreTest, WarmedUpRecordingConnectionsCommitWhatTheyRecord) {
  ASSERT_TRUE(store_->WarmUp().has_value());
  EXPECT_TRUE(Recorded(Event("msg_1", {kStorage})));
  // Seen from another connection: committed, although the recording connection runs with
  // autocommit off on MySQL.
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}events"), "1");
  EXPECT_EQ(One("SELECT dirty_seq FROM {p}targets"), "1");
  EXPECT_FALSE(Recorded(Event("msg_1", {kStorage})));
  EXPECT_TRUE(Recorded(Event("msg_2", {kStorage})));
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}events"), "2");
}

TEST_P(SqlStoreTest, ARedeliveryToAnotherReplicaIsFoundInTheDatabase) {
  auto replica = MakeStore(prefix_);
  EXPECT_TRUE(Recorded(Event("msg_1", {kStorage})));
  EXPECT_FALSE(*replica->Record(Event("msg_1", {kStorage})));
  EXPECT_FALSE(Recorded(Event("msg_1", {kStorage})));
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}events"), "1");
  EXPECT_EQ(One("SELECT dirty_seq FROM {p}targets"), "1") << "a redelivery marks nothing";
}

TEST_P(SqlStoreTest, AGroupMixingRedeliveriesAndNewWebhooksStoresTheNewOnes) {
  // Another replica recorded msg_1 and msg_3; these five arrive together here (recorded in
  // one group or several, as they come): the new ones are stored and mark their targets,
  // the redeliveries mark nothing.
  auto replica = MakeStore(prefix_);
  ASSERT_TRUE(*replica->Record(Event("msg_1", {{TargetKind::kStorage, "room-1", ""}})));
  ASSERT_TRUE(*replica->Record(Event("msg_3", {{TargetKind::kStorage, "room-3", ""}})));
  std::vector<std::string> ids = {"msg_1", "msg_2", "msg_3", "msg_4", "msg_2"};
  std::mutex mutex;
  std::condition_variable all_done;
  std::map<size_t, Result<bool>> outcomes;
  for (size_t i = 0; i < ids.size(); ++i) {
    std::string room = "room-" + ids[i].substr(4);
    store_->RecordAsync(Event(ids[i], {{TargetKind::kStorage, room, ""}}),
                        [&, i](const InboxEvent&, Result<bool> outcome) {
                          std::lock_guard lock(mutex);
                          outcomes.emplace(i, std::move(outcome));
                          all_done.notify_all();
                        });
  }
  std::unique_lock lock(mutex);
  ASSERT_TRUE(
      all_done.wait_for(lock, std::chrono::seconds(10), [&] { return outcomes.size() == 5; }));
  for (auto& [i, outcome] : outcomes)
    ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_FALSE(*outcomes.at(0));
  EXPECT_TRUE(*outcomes.at(1));
  EXPECT_FALSE(*outcomes.at(2));
  EXPECT_TRUE(*outcomes.at(3));
  EXPECT_FALSE(*outcomes.at(4)) << "the second copy of msg_2";
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}events"), "4");
  EXPECT_EQ(One("SELECT SUM(dirty_seq) FROM {p}targets"), "4") << "one mark per new webhook";
}

TEST_P(SqlStoreTest, StoresAnEventWithoutTargets) {
  InboxEvent event = Event("msg_u", {});
  event.type = "roomUpdated";
  EXPECT_TRUE(Recorded(event));
  EXPECT_EQ(One("SELECT type FROM {p}events"), "roomUpdated");
  EXPECT_EQ(One("SELECT room_id FROM {p}events"), "NULL");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}targets"), "0");
}

TEST_P(SqlStoreTest, ASecondCommitterRecordsOnlyWhileMoreThanOneGroupIsQueued) {
  // The first committer is held inside its insert while webhooks queue behind it; which
  // threads run inserts tells which committers recorded.
  std::mutex mutex;
  std::condition_variable changed;
  bool hold = true;
  int inserts = 0, done = 0;
  std::set<std::thread::id> recorders;
  const std::string insert = "INSERT INTO " + prefix_ + "events";
  auto store = MakeHookedStore([&](std::string_view sql, std::span<const SqlValue>) {
    if (sql.starts_with(insert)) {
      std::unique_lock lock(mutex);
      recorders.insert(std::this_thread::get_id());
      ++inserts;
      changed.notify_all();
      changed.wait(lock, [&] { return !hold; });
    }
    return std::optional<Error>();
  });
  int sent = 0;
  auto send = [&](int count) {
    for (int i = 0; i < count; ++i, ++sent) {
      store->RecordAsync(Event(Cat("msg_", sent), {}), [&](const InboxEvent&, Result<bool> stored) {
        EXPECT_TRUE(stored.has_value() && *stored);
        std::lock_guard lock(mutex);
        ++done;
        changed.notify_all();
      });
    }
  };
  auto hold_first_then_send = [&](int count) {
    send(1);
    {
      std::unique_lock lock(mutex);
      ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return inserts > 0; }));
    }
    send(count);
  };
  auto release_and_wait = [&] {
    std::unique_lock lock(mutex);
    hold = false;
    changed.notify_all();
    ASSERT_TRUE(changed.wait_for(lock, std::chrono::seconds(10), [&] { return done == sent; }));
    inserts = 0;
    hold = true;
  };

  // One group's worth queued behind the first: it waits for the first committer.
  hold_first_then_send(SqlStore::kMaxRecordBatch);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  {
    std::lock_guard lock(mutex);
    EXPECT_EQ(inserts, 1);
  }
  release_and_wait();
  EXPECT_EQ(recorders.size(), 1u);

  // More than one group queued: a second committer takes one (MySQL; SQLite has one writer).
  hold_first_then_send(SqlStore::kMaxRecordBatch + 10);
  const size_t expected = GetParam() != Dialect::kSqlite ? 2 : 1;
  {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, std::chrono::milliseconds(GetParam() != Dialect::kSqlite ? 10'000 : 200),
                     [&] { return recorders.size() == 2; });
    EXPECT_EQ(recorders.size(), expected);
  }
  release_and_wait();
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}events"), std::to_string(sent));
}

TEST_P(SqlStoreTest, ManyThreadsRecordConcurrentlyWithoutLosingEvents) {
  std::vector<std::thread> threads;
  std::atomic<int> stored{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        InboxEvent event =
            Event(Cat("msg_", t) + Cat("_", i), {{TargetKind::kStorage, Cat("room-", i % 5), ""}});
        auto r = store_->Record(event);
        if (r && *r) ++stored;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(stored.load(), 100);
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}events"), "100");
  // Webhooks recorded in one group commit mark a target once: each of the 5 targets is dirty,
  // marked between once and once per webhook (20).
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}targets WHERE dirty_seq > done_seq AND dirty_seq >= 1"
                " AND dirty_seq <= 20"),
            "5");
}

TEST_P(SqlStoreTest, ConcurrentRedeliveriesAreStoredExactlyOnce) {
  // Eight threads deliver the same 40 webhooks (each in a different order) to two replicas,
  // as Liveblocks redelivering while the first delivery is still being recorded: every
  // webhook is stored once, answered "new" exactly once, and its session change applied.
  // (A replica answers its own recent webhooks from memory; the other's are found in the
  // database.)
  auto replica = MakeStore(prefix_);
  std::vector<std::thread> threads;
  std::atomic<int> stored{0}, failed{0};
  for (int t = 0; t < 8; ++t) {
    SqlStore* store = t % 2 == 0 ? store_.get() : replica.get();
    threads.emplace_back([&, t, store] {
      for (int k = 0; k < 40; ++k) {
        int i = (k * 7 + t * 5) % 40;
        InboxEvent event = Event(Cat("msg_", i), {{TargetKind::kStorage, Cat("room-", i % 4), ""}});
        event.session = SessionChange{true, "room-s", 1000 + i, "user", "", 1'700'000'000'000};
        auto r = store->Record(event);
        if (!r) ++failed;
        if (r && *r) ++stored;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(stored.load(), 40);
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}events"), "40");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}room_sessions WHERE room_id = 'room-s'"), "40");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}targets WHERE dirty_seq > done_seq"), "4");
}

TEST_P(SqlStoreTest, SessionsSurviveALeaveBeforeItsEnterAndASecondLeave) {
  auto presence = [&](const std::string& id, bool entered, int64_t connection, int64_t at) {
    InboxEvent event = Event(id, {{TargetKind::kPresence, "room-1", ""}});
    event.type = entered ? "userEntered" : "userLeft";
    event.session = SessionChange{entered, "room-1", connection, "alice", R"({"name":"A"})", at};
    ASSERT_TRUE(Recorded(event));
  };
  const int64_t t0 = 1'767'225'600'000;
  presence("e1", true, 1, t0);
  presence("l1", false, 1, t0 + 60'000);
  presence("l1-again", false, 1, t0 + 60'000);
  presence("l2", false, 2, t0 + 90'000);  // arrives before its enter
  presence("e2", true, 2, t0 + 30'000);
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}room_sessions"), "2");
  EXPECT_EQ(One("SELECT left_at FROM {p}room_sessions WHERE connection_id = 1"),
            "2026-01-01 00:01:00.000");
  EXPECT_EQ(One("SELECT entered_at FROM {p}room_sessions WHERE connection_id = 2"),
            "2026-01-01 00:00:30.000");
  EXPECT_EQ(One("SELECT left_at FROM {p}room_sessions WHERE connection_id = 2"),
            "2026-01-01 00:01:30.000");
  EXPECT_EQ(One("SELECT MIN(entered_known) FROM {p}room_sessions"), "1");
}

}  // namespace
}  // namespace lbmirror::store::sql
