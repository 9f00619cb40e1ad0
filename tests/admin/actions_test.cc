// The operator actions' checks, as the command line ("--" before the fields) and the admin API
// (nothing before them) both see them.
#include "admin/actions.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "fakes/temp_sqlite_store.h"

namespace lbmirror::admin {
namespace {

constexpr int64_t kNow = 1'767'225'600'000;

TEST(ActionsTest, AReplayRangeIsCheckedAndMeasuredFromNow) {
  auto options = CheckReplay({"2h", "30m", "storageUpdated", "room-1"}, kNow, "--");
  ASSERT_TRUE(options.has_value()) << options.error().ToString();
  EXPECT_EQ(options->since_ms, kNow - 7'200'000);
  EXPECT_EQ(options->until_ms, kNow - 1'800'000);
  EXPECT_EQ(options->type, "storageUpdated");
  EXPECT_EQ(options->room_id, "room-1");
  auto open_ended = CheckReplay({"7d", "", "", ""}, kNow, "");
  ASSERT_TRUE(open_ended.has_value());
  EXPECT_FALSE(open_ended->until_ms.has_value());
}

TEST(ActionsTest, ABadReplayRangeIsRefusedWithTheFieldNamedAsTheCallerNamesIt) {
  const struct {
    ReplayRequest request;
    std::string prefix;
    std::string message;
  } cases[] = {
      {{"soon", "", "", ""}, "--", "--since must be a duration such as 2h, 30m or 7d"},
      {{"", "", "", ""}, "", "since must be a duration such as 2h, 30m or 7d"},
      {{"2h", "later", "", ""}, "--", "--until must be a duration such as 1h or 10m"},
      {{"1h", "2h", "", ""}, "--", "--until must be shorter ago than --since"},
      {{"1h", "1h", "", ""}, "", "until must be shorter ago than since"},
  };
  for (const auto& c : cases) {
    auto options = CheckReplay(c.request, kNow, c.prefix);
    ASSERT_FALSE(options.has_value()) << c.message;
    EXPECT_EQ(options.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_EQ(options.error().message(), c.message);
  }
}

TEST(ActionsTest, ARetryNamesOneTargetOrEveryFailedOne) {
  auto one = CheckRetry("thread:room-1:th_1", false, "--");
  ASSERT_TRUE(one.has_value() && one->has_value());
  EXPECT_EQ((*one)->ToString(), "thread:room-1:th_1");
  auto failed = CheckRetry("", true, "");
  ASSERT_TRUE(failed.has_value());
  EXPECT_FALSE(failed->has_value());
  EXPECT_EQ(CheckRetry("", false, "--").error().message(),
            "give a target (such as storage:my-room), or --failed for every failed one");
  EXPECT_FALSE(CheckRetry("storage:r", true, "").has_value()) << "not both";
  EXPECT_EQ(CheckRetry("nonsense", false, "").error().message(),
            "\"nonsense\" is not a target: KIND:ROOM (room, storage, ydoc, presence), "
            "thread:ROOM:THREAD or notification:USER:ID");
}

TEST(ActionsTest, MirrorAgainMarksTheRoomsTargetsAndEachLiveThread) {
  FakeClock clock;
  TempSqliteStore store("actions_mirror_again", clock);
  store::RowWrite thread =
      store::ThreadSnapshot{{"th_1", "room-1", "{}", false, "public", {}, {}}, {}, {}};
  ASSERT_TRUE(
      store
          ->MarkDirty(std::vector<store::TargetKey>{{store::TargetKind::kThread, "room-1", "th_1"}},
                      "")
          .has_value());
  const store::TargetKind thread_kind[] = {store::TargetKind::kThread};
  auto claims = store->ClaimDue("w", thread_kind, 10, 60'000);
  ASSERT_TRUE(claims.has_value() && claims->size() == 1u);
  ASSERT_TRUE(*store->Complete((*claims)[0], std::span(&thread, 1), {}));

  auto marked = MirrorAgain(*store.get(), *store.get(), "room-1");
  ASSERT_TRUE(marked.has_value()) << marked.error().ToString();
  EXPECT_EQ(*marked, 5) << "room, storage, ydoc, presence and the live thread";
  const store::TargetKind all[] = {store::TargetKind::kRoom, store::TargetKind::kStorage,
                                   store::TargetKind::kYdoc, store::TargetKind::kPresence,
                                   store::TargetKind::kThread};
  auto due = store->ClaimDue("w", all, 10, 60'000);
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(due->size(), 5u);
  EXPECT_EQ(MirrorAgain(*store.get(), *store.get(), "").error().code(),
            ErrorCode::kInvalidArgument);
}

TEST(ActionsTest, StatusWorksOutTheAgesAtNowAndListsTheWebhooksPerType) {
  FakeClock clock;
  TempSqliteStore store("actions_status", clock);
  const int64_t received = clock.NowMs();
  store::InboxEvent event{"msg_1",
                          "storageUpdated",
                          "room-1",
                          received,
                          received / 1000,
                          "{}",
                          {{store::TargetKind::kStorage, "room-1", ""}},
                          std::nullopt};
  ASSERT_TRUE(store->Record(event).has_value());
  event.webhook_id = "msg_2";
  event.targets = {{store::TargetKind::kYdoc, "room-1", ""}};
  ASSERT_TRUE(store->Record(event).has_value());
  const store::TargetKind ydoc[] = {store::TargetKind::kYdoc};
  auto claims = store->ClaimDue("w", ydoc, 10, 60'000);
  ASSERT_TRUE(claims.has_value() && claims->size() == 1u);
  ASSERT_TRUE(store->Fail((*claims)[0], "unavailable: HTTP 500", received + 30'000).has_value());

  clock.Advance(12'000);
  auto report =
      ReadStatus({*store.get(), *store.get(), *store.get(), *store.get()}, {}, clock.NowMs(), 10);
  ASSERT_TRUE(report.has_value()) << report.error().ToString();
  EXPECT_EQ(report->queue.pending, 2);
  EXPECT_EQ(report->queue.failed, 1);
  ASSERT_TRUE(report->oldest_pending_age_ms.has_value());
  EXPECT_GE(*report->oldest_pending_age_ms, 12'000);
  ASSERT_EQ(report->queue.failures.size(), 1u);
  EXPECT_EQ(report->queue.failures[0].key.ToString(), "ydoc:room-1");
  EXPECT_EQ(report->queue.failures[0].last_error, "unavailable: HTTP 500");
  ASSERT_EQ(report->next_attempt_in_ms.size(), 1u);
  EXPECT_EQ(report->next_attempt_in_ms[0], 18'000) << "due at +30 s, read at +12 s";
  ASSERT_EQ(report->events.size(), 1u);
  EXPECT_EQ(report->events[0].type, "storageUpdated");
  EXPECT_EQ(report->events[0].count, 2);

  clock.Advance(60'000);
  auto later =
      ReadStatus({*store.get(), *store.get(), *store.get(), *store.get()}, {}, clock.NowMs(), 10);
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->next_attempt_in_ms[0], 0) << "an attempt already due is due in 0, not less";
}

TEST(ActionsTest, TheRoomReportNeedsARoomAndSaysWhatIsPending) {
  FakeClock clock;
  TempSqliteStore store("actions_room", clock);
  EXPECT_EQ(RoomReport(*store.get(), "").error().message(), "give the room's id");
  auto unknown = RoomReport(*store.get(), "room-unknown");
  ASSERT_TRUE(unknown.has_value()) << unknown.error().ToString();
  EXPECT_FALSE(unknown->known);
  EXPECT_TRUE(unknown->pending.empty());
  ASSERT_TRUE(
      store
          ->MarkDirty(std::vector<store::TargetKey>{{store::TargetKind::kStorage, "room-1", ""}},
                      "")
          .has_value());
  auto summary = RoomReport(*store.get(), "room-1");
  ASSERT_TRUE(summary.has_value()) << summary.error().ToString();
  ASSERT_EQ(summary->pending.size(), 1u);
  EXPECT_EQ(summary->pending[0].key.ToString(), "storage:room-1");
}

}  // namespace
}  // namespace lbmirror::admin
