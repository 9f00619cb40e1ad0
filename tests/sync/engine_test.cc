#include "sync/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <thread>

#include "fakes/fake_clock.h"
#include "fakes/fake_idle_wait.h"
#include "fakes/fake_liveblocks_client.h"
#include "store/sql/sql_store.h"
#include "store/sqlite/sqlite_connection.h"

namespace lbmirror::sync {
namespace {

using store::TargetKind;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int counter = 0;
    path_ =
        std::filesystem::temp_directory_path() /
        ("lbmirror_engine_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + ".db");
    std::string path = path_;
    factory_ = [path] { return store::sqlite::OpenSqliteConnection(path); };
    store_ = std::make_unique<store::sql::SqlStore>(store::sql::Dialect::kSqlite, factory_,
                                                    store::sql::SqlStoreOptions{"liveblocks_", 1},
                                                    clock_);
    ASSERT_TRUE(store_->Migrate().has_value());
    EngineOptions options;
    options.workers = 2;
    options.idle_poll_ms = 20;
    options.backoff_base_ms = 1'000;
    engine_ = std::make_unique<Engine>(*store_, client_, clock_, options);
  }
  void TearDown() override {
    engine_.reset();
    store_.reset();
    for (const char* suffix : {"", "-wal", "-shm"})
      std::filesystem::remove(path_.string() + suffix);
  }

  void Mark(const std::string& id, store::TargetKey key) {
    store::InboxEvent event;
    event.webhook_id = id;
    event.type = "test";
    event.received_at_ms = clock_.NowMs();
    event.payload = "{}";
    event.targets = {std::move(key)};
    ASSERT_TRUE(*store_->Record(event));
  }

  std::string One(const std::string& sql) {
    auto connection = factory_();
    auto rows = (*connection)->Query(sql, {});
    if (!rows || rows->empty()) return "<no row>";
    return (*rows)[0][0].value_or("NULL");
  }

