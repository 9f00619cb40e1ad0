// The same suite on SQLite (always) and MySQL/MariaDB (when LBMIRROR_TEST_MYSQL_URL names a
// server; the README's test command starts one). Each test uses its own table prefix or file
// (sql_store_fixture.h).
#include "store/sql/sql_store.h"

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

TEST_P(SqlStoreTest, MigrateIsIdempotentAndRecordsTheVersion) {
  ASSERT_TRUE(store_->Migrate().has_value());
  ASSERT_TRUE(store_->Migrate().has_value());
  EXPECT_EQ(*store_->SchemaVersion(), LatestSchemaVersion());
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}schema_migrations"),
            std::to_string(LatestSchemaVersion()));
}

TEST_P(SqlStoreTest, KeepsAndExtendsATableCreatedFromTheGuide) {
  std::string other = prefix_ + "g_";
  std::string ddl = GetParam() == Dialect::kMysql
                        ? "CREATE TABLE " + other +
                              "documents (room_id varchar(255) primary key,"
                              " data json not null, updated_at timestamp not null default"
                              " current_timestamp on update current_timestamp)"
                        : "CREATE TABLE " + other +
                              "documents (room_id varchar(255) primary key,"
                              " data json not null, updated_at timestamp not null default"
                              " current_timestamp)";
  Exec(ddl);
  Exec("INSERT INTO " + other + "documents (room_id, data) VALUES ('old-room', '{\"a\":1}')");
  auto store = MakeStore(other);
  Status migrated = store->Migrate();
  ASSERT_TRUE(migrated.has_value()) << migrated.error().ToString();
  std::string saved = prefix_;
  prefix_ = other;
  EXPECT_EQ(One("SELECT data FROM {p}documents WHERE room_id = 'old-room'"), "{\"a\":1}");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}documents WHERE synced_at IS NULL AND deleted_at IS NULL"),
            "1");
  prefix_ = saved;
}

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

