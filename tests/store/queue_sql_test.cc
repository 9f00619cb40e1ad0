// The work queue: claims (leases and fencing tokens, in groups, partial and failed claims,
// Postgres's SKIP LOCKED), completions, failures, renewals, give-backs, coalescing, and the
// order in which transactions lock target rows.
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

TEST_P(SqlStoreTest, CompletionCanMarkOtherTargetsDirty) {
  ASSERT_TRUE(Recorded(Event("msg_1", {kStorage})));
  auto claims = ClaimAll();
  RowWrite gone = DocumentGone{"room-1"};
  ASSERT_TRUE(*store_->Complete(claims[0], std::span(&gone, 1), std::span(&kRoom, 1)));
  auto next = ClaimAll();
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(next[0].key, kRoom);
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

}  // namespace
}  // namespace lbmirror::store::sql
