// The row writers: every kind of row a read turns into (rooms, documents, Yjs states, threads
// with comments and reactions, flows, notifications and whole inboxes, active users), soft and
// hard deletes, ids and text kept exactly, documents deeper than the JSON type holds.
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

TEST_P(SqlStoreTest, CommentAttachmentsFollowTheirThreadAndRoom) {
  auto with = [](std::vector<AttachmentRow> attachments) {
    ThreadSnapshot snapshot = Thread({{"cm_1", "see attached"}}, {});
    snapshot.attachments = std::move(attachments);
    return snapshot;
  };
  const AttachmentRow plan{"at_1",       "cm_1", "th_1",           "room-1",
                           "plan 📐.pdf", 12345,  "application/pdf"};
  const AttachmentRow sketch{"at_2",       "cm_1",       "th_1",      "room-1",
                             "sketch.png", std::nullopt, std::nullopt};
  COMPLETE_WITH(store_, with({plan, sketch}));
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}comment_attachments WHERE deleted_at IS NULL"), "2");
  EXPECT_EQ(One("SELECT name FROM {p}comment_attachments WHERE attachment_id = 'at_1'"),
            "plan 📐.pdf");
  EXPECT_EQ(One("SELECT size FROM {p}comment_attachments WHERE attachment_id = 'at_1'"), "12345");
  EXPECT_EQ(One("SELECT mime_type FROM {p}comment_attachments WHERE attachment_id = 'at_2'"),
            "NULL");
  clock_.Advance(1'000);
  COMPLETE_WITH(store_, with({plan}));  // the comment was edited: the sketch is gone
  EXPECT_NE(One("SELECT deleted_at FROM {p}comment_attachments WHERE attachment_id = 'at_2'"),
            "NULL");
  EXPECT_EQ(One("SELECT deleted_at FROM {p}comment_attachments WHERE attachment_id = 'at_1'"),
            "NULL");
  clock_.Advance(1'000);
  COMPLETE_WITH(store_, ThreadGone{"room-1", "th_1"});
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}comment_attachments WHERE deleted_at IS NULL"), "0");
  clock_.Advance(1'000);
  COMPLETE_WITH(store_, with({plan, sketch}));  // the thread again (a restored room)
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}comment_attachments WHERE deleted_at IS NULL"), "2");
  COMPLETE_WITH(store_, RoomGone{"room-1"});
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}comment_attachments WHERE deleted_at IS NULL"), "0");

  auto hard = MakeStore(prefix_, 0, /*hard_deletes=*/true);
  store_.reset();
  clock_.Advance(1'000);
  COMPLETE_WITH(hard, with({plan, sketch}));
  clock_.Advance(1'000);
  COMPLETE_WITH(hard, with({sketch}));
  EXPECT_EQ(One("SELECT attachment_id FROM {p}comment_attachments"), "at_2");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}comment_attachments"), "1");
  COMPLETE_WITH(hard, RoomGone{"room-1"});
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}comment_attachments"), "0");
}

