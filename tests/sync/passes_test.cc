// The passes on a real SQLite store and a fake clock: the users they mark (from the mirror's
// rows and rooms' usersAccesses), their cadence, a pass interrupted part-way and resumed by
// another process, and a kind the server does not implement.
#include "sync/passes.h"

#include <gtest/gtest.h>

#include <set>

#include "core/text.h"
#include "fakes/fake_clock.h"
#include "fakes/temp_sqlite_store.h"

namespace lbmirror::sync {
namespace {

using store::TargetKind;

// The store's queue, counting what is marked and failing the n-th MarkDirty if asked.
class CountingQueue final : public store::TargetQueue {
 public:
  explicit CountingQueue(store::TargetQueue& inner) : inner_(inner) {}
  Result<std::vector<store::Claim>> ClaimDue(std::string_view owner,
                                             std::span<const TargetKind> kinds, int limit,
                                             int64_t lease_ms,
                                             std::optional<int64_t>* next_due_ms) override {
    return inner_.ClaimDue(owner, kinds, limit, lease_ms, next_due_ms);
  }
  Status MarkDirty(std::span<const store::TargetKey> targets, std::string_view reason) override {
    if (++calls_ == fail_call_) return Unavailable("the database went away");
    for (const store::TargetKey& key : targets) {
      marked.push_back(key.scope_id);
      keys.push_back(key.ToString());
    }
    return inner_.MarkDirty(targets, reason);
  }
  Result<bool> Complete(const store::Claim& claim, std::span<const store::RowWrite> writes,
                        std::span<const store::TargetKey> also_dirty) override {
    return inner_.Complete(claim, writes, also_dirty);
  }
  Result<std::vector<bool>> CompleteAll(std::span<const store::Completion> completions) override {
    return inner_.CompleteAll(completions);
  }
  Status Fail(const store::Claim& claim, std::string_view error, int64_t retry_at_ms) override {
    return inner_.Fail(claim, error, retry_at_ms);
  }
  Result<bool> Renew(const store::Claim& claim, int64_t lease_ms) override {
    return inner_.Renew(claim, lease_ms);
  }
  Status Release(const store::Claim& claim) override { return inner_.Release(claim); }

  void FailCall(int n) { fail_call_ = n; }
  std::vector<std::string> marked;  // scope ids
  std::vector<std::string> keys;    // whole keys

 private:
  store::TargetQueue& inner_;
  int calls_ = 0;
  int fail_call_ = 0;
};

class PassesTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.migrated()); }

  // Writes rows as a completed read of `key` would.
  void Write(const store::TargetKey& key, store::RowWrite row) {
    ASSERT_TRUE(store_->MarkDirty(std::span(&key, 1), "").has_value());
    const TargetKind kinds[] = {key.kind};
    auto claims = store_->ClaimDue("t", kinds, 1, 60'000);
    ASSERT_TRUE(claims.has_value() && claims->size() == 1u);
    auto done = store_->Complete((*claims)[0], std::span(&row, 1), {});
    ASSERT_TRUE(done.has_value() && *done) << (done ? "lost" : done.error().ToString());
  }

  std::vector<PassSpec> Inbox(int64_t interval_ms = 60'000) {
    return {{"inbox", TargetKind::kInbox, interval_ms}};
  }

  FakeClock clock_;
  TempSqliteStore store_{"passes", clock_};
};