TEST_P(SqlStoreTest, ClaimCompleteClearsTheTarget) {
  ASSERT_TRUE(Recorded(Event("msg_1", {kStorage})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].key, kStorage);
  EXPECT_EQ(claims[0].attempts, 1);
  EXPECT_TRUE(ClaimAll("w2").empty()) << "a leased target must not be claimed twice";
  RowWrite write = DocumentRow{"room-1", R"({"title":"Hello"})"};
  EXPECT_TRUE(*store_->Complete(claims[0], std::span(&write, 1), {}));
  EXPECT_TRUE(ClaimAll().empty());
  ExpectJson("SELECT data FROM {p}documents WHERE room_id = 'room-1'", R"({"title":"Hello"})");
  std::optional<int64_t> next_due = 0;
  ASSERT_TRUE(store_->ClaimDue("w1", kAllKinds, 10, 60'000, &next_due)->empty());
  EXPECT_FALSE(next_due.has_value()) << "nothing pending";
}

TEST_P(SqlStoreTest, EventsDuringARead_CoalesceIntoOneMoreRead) {
  ASSERT_TRUE(Recorded(Event("msg_1", {kStorage})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  for (int i = 2; i <= 20; ++i) ASSERT_TRUE(Recorded(Event(Cat("msg_", i), {kStorage})));
  ASSERT_TRUE(*store_->Complete(claims[0], {}, {}));
  auto again = ClaimAll();
  ASSERT_EQ(again.size(), 1u) << "dirtied while read: read once more";
  EXPECT_EQ(again[0].dirty_seq, 20);
  ASSERT_TRUE(*store_->Complete(again[0], {}, {}));
  EXPECT_TRUE(ClaimAll().empty());
}

TEST_P(SqlStoreTest, WebhooksOfABurstPostponeTheReadUntilTheyPause) {
  store_.reset();
  store_ = MakeStore(prefix_, 100);
  auto due = [&] { return std::stoll(One("SELECT next_attempt_at FROM {p}targets")); };
  const int64_t t0 = clock_.NowMs();
  ASSERT_TRUE(Recorded(Event("msg_1", {kStorage})));
  EXPECT_EQ(due(), t0 + 100);
  clock_.Advance(60);
  ASSERT_TRUE(Recorded(Event("msg_2", {kStorage})));
  EXPECT_EQ(due(), t0 + 160) << "postponed to 100 ms after the last webhook";
  std::optional<int64_t> next_due;
  auto none = store_->ClaimDue("w1", kAllKinds, 10, 60'000, &next_due);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  EXPECT_EQ(next_due, t0 + 160) << "an empty claim tells when to look again";
  for (int i = 3; i <= 10; ++i) {
    clock_.Advance(60);  // the last at t0 + 540
    ASSERT_TRUE(Recorded(Event(Cat("msg_", i), {kStorage})));
  }
  EXPECT_EQ(due(), t0 + 500) << "never later than 5 times the delay after the first webhook";
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);

  // Dirtied during the read: due again 100 ms after the read, the wait counted from then.
  clock_.Advance(10);
  ASSERT_TRUE(Recorded(Event("msg_21", {kStorage})));
  const int64_t t1 = clock_.NowMs();
  ASSERT_TRUE(*store_->Complete(claims[0], {}, {}));
  EXPECT_EQ(due(), t1 + 100);
  for (int i = 22; i <= 30; ++i) {
    clock_.Advance(60);
    ASSERT_TRUE(Recorded(Event(Cat("msg_", i), {kStorage})));
  }
  EXPECT_EQ(due(), t1 + 500);

  // A target in a retry backoff keeps its schedule.
  claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  ASSERT_TRUE(store_->Fail(claims[0], "unavailable: 500", clock_.NowMs() + 5'000).has_value());
  const int64_t retry_at = clock_.NowMs() + 5'000;
  ASSERT_TRUE(Recorded(Event("msg_31", {kStorage})));
  EXPECT_EQ(due(), retry_at);
}

TEST_P(SqlStoreTest, AClaimTellsWhenTheNextTargetItDidNotTakeIsDue) {
  store_.reset();
  store_ = MakeStore(prefix_, 100);
  const int64_t t0 = clock_.NowMs();
  for (const char* room : {"r1", "r2", "r3"}) {
    ASSERT_TRUE(Recorded(Event(std::string("msg_") + room, {{TargetKind::kStorage, room, ""}})));
  }
  clock_.Advance(50);
  ASSERT_TRUE(Recorded(Event("msg_r4", {{TargetKind::kStorage, "r4", ""}})));  // due t0 + 150
  clock_.Advance(50);
  std::optional<int64_t> next_due;
  auto claims = store_->ClaimDue("w1", kAllKinds, 2, 60'000, &next_due);
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->size(), 2u);
  EXPECT_EQ(next_due, clock_.NowMs()) << "one more is due now";
  claims = store_->ClaimDue("w1", kAllKinds, 2, 60'000, &next_due);
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->size(), 1u);
  EXPECT_EQ(next_due, t0 + 150) << "the rest is due later";
  clock_.Advance(50);
  claims = store_->ClaimDue("w1", kAllKinds, 2, 60'000, &next_due);
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->size(), 1u);
  EXPECT_EQ(next_due, std::nullopt) << "nothing else is pending";
}

TEST_P(SqlStoreTest, AWorkerWhoseLeaseWasTakenOverWritesNothing) {
  ASSERT_TRUE(Recorded(Event("msg_1", {kStorage})));
  auto first = ClaimAll("slow", 1'000);
  ASSERT_EQ(first.size(), 1u);
  clock_.Advance(1'001);
  auto second = ClaimAll("fast");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_GT(second[0].fence, first[0].fence);
  RowWrite newer = DocumentRow{"room-1", R"({"v":2})"};
  ASSERT_TRUE(*store_->Complete(second[0], std::span(&newer, 1), {}));
  RowWrite stale = DocumentRow{"room-1", R"({"v":1})"};
  Result<bool> late = store_->Complete(first[0], std::span(&stale, 1), {});
  ASSERT_TRUE(late.has_value());
  EXPECT_FALSE(*late);
  ExpectJson("SELECT data FROM {p}documents", R"({"v":2})");
  // Its failure report is ignored too: the fencing token no longer matches.
  ASSERT_TRUE(store_->Fail(first[0], "late", 0).has_value());
  EXPECT_EQ(One("SELECT last_error FROM {p}targets"), "NULL");
}

TEST_P(SqlStoreTest, ARenewedLeaseIsNotTakenOverAndALostOneCannotBeRenewed) {
  ASSERT_TRUE(Recorded(Event("msg_1", {kStorage})));
  auto first = ClaimAll("slow", 1'000);
  ASSERT_EQ(first.size(), 1u);
  for (int i = 0; i < 5; ++i) {  // a long read keeps its lease by renewing it
    clock_.Advance(600);
    ASSERT_TRUE(*store_->Renew(first[0], 1'000));
    EXPECT_TRUE(ClaimAll("other").empty()) << "renewed at step " << i;
  }
  clock_.Advance(1'001);  // the holder stopped renewing (it crashed): taken over
  auto second = ClaimAll("other");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_FALSE(*store_->Renew(first[0], 1'000)) << "the old holder learns it lost the target";
  ASSERT_TRUE(*store_->Complete(second[0], {}, {}));
  EXPECT_FALSE(*store_->Renew(second[0], 1'000)) << "a completed claim holds nothing";
}

TEST_P(SqlStoreTest, AFailedTargetWaitsForItsRetryTimeAndKeepsTheError) {
  ASSERT_TRUE(Recorded(Event("msg_1", {kStorage})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  ASSERT_TRUE(store_->Fail(claims[0], "unavailable: HTTP 500", clock_.NowMs() + 5'000).has_value());
  EXPECT_EQ(One("SELECT last_error FROM {p}targets"), "unavailable: HTTP 500");
  EXPECT_TRUE(ClaimAll().empty());
  EXPECT_EQ(One("SELECT next_attempt_at FROM {p}targets"), std::to_string(clock_.NowMs() + 5'000));
  // A new event does not cut the backoff short.
  ASSERT_TRUE(Recorded(Event("msg_2", {kStorage})));
  EXPECT_TRUE(ClaimAll().empty());
  clock_.Advance(5'000);
  auto retry = ClaimAll();
  ASSERT_EQ(retry.size(), 1u);
  EXPECT_EQ(retry[0].attempts, 2);
  ASSERT_TRUE(*store_->Complete(retry[0], {}, {}));
  EXPECT_EQ(One("SELECT last_error FROM {p}targets"), "NULL");
  EXPECT_EQ(One("SELECT attempts FROM {p}targets"), "0");
}

TEST_P(SqlStoreTest, AReleasedTargetIsDueAgainWithoutCountingTheAttempt) {
  ASSERT_TRUE(Recorded(Event("msg_1", {kStorage})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  ASSERT_TRUE(store_->Release(claims[0]).has_value());
  auto again = ClaimAll();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 1);
}

TEST_P(SqlStoreTest, RoomGoneSoftDeletesTheRoomAndItsDocuments) {
  ASSERT_TRUE(Recorded(Event("msg_1", {kRoom})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  RowWrite writes[] = {RoomRow{"room-1", "org", R"({"k":"v"})", R"(["room:write"])", "{}", "{}",
                               "2026-01-01 00:00:00.000", std::nullopt},
                       DocumentRow{"room-1", R"({"a":1})"},
                       YdocRow{"room-1", R"({"t":"x"})", "x", {}}};
  ASSERT_TRUE(*store_->Complete(claims[0], writes, {}));
  ExpectJson("SELECT metadata FROM {p}rooms", R"({"k":"v"})");
  EXPECT_EQ(One("SELECT created_at FROM {p}rooms"), "2026-01-01 00:00:00.000");
  ASSERT_TRUE(Recorded(Event("msg_2", {kRoom})));
  auto gone = ClaimAll();
  ASSERT_EQ(gone.size(), 1u);
  RowWrite room_gone = RoomGone{"room-1"};
  ASSERT_TRUE(*store_->Complete(gone[0], std::span(&room_gone, 1), {}));
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}rooms WHERE deleted_at IS NOT NULL"), "1");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}documents WHERE deleted_at IS NOT NULL"), "1");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}ydocs WHERE deleted_at IS NOT NULL"), "1");
}

TEST_P(SqlStoreTest, CompletionCanMarkOtherTargetsDirty) {
  ASSERT_TRUE(Recorded(Event("msg_1", {kStorage})));
  auto claims = ClaimAll();
  RowWrite gone = DocumentGone{"room-1"};
  ASSERT_TRUE(*store_->Complete(claims[0], std::span(&gone, 1), std::span(&kRoom, 1)));
  auto next = ClaimAll();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].key, kRoom);
}

TEST_P(SqlStoreTest, KeepsUnicodeIdsAndTextIntact) {
  const std::string room = "café-🎉-房间-שלום";
  TargetKey key{TargetKind::kYdoc, room, ""};
  ASSERT_TRUE(Recorded(Event("msg_ü", {key})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].key.scope_id, room);
  RowWrite write = YdocRow{room, R"({"t":"👍 日本語 עברית"})", "👍 日本語 עברית", {}};
  ASSERT_TRUE(*store_->Complete(claims[0], std::span(&write, 1), {}));
  EXPECT_EQ(One("SELECT text FROM {p}ydocs"), "👍 日本語 עברית");
  EXPECT_EQ(One("SELECT room_id FROM {p}ydocs"), room);
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

// Marks a target, claims it and completes it with `writes` (as a worker would).
#define COMPLETE_WITH(store, ...)                                               \
  do {                                                                          \
    ASSERT_TRUE(*(store)->Record(Event(Cat("msg_w", ++writes_seq_), {kRoom}))); \
    auto claims_ = (store)->ClaimDue("w", kAllKinds, 10, 60'000);               \
    ASSERT_TRUE(claims_.has_value() && claims_->size() == 1u);                  \
    std::vector<RowWrite> writes_ = {__VA_ARGS__};                              \
    auto done_ = (store)->Complete((*claims_)[0], writes_, {});                 \
    ASSERT_TRUE(done_.has_value()) << done_.error().ToString();                 \
    ASSERT_TRUE(*done_);                                                        \
  } while (0)

ThreadSnapshot Thread(std::vector<std::pair<std::string, std::string>> comments,
                      std::vector<std::tuple<std::string, std::string, std::string>> reactions,
                      bool resolved = false) {
  ThreadSnapshot snapshot;
  snapshot.thread = {"th_1",
                     "room-1",
                     R"({"status":"open"})",
                     resolved,
                     "public",
                     "2026-01-01 10:00:00.000",
                     "2026-01-01 10:05:00.000"};
  for (auto& [id, text] : comments) {
    CommentRow c;
    c.comment_id = id;
    c.thread_id = "th_1";
    c.room_id = "room-1";
    c.user_id = "alice";
    c.body = R"({"version":1,"content":[]})";
    c.body_text = text;
    c.metadata = "{}";
    c.attachments = "[]";
    c.created_at = "2026-01-01 10:00:00.000";
    snapshot.comments.push_back(c);
  }
  for (auto& [comment, emoji, user] : reactions) {
    snapshot.reactions.push_back(
        {comment, emoji, user, "th_1", "room-1", "2026-01-01 10:02:00.000"});
  }
  return snapshot;
}

TEST_P(SqlStoreTest, WorkersClaimingInGroupsConcurrentlyNeverShareATarget) {
  for (int i = 0; i < 60; ++i) {
    std::string room = Cat("room-", i);
    ASSERT_TRUE(Recorded(Event("msg_" + room, {{TargetKind::kStorage, room, ""}})));
  }
  std::mutex mutex;
  std::map<std::string, int> claimed;
  std::atomic<int> errors{0};
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (;;) {
        auto claims = store_->ClaimDue(Cat("w", w), kAllKinds, 3, 60'000);
        if (!claims) {
          ++errors;
          return;
        }
        if (claims->empty()) return;
        {
          std::lock_guard lock(mutex);
          for (const Claim& claim : *claims) ++claimed[claim.key.scope_id];
        }
        std::vector<Completion> completions;
        for (const Claim& claim : *claims) completions.push_back({claim, {}, {}});
        auto done = store_->CompleteAll(completions);
        if (!done ||
            std::count(done->begin(), done->end(), true) != static_cast<long>(claims->size())) {
          ++errors;
        }
      }
    });
  }
  for (auto& worker : workers) worker.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(claimed.size(), 60u);
  for (const auto& [room, times] : claimed) EXPECT_EQ(times, 1) << room;
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}targets WHERE dirty_seq > done_seq"), "0");
}

// A claim whose first group loses one target to another worker, then fails (a deadlock, say)
// on its second group, or while reading which of the first it won.
class ClaimFailingPartWay {
 public:
  // `exec` runs a statement on a connection of its own ({p}: the table prefix).
  ClaimFailingPartWay(std::function<void(std::string)> exec, std::string prefix, bool fail_reading)
      : exec_(std::move(exec)), prefix_(std::move(prefix)), fail_reading_(fail_reading) {}

  std::optional<Error> operator()(std::string_view sql, std::span<const SqlValue> params) {
    if (sql.starts_with("UPDATE " + prefix_ + "targets SET fence = fence + 1, lease_owner")) {
      if (++claims_ == 1) {
        // Another worker takes the group's first candidate just before this statement.
        std::string kind(std::get<std::string_view>(params[3]));
        std::string room(std::get<std::string_view>(params[4]));
        taken_ = room;
        exec_(
            "UPDATE {p}targets SET fence = fence + 1, lease_owner = 'other',"
            " lease_until = 9000000000000 WHERE kind = '" +
            kind + "' AND scope_id = '" + room + "'");
        return std::nullopt;
      }
      if (!fail_reading_) return Error(ErrorCode::kUnavailable, "deadlock (injected)", true);
    }
    if (fail_reading_ && sql.starts_with("SELECT kind, scope_id, object_id FROM " + prefix_ +
                                         "targets WHERE lease_owner")) {
      return Error(ErrorCode::kUnavailable, "connection lost (injected)", true);
    }
    return std::nullopt;
  }
  std::string taken() const { return taken_; }

 private:
  std::function<void(std::string)> exec_;
  std::string prefix_;
  bool fail_reading_;
  int claims_ = 0;
  std::string taken_;
};

TEST_P(SqlStoreTest, AClaimFailingPartWayReturnsWhatItClaimedAndLeavesNothingLeasedByNobody) {
  if (GetParam() == Dialect::kPostgres) GTEST_SKIP() << "Postgres claims in one statement";
  auto hook = std::make_shared<ClaimFailingPartWay>(
      [this](std::string sql) { Exec(std::move(sql)); }, prefix_, /*fail_reading=*/false);
  auto claims =
      RecordEightAndClaimFour([hook](std::string_view sql, std::span<const SqlValue> params) {
        return (*hook)(sql, params);
      });
  ASSERT_TRUE(claims.has_value()) << claims.error().ToString();
  EXPECT_EQ(claims->size(), 3u) << "the first group, less the target another worker took";
  std::set<std::string> returned;
  for (const Claim& claim : *claims) returned.insert(claim.key.scope_id);
  std::set<std::string> leased;
  for (const SqlRow& row : Rows("SELECT scope_id FROM {p}targets WHERE lease_owner = 'w1'")) {
    leased.insert(*row[0]);
  }
  EXPECT_EQ(leased, returned) << "every target leased by w1 is one it was given";
  EXPECT_FALSE(returned.contains(hook->taken()));
}

TEST_P(SqlStoreTest, AClaimThatCannotTellWhichTargetsItWonGivesThemBack) {
  if (GetParam() == Dialect::kPostgres) GTEST_SKIP() << "Postgres claims in one statement";
  auto hook = std::make_shared<ClaimFailingPartWay>(
      [this](std::string sql) { Exec(std::move(sql)); }, prefix_, /*fail_reading=*/true);
  auto claims =
      RecordEightAndClaimFour([hook](std::string_view sql, std::span<const SqlValue> params) {
        return (*hook)(sql, params);
      });
  EXPECT_FALSE(claims.has_value()) << "nothing was claimed before";
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}targets WHERE lease_owner = 'w1'"), "0");
  EXPECT_EQ(One("SELECT MAX(attempts) FROM {p}targets WHERE lease_owner = ''"), "0");
  // The seven not taken by the other worker are due again at once.
  auto again = ClaimAll("w2");
  EXPECT_EQ(again.size(), 7u);
}

TEST_P(SqlStoreTest, OnPostgresAClaimSkipsTargetsAnotherTransactionIsClaiming) {
  if (GetParam() != Dialect::kPostgres)
    GTEST_SKIP() << "FOR UPDATE SKIP LOCKED is Postgres's claim";
  for (const char* room : {"r1", "r2", "r3"}) {
    ASSERT_TRUE(Recorded(Event(std::string("msg_") + room, {{TargetKind::kStorage, room, ""}})));
  }
  // Another worker's claim, in flight: r1's row locked by a transaction of its own.
  auto other = factory_();
  ASSERT_TRUE(other.has_value());
  ASSERT_TRUE((*other)->Begin().has_value());
  ASSERT_TRUE((*other)
                  ->Query(sql::RenderSql("SELECT scope_id FROM {p}targets WHERE scope_id = 'r1'"
                                         " FOR UPDATE",
                                         GetParam(), prefix_),
                          {})
                  .has_value());
  std::optional<int64_t> next_due;
  auto claiming = std::async(
      std::launch::async, [&] { return store_->ClaimDue("w1", kAllKinds, 10, 60'000, &next_due); });
  const bool waited = claiming.wait_for(std::chrono::seconds(10)) != std::future_status::ready;
  EXPECT_FALSE(waited) << "the claim waited for the other transaction's lock";
  auto claims = claiming.get();  // (after the rollback below, had it waited)
  ASSERT_TRUE((*other)->Rollback().has_value());
  if (waited) return;
  ASSERT_TRUE(claims.has_value()) << claims.error().ToString();
  std::set<std::string> rooms;
  for (const Claim& claim : *claims) rooms.insert(claim.key.scope_id);
  EXPECT_EQ(rooms, (std::set<std::string>{"r2", "r3"}));
  EXPECT_EQ(next_due, clock_.NowMs()) << "r1 is due: once the other claim is over, or now";
  for (const Claim& claim : *claims) {
    EXPECT_EQ(claim.attempts, 1);
    EXPECT_TRUE(store_->Release(claim).has_value());
  }
  auto again = ClaimAll("w2");
  EXPECT_EQ(again.size(), 3u) << "r1, unlocked, and the two released";
}

TEST_P(SqlStoreTest, RecordingAndCompletingLockTargetRowsInPrimaryKeyOrder) {
  // Kinds whose names sort otherwise than their enum: rows locked in the table's key order
  // by every statement cannot deadlock with each other.
  const TargetKey room{TargetKind::kRoom, "r1", ""};
  const TargetKey presence{TargetKind::kPresence, "r1", ""};
  const TargetKey notification{TargetKind::kNotification, "u1", "n1"};
  const TargetKind kinds[] = {TargetKind::kRoom, TargetKind::kPresence, TargetKind::kNotification};
  std::mutex mutex;
  std::vector<std::string> marked, completed;  // "kind scope", in statement order
  std::string prefix = prefix_;
  auto store = MakeHookedStore(
      [&, prefix](std::string_view sql, std::span<const SqlValue> params) -> std::optional<Error> {
        auto text = [&](size_t i) { return std::string(std::get<std::string_view>(params[i])); };
        std::lock_guard lock(mutex);
        if (sql.starts_with("INSERT INTO " + prefix + "targets")) {
          for (size_t i = 0; i + 4 < params.size(); i += 5)
            marked.push_back(text(i) + " " + text(i + 1));
        } else if (sql.starts_with("UPDATE " + prefix + "targets SET done_seq")) {
          completed.push_back(text(7) + " " + text(8));
        }
        return std::nullopt;
      });
  ASSERT_TRUE(*store->Record(Event("msg_1", {room, presence, notification})));
  const std::vector<std::string> key_order = {"notification u1", "presence r1", "room r1"};
  EXPECT_EQ(marked, key_order);
  auto claims = store->ClaimDue("w1", kinds, 3, 60'000);
  ASSERT_TRUE(claims.has_value() && claims->size() == 3u);
  std::vector<Completion> completions;
  for (const TargetKey& key : {room, presence, notification}) {
    for (const Claim& claim : *claims) {
      if (claim.key == key) completions.push_back({claim, {}, {}});
    }
  }
  auto done = store->CompleteAll(completions);
  ASSERT_TRUE(done.has_value());
  EXPECT_EQ(*done, std::vector<bool>({true, true, true})) << "answers in the order asked";
  EXPECT_EQ(completed, key_order);
}

TEST_P(SqlStoreTest, AThreadSnapshotReconcilesCommentsAndReactions) {
  COMPLETE_WITH(store_, Thread({{"cm_1", "first"}, {"cm_2", "second"}},
                               {{"cm_1", "👍", "bob"}, {"cm_1", "🎉", "carol"}}));
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}comments WHERE deleted_at IS NULL"), "2");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}comment_reactions"), "2");
  COMPLETE_WITH(store_, Thread({{"cm_1", "first, edited"}}, {{"cm_1", "🎉", "carol"}}, true));
  EXPECT_EQ(One("SELECT body_text FROM {p}comments WHERE comment_id = 'cm_1'"), "first, edited");
  EXPECT_NE(One("SELECT deleted_at FROM {p}comments WHERE comment_id = 'cm_2'"), "NULL");
  EXPECT_EQ(One("SELECT emoji FROM {p}comment_reactions"), "🎉");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}comment_reactions"), "1");
  EXPECT_EQ(One("SELECT resolved FROM {p}threads"), "1");
  COMPLETE_WITH(store_, ThreadGone{"room-1", "th_1"});
  EXPECT_NE(One("SELECT deleted_at FROM {p}threads"), "NULL");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}comments WHERE deleted_at IS NULL"), "0");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}comment_reactions"), "0");
}

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
  EXPECT_EQ(summary->tables.size(), 8u);
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

TEST_P(SqlStoreTest, HardDeletesRemoveRowsInsteadOfMarkingThem) {
  auto hard = [&] {
    SqlStoreOptions o;
    o.table_prefix = prefix_;
    o.pool_size = GetParam() == Dialect::kSqlite ? 1 : 4;
    o.hard_deletes = true;
    return std::make_unique<SqlStore>(GetParam(), factory_, o, clock_);
  }();
  store_.reset();
  COMPLETE_WITH(hard, Thread({{"cm_1", "one"}, {"cm_2", "two"}}, {}));
  COMPLETE_WITH(hard, Thread({{"cm_1", "one"}}, {}));
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}comments"), "1");
  COMPLETE_WITH(hard, RoomRow{"room-1", "", "{}", "[]", "{}", "{}", std::nullopt, std::nullopt},
                DocumentRow{"room-1", "{}"});
  COMPLETE_WITH(hard, RoomGone{"room-1"});
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}rooms"), "0");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}documents"), "0");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}threads"), "0");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}comments"), "0");
}

TEST_P(SqlStoreTest, ActiveUsersReplaceTheRoomsSetAndCount) {
  COMPLETE_WITH(store_, RoomRow{"room-1", "", "{}", "[]", "{}", "{}", std::nullopt, std::nullopt});
  COMPLETE_WITH(store_, ActiveUsersSnapshot{"room-1",
                                            {{2, "alice", R"({"name":"Alice"})"},
                                             {3, std::nullopt, std::nullopt}}});
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}active_users"), "2");
  EXPECT_EQ(One("SELECT active_users FROM {p}rooms"), "2");
  COMPLETE_WITH(store_, ActiveUsersSnapshot{"room-1", {{5, "bob", std::nullopt}}});
  EXPECT_EQ(One("SELECT connection_id FROM {p}active_users"), "5");
  EXPECT_EQ(One("SELECT active_users FROM {p}rooms"), "1");
}

TEST_P(SqlStoreTest, AFlowSnapshotReplacesItsNodesAndEdges) {
  FlowSnapshot flow{"room-1", "flow", {}, {}};
  flow.nodes.push_back({"n1", "input", 1.5, -2.0, R"({"label":"A"})", R"({"id":"n1"})"});
  flow.nodes.push_back(
      {"n2", std::nullopt, std::nullopt, std::nullopt, std::nullopt, R"({"id":"n2"})"});
  flow.edges.push_back({"e1", "n1", "n2", std::nullopt, std::nullopt, R"({"id":"e1"})"});
  COMPLETE_WITH(store_, flow);
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}flow_nodes"), "2");
  EXPECT_EQ(One("SELECT position_y FROM {p}flow_nodes WHERE node_id = 'n1'"),
            GetParam() == Dialect::kSqlite ? "-2.0" : "-2");
  flow.nodes.pop_back();
  flow.edges.clear();
  COMPLETE_WITH(store_, flow);
  EXPECT_EQ(One("SELECT node_id FROM {p}flow_nodes"), "n1");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}flow_edges"), "0");
}

TEST_P(SqlStoreTest, CompleteAllWritesSeveralTargetsAndSkipsOneWhoseLeaseWasLost) {
  // Three storage targets claimed at once; room-a's diagram is large (statements of at most
  // 64 rows), room-b's document has none, room-c's lease was taken over (its fence moved).
  for (const char* room : {"room-a", "room-b", "room-c"}) {
    ASSERT_TRUE(Recorded(Event(std::string("msg_") + room, {{TargetKind::kStorage, room, ""}})));
  }
  auto claims = store_->ClaimDue("w1", kAllKinds, 3, 60'000);
  ASSERT_TRUE(claims.has_value());
  ASSERT_EQ(claims->size(), 3u);
  std::sort(claims->begin(), claims->end(),
            [](const Claim& a, const Claim& b) { return a.key.scope_id < b.key.scope_id; });
  EXPECT_TRUE(ClaimAll("w2").empty()) << "claimed targets are leased";
  FlowSnapshot diagram{"room-a", "flow", {}, {}};
  for (int i = 0; i < 150; ++i) {
    diagram.nodes.push_back({Cat("n", i), std::nullopt, double(i), 0.0, std::nullopt, "{}"});
  }
  for (int i = 0; i < 70; ++i) {
    diagram.edges.push_back({Cat("e", i), "n0", "n1", std::nullopt, std::nullopt, "{}"});
  }
  Claim lost = (*claims)[2];
  lost.fence -= 1;
  std::vector<Completion> completions = {
      {(*claims)[0], {DocumentRow{"room-a", R"({"flow":{}})"}, diagram}, {}},
      {(*claims)[1], {DocumentRow{"room-b", "{}"}, FlowSnapshot{"room-b", "flow", {}, {}}}, {}},
      {lost, {DocumentRow{"room-c", "{}"}}, {}}};
  auto done = store_->CompleteAll(completions);
  ASSERT_TRUE(done.has_value()) << done.error().ToString();
  EXPECT_EQ(*done, (std::vector<bool>{true, true, false}));
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}documents WHERE room_id IN ('room-a', 'room-b')"), "2");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}documents WHERE room_id = 'room-c'"), "0")
      << "nothing written for a lost lease";
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}flow_nodes WHERE room_id = 'room-a'"), "150");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}flow_edges WHERE room_id = 'room-a'"), "70");
  EXPECT_EQ(One("SELECT MAX(position_x) FROM {p}flow_nodes"),
            GetParam() == Dialect::kSqlite ? "149.0" : "149");

  // The diagram goes away (nodes first, then edges): its rows go too.
  diagram.nodes.clear();
  COMPLETE_WITH(store_, diagram);
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}flow_nodes"), "0");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}flow_edges"), "70");
  COMPLETE_WITH(store_, (FlowSnapshot{"room-a", "flow", {}, {}}));
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}flow_edges"), "0");
}