TEST_P(SqlStoreTest, GroupsAndTheirMembersBecomeTheListing) {
  auto group = [](std::string id, std::vector<std::string> members) {
    GroupRow row{id,
                 "default",
                 R"({"mention":true})",
                 "2026-01-01 10:00:00.000",
                 std::nullopt,
                 R"({"id":")" + id + R"("})",
                 {}};
    for (std::string& m : members) row.members.push_back({std::move(m), std::nullopt});
    return row;
  };
  auto listed = [&] { return FormatSqlTimestamp(clock_.NowMs()); };
  COMPLETE_WITH(store_,
                GroupsSnapshot{{group("eng", {"alice", "bob"}), group("ops", {"carl"})}, listed()});
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}groups WHERE deleted_at IS NULL"), "2");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}group_members"), "3");
  EXPECT_EQ(One("SELECT organization_id FROM {p}groups WHERE group_id = 'eng'"), "default");
  clock_.Advance(1'000);
  // bob left eng, ops was deleted, design is new.
  COMPLETE_WITH(store_,
                GroupsSnapshot{{group("eng", {"alice"}), group("design", {"dora"})}, listed()});
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}group_members WHERE group_id = 'eng'"), "1");
  EXPECT_EQ(One("SELECT user_id FROM {p}group_members WHERE group_id = 'eng'"), "alice");
  EXPECT_NE(One("SELECT deleted_at FROM {p}groups WHERE group_id = 'ops'"), "NULL");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}group_members WHERE group_id = 'ops'"), "0");
  EXPECT_EQ(One("SELECT deleted_at FROM {p}groups WHERE group_id = 'design'"), "NULL");
  clock_.Advance(1'000);
  COMPLETE_WITH(store_, GroupsSnapshot{{group("ops", {"carl"})}, listed()});
  EXPECT_EQ(One("SELECT deleted_at FROM {p}groups WHERE group_id = 'ops'"), "NULL") << "back";

  auto hard = MakeStore(prefix_, 0, /*hard_deletes=*/true);
  store_.reset();
  clock_.Advance(1'000);
  COMPLETE_WITH(hard, GroupsSnapshot{{}, FormatSqlTimestamp(clock_.NowMs())});
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}groups"), "0");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}group_members"), "0");
}

TEST_P(SqlStoreTest, AVersionHistoryIsKeptAndEachNewVersionsContentIsReadOnce) {
  auto version = [](std::string id) {
    return VersionRow{id, "2026-01-01 10:00:00.000", R"(["alice"])", R"({"id":")" + id + R"("})"};
  };
  auto listed = [&] { return FormatSqlTimestamp(clock_.NowMs()); };
  const TargetKind content_kind[] = {TargetKind::kVersionYdoc};
  auto claim_content = [&] {
    auto claims = store_->ClaimDue("w", content_kind, 10, 60'000);
    EXPECT_TRUE(claims.has_value());
    return claims ? *claims : std::vector<Claim>{};
  };
  COMPLETE_WITH(store_, VersionsSnapshot{"room-1", {version("vh_2"), version("vh_1")}, listed()});
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}room_versions WHERE deleted_at IS NULL"), "2");
  EXPECT_EQ(One("SELECT authors FROM {p}room_versions WHERE version_id = 'vh_1'"), R"(["alice"])");
  auto to_read = claim_content();
  ASSERT_EQ(to_read.size(), 2u) << "each new version's content is marked to be read";
  for (const Claim& claim : to_read) {
    RowWrite row = VersionYdocRow{"room-1", claim.key.object_id,        R"({"t":"x"})",
                                  "x",      std::string("\x01\x00", 2), 1};
    ASSERT_TRUE(*store_->Complete(claim, std::span(&row, 1), {}));
  }
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}room_version_ydocs WHERE deleted_at IS NULL"), "2");
  EXPECT_EQ(One("SELECT text FROM {p}room_version_ydocs WHERE version_id = 'vh_2'"), "x");

  clock_.Advance(1'000);
  COMPLETE_WITH(store_, VersionsSnapshot{"room-1", {version("vh_3"), version("vh_2")}, listed()});
  auto again = claim_content();
  ASSERT_EQ(again.size(), 1u) << "only the new version: a version never changes";
  EXPECT_EQ(again[0].key.object_id, "vh_3");
  EXPECT_NE(One("SELECT deleted_at FROM {p}room_versions WHERE version_id = 'vh_1'"), "NULL");
  EXPECT_NE(One("SELECT deleted_at FROM {p}room_version_ydocs WHERE version_id = 'vh_1'"), "NULL");
  RowWrite gone = VersionYdocGone{"room-1", "vh_3"};
  ASSERT_TRUE(*store_->Complete(again[0], std::span(&gone, 1), {}));
  COMPLETE_WITH(store_, RoomGone{"room-1"});
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}room_versions WHERE deleted_at IS NULL"), "0");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}room_version_ydocs WHERE deleted_at IS NULL"), "0");
}