TEST_F(PassesTest, MarksTheInboxOfEveryUserTheMirrorKnowsOncePerInterval) {
  Write({TargetKind::kNotification, "nora", "in_1"},
        store::NotificationRow{"in_1", "nora", "thread", "r", "th", {}, {}, {}, "{}"});
  Write({TargetKind::kRoom, "r", ""},
        store::RoomRow{"r", "", "{}", "[]", R"({"alice":["room:write"],"nora":[]})", "{}", {}, {}});
  Write({TargetKind::kThread, "r", "th"},
        store::ThreadSnapshot{{"th", "r", "{}", false, "public", {}, {}},
                              {{"cm", "th", "r", "carl", {}, "", "{}", "[]", {}, {}, {}}},
                              {{"cm", "👍", "dora", "th", "r", {}}}});
  CountingQueue queue(*store_.get());
  int woken = 0;
  Passes passes(*store_.get(), queue, clock_, Inbox(), {}, [&] { ++woken; });
  auto marked = passes.RunDue();
  ASSERT_TRUE(marked.has_value()) << marked.error().ToString();
  EXPECT_EQ(*marked, 4);
  EXPECT_EQ(queue.marked, (std::vector<std::string>{"alice", "carl", "dora", "nora"}));
  EXPECT_EQ(woken, 1);
  const auto progress = passes.Progress();
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress[0].marked, 4);
  EXPECT_EQ(progress[0].started_ms, clock_.NowMs());
  EXPECT_EQ(progress[0].finished_ms, clock_.NowMs());

  clock_.Advance(59'000);
  EXPECT_EQ(*passes.RunDue(), 0) << "not yet: the interval runs from the pass's start";
  clock_.Advance(1'000);
  EXPECT_EQ(*passes.RunDue(), 4);
  const TargetKind inbox[] = {TargetKind::kInbox};
  auto due = store_->ClaimDue("w", inbox, 10, 60'000);
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(due->size(), 4u);
}

TEST_F(PassesTest, AnInterruptedPassIsResumedAfterItsLastBatchByTheNextProcess) {
  std::string accesses = "{";
  for (int i = 0; i < 700; ++i) accesses += Cat(i ? "," : "", "\"user-", 1000 + i, "\":[]");
  accesses += "}";
  Write({TargetKind::kRoom, "r", ""}, store::RoomRow{"r", "", "{}", "[]", accesses, "{}", {}, {}});
  {
    CountingQueue queue(*store_.get());
    queue.FailCall(2);  // the second batch of 500
    Passes passes(*store_.get(), queue, clock_, Inbox(), {}, {});
    auto failed = passes.RunDue();
    ASSERT_FALSE(failed.has_value());
    EXPECT_EQ(failed.error().message(), "pass inbox: the database went away");
    EXPECT_EQ(queue.marked.size(), 500u);
    EXPECT_FALSE(passes.Progress()[0].finished_ms.has_value());
  }
  clock_.Advance(5'000);
  CountingQueue queue(*store_.get());
  Passes restarted(*store_.get(), queue, clock_, Inbox(), {}, {});
  auto resumed = restarted.RunDue();
  ASSERT_TRUE(resumed.has_value()) << resumed.error().ToString();
  EXPECT_EQ(*resumed, 200) << "only what the first process had not marked";
  ASSERT_FALSE(queue.marked.empty());
  EXPECT_EQ(queue.marked.front(), "user-1500");
  EXPECT_EQ(queue.marked.back(), "user-1699");
  const PassProgress progress = restarted.Progress()[0];
  EXPECT_EQ(progress.marked, 700);
  EXPECT_EQ(progress.started_ms, clock_.NowMs() - 5'000) << "the interrupted pass's start";
  EXPECT_EQ(progress.finished_ms, clock_.NowMs());
  EXPECT_EQ(*restarted.RunDue(), 0);
}

TEST_F(PassesTest, AKindTheServerDoesNotImplementAndAPassTurnedOffMarkNothing) {
  Write({TargetKind::kNotification, "nora", "in_1"},
        store::NotificationRow{"in_1", "nora", "thread", "r", "th", {}, {}, {}, "{}"});
  CountingQueue queue(*store_.get());
  Passes unsupported(*store_.get(), queue, clock_, Inbox(),
                     [](TargetKind kind) { return kind == TargetKind::kInbox; }, {});
  EXPECT_EQ(*unsupported.RunDue(), 0);
  EXPECT_TRUE(unsupported.Progress()[0].unsupported);
  Passes off(*store_.get(), queue, clock_, Inbox(0), {}, {});
  EXPECT_EQ(*off.RunDue(), 0);
  EXPECT_TRUE(queue.marked.empty());
}

TEST_F(PassesTest, TheGroupsPassMarksTheProjectsOneTarget) {
  CountingQueue queue(*store_.get());
  Passes passes(*store_.get(), queue, clock_, PassSpecs({0, 600'000}), {}, {});
  EXPECT_EQ(*passes.RunDue(), 1);
  EXPECT_EQ(queue.marked, std::vector<std::string>{"project"});
  const auto progress = passes.Progress();
  ASSERT_EQ(progress.size(), 7u);
  EXPECT_EQ(progress[0].name, "inbox");
  EXPECT_FALSE(progress[0].started_ms.has_value()) << "off";
  EXPECT_EQ(progress[1].name, "groups");
  EXPECT_EQ(progress[1].marked, 1);
}

TEST_F(PassesTest, TheVersionsPassMarksEveryLiveRoom) {
  Write({TargetKind::kRoom, "r-b", ""}, store::RoomRow{"r-b", "", "{}", "[]", "{}", "{}", {}, {}});
  Write({TargetKind::kRoom, "r-a", ""}, store::RoomRow{"r-a", "", "{}", "[]", "{}", "{}", {}, {}});
  Write({TargetKind::kRoom, "r-gone", ""}, store::RoomGone{"r-gone"});
  CountingQueue queue(*store_.get());
  Passes passes(*store_.get(), queue, clock_, PassSpecs({0, 0, 3'600'000}), {}, {});
  EXPECT_EQ(*passes.RunDue(), 2);
  EXPECT_EQ(queue.marked, (std::vector<std::string>{"r-a", "r-b"})) << "not the deleted room";
}

TEST_F(PassesTest, TheSubscriptionsPassMarksEveryLiveThreadAndResumesAfterOne) {
  auto thread = [](std::string room, std::string id) {
    return store::ThreadSnapshot{{id, room, "{}", false, "public", {}, {}}, {}, {}};
  };
  for (const char* room : {"r-b", "r-a", "r-gone"}) {
    Write({TargetKind::kRoom, room, ""}, store::RoomRow{room, "", "{}", "[]", "{}", "{}", {}, {}});
  }
  Write({TargetKind::kThread, "r-b", "th_3"}, thread("r-b", "th_3"));
  Write({TargetKind::kThread, "r-a", "th_2"}, thread("r-a", "th_2"));
  Write({TargetKind::kThread, "r-a", "th_1"}, thread("r-a", "th_1"));
  Write({TargetKind::kThread, "r-a", "th_0"}, store::ThreadGone{"r-a", "th_0"});
  Write({TargetKind::kThread, "r-gone", "th_9"}, thread("r-gone", "th_9"));
  Write({TargetKind::kRoom, "r-gone", ""}, store::RoomGone{"r-gone"});
  PassIntervals intervals;
  intervals.subscriptions_ms = 7 * 86'400'000LL;
  CountingQueue queue(*store_.get());
  {
    Passes passes(*store_.get(), queue, clock_, PassSpecs(intervals), {}, {});
    EXPECT_EQ(*passes.RunDue(), 3);
  }
  EXPECT_EQ(queue.keys, (std::vector<std::string>{"thread_subs:r-a:th_1", "thread_subs:r-a:th_2",
                                                  "thread_subs:r-b:th_3"}))
      << "every live thread of a live room, in (room, thread) order";
  // A pass interrupted after (r-a, th_1) goes on with the next thread of the same room.
  ASSERT_TRUE(store_
                  ->SetCheckpoint("pass:thread_subscriptions",
                                  R"({"started_ms":1,"finished_ms":null,"marked":1,)"
                                  R"("after":"r-a","after_object":"th_1"})")
                  .has_value());
  queue.keys.clear();
  Passes resumed(*store_.get(), queue, clock_, PassSpecs(intervals), {}, {});
  EXPECT_EQ(*resumed.RunDue(), 2);
  EXPECT_EQ(queue.keys, (std::vector<std::string>{"thread_subs:r-a:th_2", "thread_subs:r-b:th_3"}));
  EXPECT_EQ(resumed.Progress()[5].name, "thread_subscriptions");
  EXPECT_EQ(resumed.Progress()[5].marked, 3);
}

TEST(PassProgressTest, ReadsItsCheckpointAndToleratesAnythingElse) {
  const PassSpec spec{"inbox", TargetKind::kInbox, 1'000};
  EXPECT_EQ(PassCheckpoint("inbox"), "pass:inbox");
  auto progress =
      ParsePassProgress(spec, R"({"started_ms":5,"finished_ms":null,"marked":3,"after":"bob"})");
  EXPECT_EQ(progress.started_ms, 5);
  EXPECT_FALSE(progress.finished_ms.has_value());
  EXPECT_EQ(progress.marked, 3);
  for (const char* junk : {"", "[]", "not json", R"({"started_ms":"soon"})"}) {
    auto parsed = ParsePassProgress(spec, std::string(junk));
    EXPECT_FALSE(parsed.started_ms.has_value()) << junk;
    EXPECT_EQ(parsed.marked, 0) << junk;
  }
}

}  // namespace
}  // namespace lbmirror::sync

namespace lbmirror::store {
namespace {

// The targets table keeps a kind's name in VARCHAR(16) (schema migration 1).
TEST(TargetKindTest, EveryKindHasANameThatFitsTheTargetsTableAndParsesBack) {
  for (size_t i = 0; i < kTargetKindCount; ++i) {
    const auto kind = static_cast<TargetKind>(i);
    const std::string_view name = TargetKindName(kind);
    EXPECT_NE(name, "unknown") << i;
    EXPECT_LE(name.size(), 16u) << name;
    EXPECT_EQ(ParseTargetKind(name), kind) << name;
  }
}

}  // namespace
}  // namespace lbmirror::store