TEST_P(SqlStoreTest, TheStorageDocumentsOfABatchAreWrittenByOneStatementEachToItsRoom) {
  int document_statements = 0;
  const std::string upsert = "INSERT INTO " + prefix_ + "documents";
  auto store = MakeHookedStore([&](std::string_view sql, std::span<const SqlValue>) {
    if (sql.starts_with(upsert)) ++document_statements;
    return std::optional<Error>();
  });
  const char* rooms[] = {"room-a", "room-b", "room-c", "room-d"};
  for (const char* room : rooms) {
    ASSERT_TRUE(
        *store->Record(Event(std::string("msg_") + room, {{TargetKind::kStorage, room, ""}})));
  }
  auto claims = store->ClaimDue("w1", kAllKinds, 4, 60'000);
  ASSERT_TRUE(claims.has_value());
  ASSERT_EQ(claims->size(), 4u);
  std::vector<Completion> completions;
  for (const Claim& claim : *claims) {
    const std::string& room = claim.key.scope_id;
    completions.push_back({claim, {DocumentRow{room, R"({"room":")" + room + R"("})"}}, {}});
  }
  auto done = store->CompleteAll(completions);
  ASSERT_TRUE(done.has_value()) << done.error().ToString();
  EXPECT_EQ(*done, std::vector<bool>(4, true));
  EXPECT_EQ(document_statements, 1);
  for (const char* room : rooms) {
    ExpectJson(std::string("SELECT data FROM {p}documents WHERE room_id = '") + room + "'",
               std::string(R"({"room":")") + room + R"("})");
  }
}

TEST_P(SqlStoreTest, NotificationsAreUpsertedAndMarkedGone) {
  NotificationRow n{"in_1",
                    "bob",
                    "thread",
                    "room-1",
                    "th_1",
                    std::nullopt,
                    "2026-01-01 10:00:00.000",
                    std::nullopt,
                    R"({"kind":"thread","id":"in_1"})"};
  COMPLETE_WITH(store_, n);
  n.read_at = "2026-01-01 11:00:00.000";
  COMPLETE_WITH(store_, n);
  EXPECT_EQ(One("SELECT read_at FROM {p}notifications"), "2026-01-01 11:00:00.000");
  COMPLETE_WITH(store_, NotificationGone{"bob", "in_1"});
  EXPECT_NE(One("SELECT deleted_at FROM {p}notifications"), "NULL");
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

TEST_P(SqlStoreTest, SearchFindsLiveCommentsAndDocuments) {
  COMPLETE_WITH(
      store_, Thread({{"cm_1", "The quarterly roadmap review"}, {"cm_2", "会議の議事録です"}}, {}),
      YdocRow{"room-1", "{}", "Launch plan\nThe roadmap for spring", {}});
  auto hits = store_->Search("roadmap", 10);
  ASSERT_TRUE(hits.has_value()) << hits.error().ToString();
  ASSERT_EQ(hits->size(), 2u);
  std::set<std::string> kinds;
  for (const auto& hit : *hits) kinds.insert(hit.kind);
  EXPECT_EQ(kinds, (std::set<std::string>{"comment", "ydoc"}));
  for (const auto& hit : *hits) {
    EXPECT_NE(hit.snippet.find("roadmap"), std::string::npos) << hit.snippet;
    if (hit.kind == "comment") {
      EXPECT_EQ(hit.thread_id, "th_1");
    }
  }
  auto cjk = store_->Search("議事録", 10);
  ASSERT_TRUE(cjk.has_value());
  ASSERT_EQ(cjk->size(), 1u);
  EXPECT_EQ((*cjk)[0].object_id, "cm_2");
  COMPLETE_WITH(store_, Thread({{"cm_2", "会議の議事録です"}}, {}));
  auto after = store_->Search("quarterly", 10);
  ASSERT_TRUE(after.has_value());
  EXPECT_TRUE(after->empty()) << "a deleted comment is not found";
  EXPECT_FALSE(store_->Search("  ", 10).has_value());
}

TEST_P(SqlStoreTest, KeepsTheBinaryYjsStateByteExact) {
  std::string state;
  for (int i = 0; i < 512; ++i) state.push_back(static_cast<char>((i * 131) & 0xFF));
  state += std::string("\0\0yjs\xFF", 6);
  COMPLETE_WITH(store_, YdocRow{"room-1", "{}", "", state});
  auto read = store_->YdocState("room-1");
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  ASSERT_TRUE(read->has_value());
  EXPECT_EQ(**read, state);
  EXPECT_FALSE(store_->YdocState("no-such-room")->has_value());
}

// The resurrection of issue 14: a room's deletion must win over a read of its content that
// started before it, whatever order the two transactions commit in.
TEST_P(SqlStoreTest, ARoomsDeletionFencesOutReadsOfItsContentInFlight) {
  const TargetKey ydoc{TargetKind::kYdoc, "room-1", ""};
  const TargetKey thread{TargetKind::kThread, "room-1", "th_1"};
  const TargetKind content_kinds[] = {TargetKind::kStorage, TargetKind::kYdoc, TargetKind::kThread};
  const TargetKind room_kind[] = {TargetKind::kRoom};
  RowWrite live = DocumentRow{"room-1", R"({"v":1})"};
  ASSERT_TRUE(Recorded(Event("msg_0", {kStorage})));
  auto first = store_->ClaimDue("w0", content_kinds, 10, 60'000);
  ASSERT_TRUE(first.has_value() && first->size() == 1u);
  ASSERT_TRUE(*store_->Complete((*first)[0], std::span(&live, 1), {}));

  // Reads of the Storage, the Yjs document and a thread start; then the room is deleted.
  ASSERT_TRUE(Recorded(Event("msg_1", {kStorage, ydoc, thread})));
  auto reads = store_->ClaimDue("reader", content_kinds, 10, 60'000);
  ASSERT_TRUE(reads.has_value());
  ASSERT_EQ(reads->size(), 3u);
  ASSERT_TRUE(Recorded(Event("msg_2", {kRoom})));
  auto deletion = store_->ClaimDue("deleter", room_kind, 10, 60'000);
  ASSERT_TRUE(deletion.has_value() && deletion->size() == 1u);
  RowWrite gone = RoomGone{"room-1"};
  ASSERT_TRUE(*store_->Complete((*deletion)[0], std::span(&gone, 1), {}));

  // The older reads complete last and write nothing.
  for (const Claim& claim : *reads) {
    std::vector<RowWrite> writes;
    if (claim.key.kind == TargetKind::kStorage)
      writes.push_back(DocumentRow{"room-1", R"({"v":2})"});
    if (claim.key.kind == TargetKind::kYdoc)
      writes.push_back(YdocRow{"room-1", "{}", "text", "state"});
    if (claim.key.kind == TargetKind::kThread) {
      writes.push_back(ThreadSnapshot{{"th_1", "room-1", "{}", false, "public", {}, {}}, {}, {}});
    }
    auto done = store_->Complete(claim, writes, {});
    ASSERT_TRUE(done.has_value()) << done.error().ToString();
    EXPECT_FALSE(*done) << claim.key.ToString() << " is fenced out";
  }
  EXPECT_NE(One("SELECT deleted_at FROM {p}documents WHERE room_id = 'room-1'"), "NULL");
  ExpectJson("SELECT data FROM {p}documents WHERE room_id = 'room-1'", R"({"v":1})");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}ydocs"), "0");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}threads"), "0");
  // And each is read again at once (it will find 404), by any worker.
  auto again = store_->ClaimDue("w2", content_kinds, 10, 60'000);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->size(), 3u);
}

TEST_P(SqlStoreTest, ARoomsDeletionLeavesItsIdleTargetsAlone) {
  RowWrite live = DocumentRow{"room-1", "{}"};
  ASSERT_TRUE(Recorded(Event("msg_0", {kStorage})));
  auto first = ClaimAll();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_TRUE(*store_->Complete(first[0], std::span(&live, 1), {}));
  RowWrite gone = RoomGone{"room-1"};
  COMPLETE_WITH(store_, gone);
  EXPECT_TRUE(ClaimAll().empty()) << "a deletion marks only reads in flight";
}

TEST_P(SqlStoreTest, DocumentsDeeperThanTheJsonTypeHoldsAreKeptExactlyInDeepData) {
  std::string deep, shallow = R"({"a":{"b":[1,2]}})";
  for (int i = 0; i < 40; ++i) deep += R"({"c":)";
  deep += "1";
  deep.append(40, '}');
  ASSERT_EQ(JsonDepth(deep), 40);
  std::vector<RowWrite> writes = {
      DocumentRow{"room-deep", deep, JsonDepth(deep)},
      DocumentRow{"room-1", shallow, JsonDepth(shallow)},
      YdocRow{"room-deep", "[" + deep + "]", "", "state", JsonDepth(deep) + 1}};
  ASSERT_TRUE(Recorded(Event("msg_1", {kRoom})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  auto done = store_->Complete(claims[0], writes, {});
  ASSERT_TRUE(done.has_value()) << done.error().ToString();
  ASSERT_TRUE(*done);
  // MariaDB's JSON columns hold 32 levels; SQLite's text columns and Postgres's jsonb (a few
  // thousand) have no limit that matters.
  bool limited = GetParam() == Dialect::kMysql;
  ExpectJson(
      "SELECT COALESCE(deep_data, {text:data}) FROM {p}documents WHERE room_id = 'room-deep'",
      deep);
  ExpectJson("SELECT data FROM {p}documents WHERE room_id = 'room-deep'", limited ? "null" : deep);
  EXPECT_EQ(One("SELECT deep_data FROM {p}documents WHERE room_id = 'room-1'"), "NULL");
  ExpectJson("SELECT data FROM {p}documents WHERE room_id = 'room-1'", shallow);
  ExpectJson("SELECT COALESCE(deep_data, {text:data}) FROM {p}ydocs WHERE room_id = 'room-deep'",
             "[" + deep + "]");
  auto content = store_->Content("room-deep");
  ASSERT_TRUE(content.has_value());
  ASSERT_TRUE(content->document.has_value());
  ExpectSameJson(*content->document, deep, "reconciliation reads the document itself");
}

TEST_P(SqlStoreTest, ProcessesMigratingAFreshDatabaseAtOnceAllSucceed) {
  std::string fresh = prefix_ + "m_";
  std::vector<std::unique_ptr<SqlStore>> stores;
  for (int i = 0; i < 4; ++i) stores.push_back(MakeStore(fresh));
  std::vector<Status> results(stores.size(), Ok());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < stores.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = stores[i]->Migrate(); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Status& result : results) EXPECT_TRUE(result.has_value()) << result.error().ToString();
  EXPECT_EQ(*stores[0]->SchemaVersion(), LatestSchemaVersion());
  EXPECT_EQ(One("SELECT COUNT(*) FROM " + fresh + "schema_migrations"),
            std::to_string(LatestSchemaVersion()));
}

TEST_P(SqlStoreTest, ASchemaNewerThanThisBuildIsRefused) {
  Exec(
      "INSERT INTO {p}schema_migrations (version, description, applied_at)"
      " VALUES (99, 'from the future', '2030-01-01 00:00:00.000')");
  Status migrated = store_->Migrate();
  ASSERT_FALSE(migrated.has_value());
  EXPECT_EQ(migrated.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(migrated.error().message().find("schema is at version 99, newer than this lbmirror"),
            std::string::npos);
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

TEST(TargetKeyTest, ParsesWhatToStringWrites) {
  for (const TargetKey& key : {TargetKey{TargetKind::kStorage, "room:with:colons", ""},
                               TargetKey{TargetKind::kThread, "room:1", "th_1"},
                               TargetKey{TargetKind::kNotification, "user-1", "in_1"}}) {
    EXPECT_EQ(TargetKey::Parse(key.ToString()), key) << key.ToString();
  }
  EXPECT_EQ(TargetKey::Parse("bogus"), std::nullopt);
  EXPECT_EQ(TargetKey::Parse("storage:"), std::nullopt);
  EXPECT_EQ(TargetKey::Parse("thread:room-only"), std::nullopt);
  EXPECT_EQ(TargetKey::Parse("planet:x"), std::nullopt);
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

INSTANTIATE_TEST_SUITE_P(Backends, SqlStoreTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kMysql, Dialect::kPostgres),
                         BackendName);

}  // namespace
}  // namespace lbmirror::store::sql