TEST_P(SqlStoreTest, AThreadsFollowersFollowTheirListingAndGoWithTheThreadAndTheRoom) {
  auto listed = [&] { return FormatSqlTimestamp(clock_.NowMs()); };
  auto live = [&](std::string_view where) {
    return One(Cat("SELECT COUNT(*) FROM {p}thread_subscriptions WHERE deleted_at IS NULL", where));
  };
  COMPLETE_WITH(store_, ThreadSubscriptionsSnapshot{
                            "room-1",
                            "th_1",
                            {{"alice", "thread", "2026-01-01 10:00:00.000"}, {"bob", "thread", {}}},
                            listed()});
  COMPLETE_WITH(store_,
                ThreadSubscriptionsSnapshot{"room-1", "th_2", {{"alice", "thread", {}}}, listed()});
  EXPECT_EQ(live(""), "3");
  EXPECT_EQ(One("SELECT created_at FROM {p}thread_subscriptions WHERE user_id = 'alice' AND"
                " thread_id = 'th_1'"),
            "2026-01-01 10:00:00.000");
  clock_.Advance(1'000);
  // bob unsubscribed (no webhook says so): the next listing lacks him.
  COMPLETE_WITH(store_,
                ThreadSubscriptionsSnapshot{"room-1", "th_1", {{"alice", "thread", {}}}, listed()});
  EXPECT_EQ(live(" AND thread_id = 'th_1'"), "1");
  EXPECT_NE(One("SELECT deleted_at FROM {p}thread_subscriptions WHERE user_id = 'bob'"), "NULL");
  // A listing begun before a newer read's write leaves that write alone.
  COMPLETE_WITH(store_,
                ThreadSubscriptionsSnapshot{"room-1", "th_2", {}, "2000-01-01 00:00:00.000"});
  EXPECT_EQ(live(" AND thread_id = 'th_2'"), "1");
  COMPLETE_WITH(store_, ThreadGone{"room-1", "th_1"});
  EXPECT_EQ(live(" AND thread_id = 'th_1'"), "0") << "a thread deleted takes its followers";
  COMPLETE_WITH(store_, RoomGone{"room-1"});
  EXPECT_EQ(live(""), "0") << "so does a room deleted";
}

TEST_P(SqlStoreTest, FeedsAndTheirMessagesFollowTheirListings) {
  auto listed = [&] { return FormatSqlTimestamp(clock_.NowMs()); };
  const TargetKind messages_kind[] = {TargetKind::kFeedMessages};
  auto claim_messages = [&] {
    auto claims = store_->ClaimDue("w", messages_kind, 10, 60'000);
    EXPECT_TRUE(claims.has_value());
    return claims ? *claims : std::vector<Claim>{};
  };
  auto feed = [](std::string id, int64_t updated) {
    return FeedRow{id, R"({"type":"chat"})", 1660000988137, updated, R"({"feedId":")" + id + "\"}"};
  };
  auto message = [](std::string id, std::string text) {
    return FeedMessageRow{id, R"({"content":")" + text + "\"}", 1660000988137, 1660000988137};
  };
  COMPLETE_WITH(store_, FeedsSnapshot{"room-1", {feed("f1", 1), feed("f2", 1)}, listed()});
  EXPECT_EQ(One("SELECT updated_at_ms FROM {p}feeds WHERE feed_id = 'f2'"), "1");
  EXPECT_EQ(One("SELECT created_at_ms FROM {p}feeds WHERE feed_id = 'f1'"), "1660000988137");
  auto to_read = claim_messages();
  ASSERT_EQ(to_read.size(), 2u) << "each listed feed's messages are marked to be read";
  for (const Claim& claim : to_read) {
    RowWrite rows = FeedMessagesSnapshot{
        "room-1", claim.key.object_id, {message("m1", "hi"), message("m2", "yo")}, listed()};
    ASSERT_TRUE(*store_->Complete(claim, std::span(&rows, 1), {}));
  }
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}feed_messages WHERE deleted_at IS NULL"), "4");
  clock_.Advance(1'000);
  // In f1, m1 edited and m2 deleted; f2 deleted.
  COMPLETE_WITH(store_, FeedsSnapshot{"room-1", {feed("f1", 2)}, listed()});
  EXPECT_NE(One("SELECT deleted_at FROM {p}feeds WHERE feed_id = 'f2'"), "NULL");
  EXPECT_EQ(
      One("SELECT COUNT(*) FROM {p}feed_messages WHERE feed_id = 'f2' AND deleted_at IS NULL"), "0")
      << "a feed gone takes its messages";
  auto again = claim_messages();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].key.object_id, "f1");
  RowWrite edited = FeedMessagesSnapshot{"room-1", "f1", {message("m1", "edited")}, listed()};
  ASSERT_TRUE(*store_->Complete(again[0], std::span(&edited, 1), {}));
  ExpectJson("SELECT data FROM {p}feed_messages WHERE feed_id = 'f1' AND message_id = 'm1'",
             R"({"content":"edited"})");
  EXPECT_NE(One("SELECT deleted_at FROM {p}feed_messages WHERE feed_id = 'f1' AND"
                " message_id = 'm2'"),
            "NULL");
  COMPLETE_WITH(store_, RoomGone{"room-1"});
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}feeds WHERE deleted_at IS NULL"), "0");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}feed_messages WHERE deleted_at IS NULL"), "0");
}

