// The SQL the store sends, statement by statement, for its main flows (migrate, record,
// claim, complete every kind of row, fail, renew, release, search), kept as a golden file per
// backend in tests/testdata/transcript/. A change of the store's inside (its split into units,
// say) must leave it as it is; a change that means to alter it rewrites the file
// (LBMIRROR_UPDATE_TRANSCRIPT=1) and says why in its commit. Only the text and order of the
// statements are kept (the table prefix shown as {p}), not their parameters.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <mutex>
#include <span>
#include <sstream>
#include <string>
#include <vector>

#include "store/sql_store_fixture.h"

namespace lbmirror::store::sql {
namespace {

class SqlTranscriptTest : public SqlStoreTest {
 protected:
  // Everything the recording store's connections run, in order.
  std::unique_ptr<SqlStore> MakeRecordingStore(const std::string& prefix) {
    auto note = [this](std::string_view sql) {
      std::string line(sql);
      for (size_t pos; (pos = line.find(recorded_prefix_)) != std::string::npos;) {
        line.replace(pos, recorded_prefix_.size(), "{p}");
      }
      std::lock_guard lock(mutex_);
      transcript_.push_back(std::move(line));
    };
    recorded_prefix_ = prefix;
    return MakeHookedStore(
        [note](std::string_view sql, std::span<const SqlValue>) -> std::optional<Error> {
          note(sql);
          return std::nullopt;
        },
        note, prefix);
  }

  void Section(const std::string& name) {
    std::lock_guard lock(mutex_);
    transcript_.push_back("-- " + name);
  }

  std::string Transcript() {
    std::lock_guard lock(mutex_);
    std::string out;
    for (const std::string& line : transcript_) out += line + "\n";
    return out;
  }