  FakeClock clock_;
  std::filesystem::path path_;
  store::sql::ConnectionFactory factory_;
  std::unique_ptr<store::sql::SqlStore> store_;
  liveblocks::FakeLiveblocksClient client_;
  std::unique_ptr<Engine> engine_;
};

// Y.encodeStateAsUpdate of a document with Y.Text "t" = "hi" (npm yjs, client 7).
const std::string kHiUpdate("\x01\x01\x07\x00\x04\x01\x01t\x02hi\x00", 12);

TEST_F(EngineTest, MirrorsStorageYdocAndRoom) {
  client_.Set("/v2/rooms/r1/storage?format=json", 200, R"({"a":1})");
  client_.Set("/v2/rooms/r1/ydoc-binary", 200, kHiUpdate);
  client_.Set(
      "/v2/rooms/r1", 200,
      R"({"type":"room","id":"r1","createdAt":"2026-01-01T00:00:00.000Z","metadata":{},"defaultAccesses":[],"groupsAccesses":{},"usersAccesses":{}})");
  Mark("m1", {TargetKind::kStorage, "r1", ""});
  Mark("m2", {TargetKind::kYdoc, "r1", ""});
  Mark("m3", {TargetKind::kRoom, "r1", ""});
  EXPECT_EQ(engine_->RunUntilIdle(), 3);
  EXPECT_EQ(engine_->counters().rest_reads.load(), 3u) << "one read per target";
  EXPECT_EQ(One("SELECT data FROM liveblocks_documents"), R"({"a":1})");
  EXPECT_EQ(One("SELECT data FROM liveblocks_ydocs"), R"({"t":"hi"})");
  EXPECT_EQ(One("SELECT text FROM liveblocks_ydocs"), "hi");
  EXPECT_EQ(**store_->YdocState("r1"), kHiUpdate);
  EXPECT_EQ(One("SELECT created_at FROM liveblocks_rooms"), "2026-01-01 00:00:00.000");
}

TEST_F(EngineTest, AYdocWhoseBinaryReadFailsIsRetried) {
  client_.Set("/v2/rooms/r1/ydoc-binary", 500, "{}");
  Mark("m1", {TargetKind::kYdoc, "r1", ""});
  EXPECT_EQ(engine_->RunUntilIdle(), 1);
  EXPECT_EQ(One("SELECT COUNT(*) FROM liveblocks_ydocs"), "0");
  EXPECT_NE(One("SELECT last_error FROM liveblocks_targets").find("500"), std::string::npos);
}

TEST_F(EngineTest, AYdocThatDoesNotDecodeIsKeptFailedWithTheReasonAndRetried) {
  client_.Set("/v2/rooms/r1/ydoc-binary", 200, kHiUpdate.substr(0, 7));
  Mark("m1", {TargetKind::kYdoc, "r1", ""});
  EXPECT_EQ(engine_->RunUntilIdle(), 1);
  EXPECT_EQ(One("SELECT COUNT(*) FROM liveblocks_ydocs"), "0");
  EXPECT_NE(One("SELECT last_error FROM liveblocks_targets").find("malformed Yjs update"),
            std::string::npos);
  client_.Set("/v2/rooms/r1/ydoc-binary", 200, kHiUpdate);
  clock_.Advance(1'000);
  EXPECT_EQ(engine_->RunUntilIdle(), 1);
  EXPECT_EQ(One("SELECT text FROM liveblocks_ydocs"), "hi");
}

TEST_F(EngineTest, AFailingReadIsRetriedWithBackoffAndKeepsItsError) {
  client_.Set("/v2/rooms/r1/storage?format=json", 200, R"({"a":1})");
  client_.FailNext(1, 500);
  Mark("m1", {TargetKind::kStorage, "r1", ""});
  EXPECT_EQ(engine_->RunUntilIdle(), 1);
  EXPECT_EQ(One("SELECT COUNT(*) FROM liveblocks_documents"), "0");
  EXPECT_NE(One("SELECT last_error FROM liveblocks_targets").find("500"), std::string::npos);
  EXPECT_EQ(engine_->RunUntilIdle(), 0) << "not due before its backoff";
  clock_.Advance(1'000);
  EXPECT_EQ(engine_->RunUntilIdle(), 1);
  EXPECT_EQ(One("SELECT data FROM liveblocks_documents"), R"({"a":1})");
  EXPECT_EQ(One("SELECT last_error FROM liveblocks_targets"), "NULL");
}

TEST_F(EngineTest, AWrongSecretKeyBacksOffForTheLongestDelay) {
  client_.FailNext(1, 403);
  Mark("m1", {TargetKind::kStorage, "r1", ""});
  EXPECT_EQ(engine_->RunUntilIdle(), 1);
  int64_t next = std::stoll(One("SELECT next_attempt_at FROM liveblocks_targets"));
  EXPECT_GE(next - clock_.NowMs(), 150'000);
  EXPECT_NE(One("SELECT last_error FROM liveblocks_targets").find("LIVEBLOCKS_SECRET_KEY"),
            std::string::npos);
}

TEST_F(EngineTest, BackgroundWorkersPickUpNotifiedWork) {
  client_.Set("/v2/rooms/r2/storage?format=json", 200, R"({"b":2})");
  engine_->Start();
  Mark("m1", {TargetKind::kStorage, "r2", ""});
  engine_->Notify();
  for (int i = 0; i < 200 && One("SELECT COUNT(*) FROM liveblocks_documents") != "1"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  engine_->Stop();
  EXPECT_EQ(One("SELECT data FROM liveblocks_documents"), R"({"b":2})");
  EXPECT_EQ(engine_->counters().completed.load(), 1);
}

// The store, counting how often the workers look at the queue.
class CountingQueue final : public store::TargetQueue {
 public:
  explicit CountingQueue(store::TargetQueue& queue) : queue_(queue) {}
  Result<std::vector<store::Claim>> ClaimDue(std::string_view owner,
                                             std::span<const TargetKind> kinds, int limit,
                                             int64_t lease_ms,
                                             std::optional<int64_t>* next_due_ms) override {
    ++claims;
    return queue_.ClaimDue(owner, kinds, limit, lease_ms, next_due_ms);
  }
  Result<bool> Complete(const store::Claim& claim, std::span<const store::RowWrite> writes,
                        std::span<const store::TargetKey> also_dirty) override {
    return queue_.Complete(claim, writes, also_dirty);
  }
  Result<std::vector<bool>> CompleteAll(std::span<const store::Completion> completions) override {
    return queue_.CompleteAll(completions);
  }
  Status Fail(const store::Claim& claim, std::string_view error, int64_t retry_at_ms) override {
    return queue_.Fail(claim, error, retry_at_ms);
  }
  Result<bool> Renew(const store::Claim& claim, int64_t lease_ms) override {
    return queue_.Renew(claim, lease_ms);
  }
  Status Release(const store::Claim& claim) override { return queue_.Release(claim); }
  Status MarkDirty(std::span<const store::TargetKey> targets, std::string_view reason) override {
    return queue_.MarkDirty(targets, reason);
  }

  std::atomic<int> claims{0};

 private:
  store::TargetQueue& queue_;
};

// Three workers that look at the queue only when woken (their idle poll is ten minutes, and
// FakeIdleWait's waits end only when woken): each wait that begins shows a worker done
// looking, so a test can tell that nothing else happened, without sleeps. No background
// worker: it looks at the queue on its own clock.
EngineOptions WokenOnly(FakeIdleWait& wait) {
  EngineOptions options;
  options.workers = 3;
  options.background_workers = 0;
  options.idle_poll_ms = 600'000;
  options.idle_wait = wait.AsWait();
  return options;
}

TEST_F(EngineTest, AWorkerWokenForWorkDueLaterWaitsForItWithoutLookingAtTheQueue) {
  CountingQueue queue(*store_);
  FakeIdleWait wait;
  Engine engine(queue, client_, clock_, WokenOnly(wait));
  engine.Start();
  // Each worker looks once at the empty queue, then waits.
  wait.AwaitWaits(3, 3);
  ASSERT_EQ(queue.claims.load(), 3);
  // Work due in 100 s: a worker is woken and waits for it again without looking now.
  engine.Notify(clock_.NowMs() + 100'000);
  wait.AwaitWaits(4, 3);
  EXPECT_EQ(queue.claims.load(), 3);
  EXPECT_EQ(wait.timeouts().back(), 100'000);
  // Later work wakes nobody (that worker looks by then): no wait ends, none begins.
  engine.Notify(clock_.NowMs() + 200'000);
  EXPECT_EQ(wait.timeouts().size(), 4u);
  EXPECT_EQ(wait.waiting(), 3);
  // Work due now is looked for at once, by one worker, which then waits again.
  engine.Notify();
  wait.AwaitWaits(5, 3);
  EXPECT_EQ(queue.claims.load(), 4);
  EXPECT_EQ(wait.timeouts().size(), 5u);
  engine.Stop();
}

TEST_F(EngineTest, AWorkerTakingTheLastDueTargetWakesNoOther) {
  CountingQueue queue(*store_);
  FakeIdleWait wait;
  Engine engine(queue, client_, clock_, WokenOnly(wait));
  client_.Set("/v2/rooms/r1/storage?format=json", 200, R"({"a":1})");
  engine.Start();
  wait.AwaitWaits(3, 3);
  ASSERT_EQ(queue.claims.load(), 3);
  // One target: one worker claims it and reads (held); nothing else is pending, so no other
  // worker is woken to look at the queue meanwhile (the reader passed that point already).
  client_.Hold();
  Mark("m1", {TargetKind::kStorage, "r1", ""});
  engine.Notify();
  for (int i = 0; i < 5'000 && client_.Calls("/v2/rooms/r1/storage?format=json") == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_GT(client_.Calls("/v2/rooms/r1/storage?format=json"), 0);
  EXPECT_EQ(queue.claims.load(), 4);
  EXPECT_EQ(wait.waiting(), 2);
  EXPECT_EQ(wait.timeouts().size(), 3u);
  // Done, the reader looks once more and waits: all three wait, nobody else looked.
  client_.Resume();
  wait.AwaitWaits(4, 3);
  EXPECT_EQ(queue.claims.load(), 5);
  EXPECT_EQ(wait.timeouts().size(), 4u);
  engine.Stop();
  EXPECT_EQ(engine.counters().completed.load(), 1);
}

TEST_F(EngineTest, ASlowReadKeepsRenewingItsLease) {
  EngineOptions options;
  options.workers = 1;
  options.lease_ms = 60;  // renewed every 20 ms
  Engine engine(*store_, client_, clock_, options);
  client_.Set("/v2/rooms/r3/storage?format=json", 200, R"({"c":3})");
  client_.Hold();
  Mark("m1", {TargetKind::kStorage, "r3", ""});
  engine.Start();
  auto lease_until = [&] { return std::stoll(One("SELECT lease_until FROM liveblocks_targets")); };
  for (int i = 0; i < 500 && lease_until() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  const int64_t first = lease_until();
  ASSERT_GT(first, 0) << "the target was claimed";
  // Time passes while the read hangs: the lease moves with it, so no one else takes it.
  clock_.Advance(10'000);
  for (int i = 0; i < 500 && lease_until() < first + 10'000; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(lease_until(), first + 10'000);
  EXPECT_TRUE(store_->ClaimDue("other", SupportedKinds(), 1, 60)->empty());
  client_.Resume();
  for (int i = 0; i < 500 && One("SELECT COUNT(*) FROM liveblocks_documents") != "1"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  engine.Stop();
  EXPECT_EQ(One("SELECT data FROM liveblocks_documents"), R"({"c":3})");
  EXPECT_EQ(engine.counters().fenced_out.load(), 0);
}

TEST_F(EngineTest, ReadsThreadsNotificationsAndPresence) {
  client_.Set(
      "/v2/rooms/r1/threads/th_1", 200,
      R"({"type":"thread","id":"th_1","roomId":"r1","createdAt":"2026-01-01T10:00:00.000Z","updatedAt":"2026-01-01T10:00:00.000Z","metadata":{},"resolved":true,"comments":[{"type":"comment","id":"cm_1","threadId":"th_1","roomId":"r1","userId":"alice","createdAt":"2026-01-01T10:00:00.000Z","reactions":[],"attachments":[],"metadata":{},"body":{"version":1,"content":[{"type":"paragraph","children":[{"text":"hi"}]}]}}]})");
  client_.Set(
      "/v2/users/bob/inbox-notifications/in_1", 200,
      R"({"kind":"thread","id":"in_1","roomId":"r1","threadId":"th_1","notifiedAt":"2026-01-01T10:00:00.000Z","readAt":null})");
  client_.Set("/v2/rooms/r1/active_users", 200,
              R"({"data":[{"type":"user","connectionId":2,"id":"alice"}]})");
  client_.Set(
      "/v2/rooms/r1", 200,
      R"({"type":"room","id":"r1","createdAt":"2026-01-01T00:00:00.000Z","metadata":{},"defaultAccesses":[],"groupsAccesses":{},"usersAccesses":{}})");
  Mark("m1", {TargetKind::kThread, "r1", "th_1"});
  Mark("m2", {TargetKind::kNotification, "bob", "in_1"});
  Mark("m3", {TargetKind::kPresence, "r1", ""});
  engine_->RunUntilIdle();
  EXPECT_EQ(One("SELECT resolved FROM liveblocks_threads"), "1");
  EXPECT_EQ(One("SELECT body_text FROM liveblocks_comments"), "hi");
  EXPECT_EQ(One("SELECT kind FROM liveblocks_notifications WHERE user_id = 'bob'"), "thread");
  EXPECT_EQ(One("SELECT user_id FROM liveblocks_active_users"), "alice");
  // Presence came before the room row: the room was read too, and keeps its count.
  EXPECT_EQ(One("SELECT active_users FROM liveblocks_rooms"), "1");
  EXPECT_EQ(One("SELECT created_at FROM liveblocks_rooms"), "2026-01-01 00:00:00.000");
}

TEST(EngineBackoffTest, GrowsExponentiallyWithJitterUpToTheCap) {
  for (uint32_t r : {0u, 7u, 123456u}) {
    EXPECT_GE(Engine::BackoffMs(1, 1000, 300000, r), 500);
    EXPECT_LE(Engine::BackoffMs(1, 1000, 300000, r), 1000);
    EXPECT_GE(Engine::BackoffMs(4, 1000, 300000, r), 4000);
    EXPECT_LE(Engine::BackoffMs(4, 1000, 300000, r), 8000);
    EXPECT_LE(Engine::BackoffMs(40, 1000, 300000, r), 300000);
    EXPECT_GE(Engine::BackoffMs(40, 1000, 300000, r), 150000);
  }
}

}  // namespace
}  // namespace lbmirror::sync