// A room's Storage or Yjs read marks its versions and feeds to be read after the delay, once
// for the activity of that while: later reads neither postpone nor hasten it; once read, the
// next activity schedules them again.
TEST_P(SqlStoreTest, ARoomsEditsHaveItsVersionsAndFeedsReadOnceAfterTheDelay) {
  SqlStoreOptions options;
  options.table_prefix = prefix_;
  options.pool_size = GetParam() == Dialect::kSqlite ? 1 : 4;
  options.after_edit = {900'000, {TargetKind::kVersions, TargetKind::kFeeds}};
  auto store = std::make_unique<SqlStore>(GetParam(), factory_, options, clock_);
  const int64_t first = clock_.NowMs();
  COMPLETE_WITH(store, DocumentRow{"room-1", R"({"a":1})", 1});
  auto due = [&](std::string_view kind) {
    return One(Cat("SELECT next_attempt_at FROM {p}targets WHERE kind = '", kind,
                   "' AND scope_id = 'room-1' AND dirty_seq > done_seq"));
  };
  EXPECT_EQ(due("versions"), std::to_string(first + 900'000));
  EXPECT_EQ(due("feeds"), std::to_string(first + 900'000));
  clock_.Advance(60'000);
  COMPLETE_WITH(store, YdocRow{"room-1", R"({"t":"x"})", "x", "state", 1});
  EXPECT_EQ(due("versions"), std::to_string(first + 900'000)) << "not postponed by more edits";
  const TargetKind versions[] = {TargetKind::kVersions};
  clock_.Advance(900'000);
  auto claims = store->ClaimDue("w", versions, 10, 60'000);
  ASSERT_TRUE(claims.has_value() && claims->size() == 1u);
  RowWrite listed = VersionsSnapshot{"room-1", {}, FormatSqlTimestamp(clock_.NowMs())};
  ASSERT_TRUE(*store->Complete((*claims)[0], std::span(&listed, 1), {}));
  EXPECT_EQ(due("versions"), "<no row>");
  COMPLETE_WITH(store, DocumentRow{"room-1", R"({"a":2})", 1});
  EXPECT_EQ(due("versions"), std::to_string(clock_.NowMs() + 900'000)) << "the next activity";
  // Without the option (the default), nothing is marked.
  COMPLETE_WITH(store_, DocumentRow{"room-2", R"({"a":1})", 1});
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}targets WHERE scope_id = 'room-2' AND kind IN"
                " ('versions', 'feeds')"),
            "0");
}

TEST_P(SqlStoreTest, AUsersSettingsAreKeptAndFollowTheirListing) {
  COMPLETE_WITH(store_, NotificationSettingsRow{"alice", R"({"email":{"thread":true}})"});
  COMPLETE_WITH(store_, NotificationSettingsRow{"alice", R"({"email":{"thread":false}})"});
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}notification_settings"), "1");
  EXPECT_NE(One("SELECT settings FROM {p}notification_settings").find("false"), std::string::npos);
  COMPLETE_WITH(store_, NotificationSettingsGone{"alice"});
  EXPECT_NE(One("SELECT deleted_at FROM {p}notification_settings"), "NULL");

  auto listed = [&] { return FormatSqlTimestamp(clock_.NowMs()); };
  COMPLETE_WITH(store_, RoomSubscriptionSettingsSnapshot{
                            "alice", {{"r1", "all", "mine"}, {"r2", "none", "none"}}, listed()});
  COMPLETE_WITH(store_, RoomSubscriptionSettingsSnapshot{
                            "bob", {{"r1", "replies_and_mentions", "mine"}}, listed()});
  clock_.Advance(1'000);
  COMPLETE_WITH(store_, RoomSubscriptionSettingsSnapshot{
                            "alice", {{"r1", "replies_and_mentions", "none"}}, listed()});
  EXPECT_EQ(One("SELECT threads FROM {p}room_subscription_settings WHERE user_id = 'alice'"
                " AND room_id = 'r1'"),
            "replies_and_mentions");
  EXPECT_NE(One("SELECT deleted_at FROM {p}room_subscription_settings WHERE user_id = 'alice'"
                " AND room_id = 'r2'"),
            "NULL");
  EXPECT_EQ(One("SELECT deleted_at FROM {p}room_subscription_settings WHERE user_id = 'bob'"),
            "NULL")
      << "another user's";
}

TEST_P(SqlStoreTest, HardDeletesRemoveRowsInsteadOfMarkingThem) {
  auto hard = MakeStore(prefix_, 0, /*hard_deletes=*/true);
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

TEST_P(SqlStoreTest, AUsersInboxReplacesItsNotificationsButNotThoseWrittenSinceItsListing) {
  auto notification = [](std::string id, std::string user, OptionalText read_at) {
    return NotificationRow{
        id,      user, "thread", "room-1", "th_1", std::nullopt, "2026-01-01 10:00:00.000",
        read_at, "{}"};
  };
  COMPLETE_WITH(store_, notification("in_read", "bob", std::nullopt));
  COMPLETE_WITH(store_, notification("in_gone", "bob", std::nullopt));
  COMPLETE_WITH(store_, notification("in_alice", "alice", std::nullopt));
  clock_.Advance(1'000);
  const std::string listed_at = FormatSqlTimestamp(clock_.NowMs());
  clock_.Advance(1'000);
  // Written by a newer read (a webhook's) while the listing was in flight: not in the listing.
  COMPLETE_WITH(store_, notification("in_newer", "bob", std::nullopt));
  clock_.Advance(1'000);
  COMPLETE_WITH(store_, InboxSnapshot{"bob",
                                      {notification("in_read", "bob", "2026-01-01 11:00:00.000"),
                                       notification("in_new", "bob", std::nullopt)},
                                      listed_at});
  auto state = [&](const std::string& id) {
    const std::string where =
        Cat(" FROM {p}notifications WHERE inbox_notification_id = '", id, "'");
    const std::string read_at = One("SELECT read_at" + where);
    return Cat(read_at == "NULL" ? "unread" : read_at,
               One("SELECT deleted_at" + where) == "NULL" ? " live" : " deleted");
  };
  EXPECT_EQ(state("in_read"), "2026-01-01 11:00:00.000 live")
      << "its readAt, which no webhook says";
  EXPECT_EQ(state("in_new"), "unread live") << "never announced";
  EXPECT_EQ(state("in_gone"), "unread deleted") << "deleted in the app";
  EXPECT_EQ(state("in_newer"), "unread live") << "newer than the listing";
  EXPECT_EQ(state("in_alice"), "unread live") << "another user's";

  auto hard = MakeStore(prefix_, 0, /*hard_deletes=*/true);
  store_.reset();
  clock_.Advance(1'000);
  COMPLETE_WITH(hard, InboxSnapshot{"bob", {}, FormatSqlTimestamp(clock_.NowMs())});
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}notifications WHERE user_id = 'bob'"), "0");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}notifications WHERE user_id = 'alice'"), "1");
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

}  // namespace
}  // namespace lbmirror::store::sql