  std::mutex mutex_;
  std::vector<std::string> transcript_;
  std::string recorded_prefix_;
};

std::vector<Claim> Claimed(Result<std::vector<Claim>> claims, size_t expected) {
  EXPECT_TRUE(claims.has_value()) << claims.error().ToString();
  if (!claims) return {};
  EXPECT_EQ(claims->size(), expected);
  std::sort(claims->begin(), claims->end(),
            [](const Claim& a, const Claim& b) { return a.key.ToString() < b.key.ToString(); });
  return *claims;
}

TEST_P(SqlTranscriptTest, TheMainFlowsSendTheRecordedStatements) {
  const std::string prefix = prefix_ + "x_";
  auto store = MakeRecordingStore(prefix);
  const TargetKind every_kind[] = {TargetKind::kRoom,   TargetKind::kStorage,
                                   TargetKind::kYdoc,   TargetKind::kPresence,
                                   TargetKind::kThread, TargetKind::kNotification};
  const TargetKey storage{TargetKind::kStorage, "r1", ""}, ydoc{TargetKind::kYdoc, "r1", ""},
      room{TargetKind::kRoom, "r1", ""}, presence{TargetKind::kPresence, "r1", ""},
      thread{TargetKind::kThread, "r1", "th_1"},
      notification{TargetKind::kNotification, "u1", "in_1"};

  Section("migrate");
  Status migrated = store->Migrate();
  ASSERT_TRUE(migrated.has_value()) << migrated.error().ToString();

  Section("record a webhook with two targets, then its redelivery from another replica");
  InboxEvent event = Event("msg_1", {storage, ydoc});
  ASSERT_TRUE(*store->Record(event));
  auto replica = MakeRecordingStore(prefix);
  ASSERT_FALSE(*replica->Record(event));
  replica.reset();
  Section("record a presence webhook (its session row) and the other targets");
  InboxEvent entered = Event("msg_2", {presence});
  entered.type = "userEntered";
  entered.session = SessionChange{true, "r1", 7, "alice", R"({"name":"Alice"})", clock_.NowMs()};
  ASSERT_TRUE(*store->Record(entered));
  ASSERT_TRUE(*store->Record(Event("msg_3", {room, thread, notification})));

  Section("claim");
  auto claims = Claimed(store->ClaimDue("w1", every_kind, 8, 60'000), 6);
  ASSERT_EQ(claims.size(), 6u);

  Section("renew");
  clock_.Advance(1);  // MySQL counts changed rows: the lease must move
  ASSERT_TRUE(*store->Renew(claims[0], 60'000));

  Section("complete every kind of row in one batch");
  FlowSnapshot flow{"r1",
                    "flow",
                    {{"n1", "input", 1.0, 2.0, R"({"label":"A"})", R"({"id":"n1"})"}},
                    {{"e1", "n1", "n2", {}, {}, R"({"id":"e1"})"}}};
  ThreadSnapshot snapshot{
      {"th_1", "r1", "{}", false, "public", {}, {}},
      {{"cm_1", "th_1", "r1", "alice", R"({"version":1})", "hello", "{}", "[]", {}, {}, {}}},
      {{"cm_1", "👍", "bob", "th_1", "r1", {}}}};
  std::vector<Completion> batch;
  for (const Claim& claim : claims) {
    Completion completion{claim, {}, {}};
    switch (claim.key.kind) {
      case TargetKind::kNotification:
        completion.writes.push_back(
            NotificationRow{"in_1", "u1", "thread", "r1", "th_1", {}, {}, {}, "{}"});
        break;
      case TargetKind::kPresence:
        completion.writes.push_back(ActiveUsersSnapshot{"r1", {{7, "alice", "{}"}}});
        break;
      case TargetKind::kRoom:
        completion.writes.push_back(RoomRow{"r1", "", "{}", "[]", "{}", "{}", {}, {}});
        break;
      case TargetKind::kStorage:
        completion.writes.push_back(DocumentRow{"r1", R"({"flow":{}})", 2});
        completion.writes.push_back(flow);
        break;
      case TargetKind::kThread:
        completion.writes.push_back(snapshot);
        break;
      case TargetKind::kYdoc:
        completion.writes.push_back(YdocRow{"r1", R"({"t":"x"})", "x", "state", 1});
        completion.also_dirty.push_back(room);
        break;
      case TargetKind::kInbox:
      case TargetKind::kGroups:
      case TargetKind::kVersions:
      case TargetKind::kVersionYdoc:
      case TargetKind::kNotificationSettings:
      case TargetKind::kRoomSubscriptionSettings:
      case TargetKind::kThreadSubscriptions:
      case TargetKind::kFeeds:
      case TargetKind::kFeedMessages:
        break;  // the passes' kinds: an inbox is claimed below, on its own
    }
    batch.push_back(std::move(completion));
  }
  auto done = store->CompleteAll(batch);
  ASSERT_TRUE(done.has_value()) << done.error().ToString();
  EXPECT_EQ(*done, std::vector<bool>(6, true));

  Section("a pass marks a user's inbox; its listing replaces the user's notifications");
  const TargetKey inbox{TargetKind::kInbox, "u1", ""};
  ASSERT_TRUE(store->MarkDirty(std::vector<TargetKey>{inbox}, "").has_value());
  const TargetKind inbox_kind[] = {TargetKind::kInbox};
  auto inbox_claims = Claimed(store->ClaimDue("w1", inbox_kind, 8, 60'000), 1);
  ASSERT_EQ(inbox_claims.size(), 1u);
  Completion listed{inbox_claims[0],
                    {InboxSnapshot{"u1",
                                   {{"in_2", "u1", "thread", "r1", "th_1", {}, {}, {}, "{}"}},
                                   "2026-01-01 00:00:00.000"}},
                    {}};
  auto inbox_done = store->CompleteAll(std::span(&listed, 1));
  ASSERT_TRUE(inbox_done.has_value()) << inbox_done.error().ToString();
  EXPECT_EQ(*inbox_done, std::vector<bool>(1, true));

  Section("a pass reads the project's groups; they and their members become the listing");
  const TargetKey groups{TargetKind::kGroups, "project", ""};
  ASSERT_TRUE(store->MarkDirty(std::vector<TargetKey>{groups}, "").has_value());
  const TargetKind groups_kind[] = {TargetKind::kGroups};
  auto groups_claims = Claimed(store->ClaimDue("w1", groups_kind, 8, 60'000), 1);
  ASSERT_EQ(groups_claims.size(), 1u);
  Completion walked{
      groups_claims[0],
      {GroupsSnapshot{{{"eng", "default", R"({"mention":true})", {}, {}, "{}", {{"alice", {}}}}},
                      "2026-01-01 00:00:00.000"}},
      {}};
  auto groups_done = store->CompleteAll(std::span(&walked, 1));
  ASSERT_TRUE(groups_done.has_value()) << groups_done.error().ToString();

  Section("a pass reads a room's version history; new versions' content is marked to be read");
  const TargetKey history{TargetKind::kVersions, "r1", ""};
  ASSERT_TRUE(store->MarkDirty(std::vector<TargetKey>{history}, "").has_value());
  const TargetKind versions_kind[] = {TargetKind::kVersions};
  auto history_claims = Claimed(store->ClaimDue("w1", versions_kind, 8, 60'000), 1);
  ASSERT_EQ(history_claims.size(), 1u);
  Completion history_read{
      history_claims[0],
      {VersionsSnapshot{"r1", {{"vh_1", {}, "[]", "{}"}}, "2026-01-01 00:00:00.000"}},
      {}};
  auto history_done = store->CompleteAll(std::span(&history_read, 1));
  ASSERT_TRUE(history_done.has_value()) << history_done.error().ToString();

  Section("a pass reads a room's feeds (each feed's messages marked) and a thread's followers");
  const TargetKey feeds{TargetKind::kFeeds, "r1", ""},
      followers{TargetKind::kThreadSubscriptions, "r1", "th_1"};
  ASSERT_TRUE(store->MarkDirty(std::vector<TargetKey>{feeds, followers}, "").has_value());
  const TargetKind feed_kinds[] = {TargetKind::kFeeds, TargetKind::kThreadSubscriptions};
  auto feed_claims = Claimed(store->ClaimDue("w1", feed_kinds, 8, 60'000), 2);
  ASSERT_EQ(feed_claims.size(), 2u);
  std::vector<Completion> feed_reads;
  feed_reads.push_back(
      {feed_claims[0],
       {FeedsSnapshot{"r1", {{"f1", "{}", 1, 2, "{}"}}, "2026-01-01 00:00:00.000"}},
       {}});
  feed_reads.push_back({feed_claims[1],
                        {ThreadSubscriptionsSnapshot{
                            "r1", "th_1", {{"alice", "thread", {}}}, "2026-01-01 00:00:00.000"}},
                        {}});
  auto feeds_done = store->CompleteAll(feed_reads);
  ASSERT_TRUE(feeds_done.has_value()) << feeds_done.error().ToString();
  const TargetKind messages_kind[] = {TargetKind::kFeedMessages};
  auto message_claims = Claimed(store->ClaimDue("w1", messages_kind, 8, 60'000), 1);
  ASSERT_EQ(message_claims.size(), 1u);
  Completion messages_read{
      message_claims[0],
      {FeedMessagesSnapshot{"r1", "f1", {{"m1", R"({"t":1})", 1, 1}}, "2026-01-01 00:00:00.000"}},
      {}};
  auto messages_done = store->CompleteAll(std::span(&messages_read, 1));
  ASSERT_TRUE(messages_done.has_value()) << messages_done.error().ToString();

  Section("fail, then release");
  ASSERT_TRUE(*store->Record(Event("msg_4", {storage, thread})));
  const TargetKind storage_and_thread[] = {TargetKind::kStorage, TargetKind::kThread};
  auto again = Claimed(store->ClaimDue("w1", storage_and_thread, 8, 60'000), 2);
  ASSERT_EQ(again.size(), 2u);
  ASSERT_TRUE(
      store->Fail(again[0], "storage: Liveblocks answered 500", clock_.NowMs() + 1000).has_value());
  ASSERT_TRUE(store->Release(again[1]).has_value());

  Section("every kind of deletion, the room last");
  clock_.Advance(2000);
  ASSERT_TRUE(*store->Record(Event("msg_5", {storage, ydoc, thread, notification, room})));
  auto gone = Claimed(store->ClaimDue("w1", every_kind, 8, 60'000), 5);
  std::vector<Completion> deletions;
  for (const Claim& claim : gone) {
    Completion completion{claim, {}, {}};
    if (claim.key.kind == TargetKind::kStorage) completion.writes.push_back(DocumentGone{"r1"});
    if (claim.key.kind == TargetKind::kYdoc) completion.writes.push_back(YdocGone{"r1"});
    if (claim.key.kind == TargetKind::kThread)
      completion.writes.push_back(ThreadGone{"r1", "th_1"});
    if (claim.key.kind == TargetKind::kNotification) {
      completion.writes.push_back(NotificationGone{"u1", "in_1"});
    }
    if (claim.key.kind == TargetKind::kRoom) completion.writes.push_back(RoomGone{"r1"});
    deletions.push_back(std::move(completion));
  }
  auto deleted = store->CompleteAll(deletions);
  ASSERT_TRUE(deleted.has_value()) << deleted.error().ToString();

  Section("search");
  ASSERT_TRUE(store->Search("hello", 10).has_value());

  std::string name = BackendName(::testing::TestParamInfo<Dialect>(GetParam(), 0));
  name[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(name[0])));
  const std::string golden = std::string(LBMIRROR_TESTDATA_DIR) + "/transcript/" + name + ".sql";
  const std::string actual = Transcript();
  if (std::getenv("LBMIRROR_UPDATE_TRANSCRIPT") != nullptr) {
    std::ofstream(golden) << actual;
    GTEST_SKIP() << "rewrote " << golden;
  }
  std::ifstream in(golden);
  ASSERT_TRUE(in.good()) << golden << " is missing: run with LBMIRROR_UPDATE_TRANSCRIPT=1";
  std::stringstream expected;
  expected << in.rdbuf();
  // Line by line, so that a failure shows the first statement that differs.
  std::istringstream want(expected.str()), got(actual);
  std::string want_line, got_line;
  for (int line = 1;; ++line) {
    bool more_wanted = static_cast<bool>(std::getline(want, want_line));
    bool more_got = static_cast<bool>(std::getline(got, got_line));
    if (!more_wanted && !more_got) break;
    ASSERT_EQ(more_got ? got_line : "<end>", more_wanted ? want_line : "<end>")
        << name << ".sql line " << line
        << " (LBMIRROR_UPDATE_TRANSCRIPT=1 rewrites the file for a change meant to alter it)";
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, SqlTranscriptTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kMysql, Dialect::kPostgres),
                         BackendName);

}  // namespace
}  // namespace lbmirror::store::sql
