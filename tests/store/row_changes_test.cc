// The change feed's rows (sql/row_changes.h), on SQLite, MySQL/MariaDB and Postgres: every kind
// of row the mirror writes appends its changes (insert with the row, update with the row and the
// previous values of what changed, delete with the row as it was) in the completion's
// transaction, a re-read that changes nothing appends none, and a change's cause names the
// webhooks that marked its target.
#include "store/sql/row_changes.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <string>
#include <tuple>
#include <vector>

#include "core/text.h"
#include "store/sql_store_fixture.h"
#include "webhook/event.h"

namespace lbmirror::store::sql {
namespace {
namespace json = boost::json;

using Ops = std::vector<std::tuple<std::string, std::string, std::string>>;

class RowChangesTest : public SqlStoreTest {
 protected:
  void SetUp() override {
    SqlStoreTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    SqlStoreOptions options;
    options.table_prefix = prefix_;
    options.pool_size = GetParam() == Dialect::kSqlite ? 1 : 4;
    options.change_feed = true;
    options.event_targets = [](std::string_view payload) {
      auto event = webhook::ParseEvent(payload);
      return event ? event->targets : std::vector<TargetKey>{};
    };
    feed_ = std::make_unique<SqlStore>(GetParam(), factory_, options, clock_);
  }
  void TearDown() override {
    feed_.reset();
    SqlStoreTest::TearDown();
  }
  // Marks room-1's room target, claims everything due and completes the room target with
  // `writes` (the others, marked by earlier writes, with none).
  void Mirror(const std::vector<RowWrite>& writes) {
    clock_.Advance(1000);
    ASSERT_TRUE(*feed_->Record(Event(Cat("msg_w", ++writes_seq_), {kRoom})));
    auto claims = feed_->ClaimDue("w", kAllKinds, 50, 60'000);
    ASSERT_TRUE(claims.has_value()) << claims.error().ToString();
    for (const Claim& claim : *claims) {
      auto done = feed_->Complete(claim, claim.key == kRoom ? writes : std::vector<RowWrite>{}, {});
      ASSERT_TRUE(done.has_value()) << done.error().ToString();
    }
  }
  // The changes appended since the last call.
  std::vector<Change> Next() {
    auto placed = feed_->SequenceChanges(1000);
    EXPECT_TRUE(placed.has_value()) << placed.error().ToString();
    auto changes = feed_->ReadChanges(read_, 1000, {});
    EXPECT_TRUE(changes.has_value()) << changes.error().ToString();
    if (!changes) return {};
    if (!changes->empty()) read_ = *changes->back().position;
    return *changes;
  }
  static Ops OpsOf(const std::vector<Change>& changes) {
    Ops ops;
    for (const Change& c : changes) ops.emplace_back(c.kind, c.op, c.entity_key);
    return ops;
  }
  // The payload of the only change of `kind`/`op` among `changes`.
  static json::object Payload(const std::vector<Change>& changes, std::string_view kind,
                              std::string_view op) {
    json::object found;
    int count = 0;
    for (const Change& c : changes) {
      if (c.kind == kind && c.op == op) {
        found = json::parse(c.payload).as_object();
        ++count;
      }
    }
    EXPECT_EQ(count, 1) << kind << " " << op;
    return found;
  }

  std::unique_ptr<SqlStore> feed_;
  int64_t read_ = 0;
};

RoomRow Room(std::string metadata) {
  return {"room-1", "org", std::move(metadata),       R"(["room:write"])",
          "{}",     "{}",  "2026-01-01 10:00:00.000", std::nullopt};
}

TEST_P(RowChangesTest, RoomsThreadsCommentsAndReactionsChangeOnlyWhenTheirRowsDo) {
  Mirror({Room(R"({"a":1})")});
  Mirror({Room(R"({"a":1})")});  // read again, unchanged
  Mirror({Room(R"({"a":2})")});
  auto changes = Next();
  EXPECT_EQ(OpsOf(changes), (Ops{{"room", "insert", "room-1"}, {"room", "update", "room-1"}}));
  ASSERT_EQ(changes.size(), 2u);
  json::object update = json::parse(changes[1].payload).as_object();
  EXPECT_EQ(update.at("previous"), json::parse(R"({"metadata":{"a":1}})"));
  EXPECT_EQ(update.at("row").at("metadata"), json::parse(R"({"a":2})"));
  EXPECT_EQ(update.at("row").at("created_at"), "2026-01-01T10:00:00.000Z");
  EXPECT_EQ(update.at("row").at("last_connection_at"), nullptr);
  EXPECT_EQ(changes[0].room_id, "room-1");
  EXPECT_EQ(json::parse(changes[0].cause), json::parse(R"({"reason":"reconciliation"})"));

  Mirror({Thread({{"c1", "hi"}}, {{"c1", "+1", "bob"}})});
  Mirror({Thread({{"c1", "hi"}}, {{"c1", "+1", "bob"}})});  // unchanged
  changes = Next();
  EXPECT_EQ(OpsOf(changes), (Ops{{"thread", "insert", "th_1"},
                                 {"comment", "insert", "c1"},
                                 {"reaction", "insert", "c1/+1/bob"}}));
  EXPECT_EQ(Payload(changes, "reaction", "insert").at("row"),
            json::parse(R"({"comment_id":"c1","emoji":"+1","user_id":"bob","thread_id":"th_1",
                            "room_id":"room-1","created_at":"2026-01-01T10:02:00.000Z"})"));

  Mirror({Thread({{"c1", "hello"}, {"c2", "more"}}, {}, /*resolved=*/true)});
  changes = Next();
  EXPECT_EQ(OpsOf(changes), (Ops{{"thread", "update", "th_1"},
                                 {"comment", "update", "c1"},
                                 {"comment", "insert", "c2"},
                                 {"reaction", "delete", "c1/+1/bob"}}));
  EXPECT_EQ(Payload(changes, "thread", "update").at("previous"),
            json::parse(R"({"resolved":false})"));
  EXPECT_EQ(Payload(changes, "thread", "update").at("row").at("resolved"), true);
  EXPECT_EQ(Payload(changes, "comment", "update").at("previous"),
            json::parse(R"({"body_text":"hi"})"));
  EXPECT_EQ(Payload(changes, "reaction", "delete").at("previous").at("user_id"), "bob");

  Mirror({ThreadGone{"room-1", "th_1"}});
  Mirror({ThreadGone{"room-1", "th_1"}});  // gone already
  EXPECT_EQ(OpsOf(Next()), (Ops{{"thread", "delete", "th_1"},
                                {"comment", "delete", "c1"},
                                {"comment", "delete", "c2"}}));
}

TEST_P(RowChangesTest, NotificationsPresenceAndDiagramsChangeOnlyWhenTheirRowsDo) {
  NotificationRow n{"in_1",
                    "alice",
                    "thread",
                    "room-1",
                    "th_1",
                    std::nullopt,
                    "2026-01-01 10:00:00.000",
                    std::nullopt,
                    R"({"id":"in_1"})"};
  Mirror({n});
  Mirror({n});
  n.read_at = "2026-01-01 11:00:00.000";
  Mirror({n});
  Mirror({NotificationGone{"alice", "in_1"}});
  auto changes = Next();
  EXPECT_EQ(OpsOf(changes), (Ops{{"notification", "insert", "in_1"},
                                 {"notification", "update", "in_1"},
                                 {"notification", "delete", "in_1"}}));
  EXPECT_EQ(Payload(changes, "notification", "update").at("previous"),
            json::parse(R"({"read_at":null})"));
  EXPECT_EQ(Payload(changes, "notification", "update").at("row").at("read_at"),
            "2026-01-01T11:00:00.000Z");

  Mirror({ActiveUsersSnapshot{"room-1", {{7, "alice", R"({"name":"A"})"}}}});
  Mirror({ActiveUsersSnapshot{"room-1", {{7, "alice", R"({"name":"A"})"}}}});
  Mirror({ActiveUsersSnapshot{"room-1", {{8, "bob", std::nullopt}}}});
  changes = Next();
  // Presence read before the room makes the room's row (its count only: later counts change
  // no column the feed describes).
  EXPECT_EQ(OpsOf(changes), (Ops{{"active_user", "insert", "room-1/7"},
                                 {"room", "insert", "room-1"},
                                 {"active_user", "delete", "room-1/7"},
                                 {"active_user", "insert", "room-1/8"}}));
  EXPECT_EQ(Payload(changes, "active_user", "delete").at("previous"),
            json::parse(R"({"room_id":"room-1","connection_id":7,"user_id":"alice",
                            "user_info":{"name":"A"}})"));

  auto flow = [](double x) {
    FlowSnapshot snapshot{"room-1", "flow", {}, {}};
    snapshot.nodes.push_back({"n1", "input", x, 2.5, R"({"label":"a"})", R"({"id":"n1"})"});
    snapshot.edges.push_back({"e1", "n1", "n2", std::nullopt, std::nullopt, R"({"id":"e1"})"});
    return snapshot;
  };
  Mirror({flow(1)});
  Mirror({flow(1)});
  Mirror({flow(4)});
  changes = Next();
  EXPECT_EQ(OpsOf(changes), (Ops{{"flow_node", "insert", "room-1/flow/n1"},
                                 {"flow_edge", "insert", "room-1/flow/e1"},
                                 {"flow_node", "update", "room-1/flow/n1"}}));
  // (Postgres' jsonb keeps the number, not its spelling: 1.0 comes back as 1.)
  json::object previous = Payload(changes, "flow_node", "update").at("previous").as_object();
  EXPECT_EQ(previous.size(), 1u);
  EXPECT_EQ(previous.at("position_x").to_number<double>(), 1.0);
}

TEST_P(RowChangesTest, TheKindsNoWebhookAnnouncesAndARoomsDeletionAppendTheirChanges) {
  GroupsSnapshot groups{{{"g1",
                          "org",
                          R"({"mention":true})",
                          std::nullopt,
                          std::nullopt,
                          R"({"id":"g1"})",
                          {{"alice", std::nullopt}}}},
                        "2026-01-01 00:00:00.000"};
  Mirror({groups});
  Mirror({NotificationSettingsRow{"alice", R"({"email":{"thread":true}})"}});
  Mirror({RoomSubscriptionSettingsSnapshot{"alice", {{"room-1", "all", "mine"}}, "2026-01-01"}});
  Mirror({ThreadSubscriptionsSnapshot{
      "room-1", "th_1", {{"bob", "thread", std::nullopt}}, "2026-01-01"}});
  Mirror({FeedsSnapshot{"room-1", {{"f1", "{}", 1000, 2000, R"({"id":"f1"})"}}, "2026-01-01"}});
  Mirror({FeedMessagesSnapshot{
      "room-1", "f1", {{"m1", R"({"text":"x"})", 1000, 1000}}, "2026-01-01"}});
  Mirror({VersionsSnapshot{
      "room-1", {{"v1", std::nullopt, R"(["alice"])", R"({"id":"v1"})"}}, "2026-01-01"}});
  Mirror({groups});  // each read again, unchanged
  Mirror({NotificationSettingsRow{"alice", R"({"email":{"thread":true}})"}});
  Mirror({FeedsSnapshot{"room-1", {{"f1", "{}", 1000, 2000, R"({"id":"f1"})"}}, "2026-01-01"}});
  auto changes = Next();
  EXPECT_EQ(OpsOf(changes), (Ops{{"group", "insert", "g1"},
                                 {"group_member", "insert", "g1/alice"},
                                 {"notification_settings", "insert", "alice"},
                                 {"room_subscription_settings", "insert", "room-1/alice"},
                                 {"thread_subscription", "insert", "th_1/bob"},
                                 {"feed", "insert", "room-1/f1"},
                                 {"feed_message", "insert", "room-1/f1/m1"},
                                 {"version", "insert", "room-1/v1"}}));
  EXPECT_EQ(Payload(changes, "feed", "insert").at("row").at("updated_at_ms"), 2000);
  EXPECT_EQ(Payload(changes, "feed_message", "insert").at("row").at("data"),
            json::parse(R"({"text":"x"})"));

  Mirror({NotificationSettingsGone{"alice"}});
  Mirror({RoomRow{Room("{}")}});
  Mirror({RoomGone{"room-1"}});
  EXPECT_EQ(OpsOf(Next()), (Ops{{"notification_settings", "delete", "alice"},
                                {"room", "insert", "room-1"},
                                {"room", "delete", "room-1"},
                                {"thread_subscription", "delete", "th_1/bob"},
                                {"version", "delete", "room-1/v1"},
                                {"feed", "delete", "room-1/f1"},
                                {"feed_message", "delete", "room-1/f1/m1"}}));
}

// A change's cause names the stored webhooks that marked its target since it became due; a
// presence session's change is its webhook's.
TEST_P(RowChangesTest, ACauseNamesTheWebhooksThatMarkedTheTarget) {
  InboxEvent event = Event("msg_storage_1", {kStorage});
  event.payload = R"({"type":"storageUpdated","data":{"roomId":"room-1"}})";
  ASSERT_TRUE(*feed_->Record(event));
  InboxEvent ydoc = Event("msg_ydoc_same_room", {{TargetKind::kYdoc, "room-1", ""}});
  ydoc.payload = R"({"type":"ydocUpdated","data":{"roomId":"room-1"}})";
  ASSERT_TRUE(*feed_->Record(ydoc));
  InboxEvent other = Event("msg_other_room", {{TargetKind::kStorage, "room-2", ""}});
  other.room_id = "room-2";
  ASSERT_TRUE(*feed_->Record(other));
  auto claims = feed_->ClaimDue("w", kAllKinds, 10, 60'000);
  ASSERT_TRUE(claims.has_value());
  for (const Claim& claim : *claims) {
    std::vector<RowWrite> writes;
    if (claim.key == kStorage) writes.push_back(DocumentRow{"room-1", R"({"a":1})", 1});
    ASSERT_TRUE(*feed_->Complete(claim, writes, {}));
  }
  auto changes = Next();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(json::parse(changes[0].cause),
            json::parse(R"({"reason":"webhook","webhooks":["msg_storage_1"]})"));

  InboxEvent entered = Event("msg_enter", {{TargetKind::kPresence, "room-1", ""}});
  entered.session = SessionChange{true, "room-1", 42, "alice", "", clock_.NowMs()};
  ASSERT_TRUE(*feed_->Record(entered));
  clock_.Advance(5000);
  InboxEvent left = Event("msg_leave", {{TargetKind::kPresence, "room-1", ""}});
  left.session = SessionChange{false, "room-1", 42, "alice", "", clock_.NowMs()};
  ASSERT_TRUE(*feed_->Record(left));
  changes = Next();
  ASSERT_EQ(OpsOf(changes).size(), 2u);
  EXPECT_EQ(changes[0].kind, "session");
  EXPECT_EQ(changes[0].op, "insert");
  EXPECT_EQ(changes[1].op, "update");
  EXPECT_EQ(json::parse(changes[1].cause),
            json::parse(R"({"reason":"webhook","webhooks":["msg_leave"]})"));
  EXPECT_EQ(json::parse(changes[1].payload).at("previous"), json::parse(R"({"left_at":null})"));
}

// A document deeper than the database's JSON type takes (MariaDB: 32 levels) is still
// mirrored with the feed on: its change says only that it changed.
TEST_P(RowChangesTest, ADocumentTooDeepForTheJsonTypeStillCompletesWithItsChange) {
  const std::string deep = std::string(60, '[') + "1" + std::string(60, ']');
  Mirror({DocumentRow{"room-1", deep, 61}});
  auto changes = Next();
  ASSERT_EQ(changes.size(), 1u);
  json::parse_options options;
  options.max_depth = 200;
  json::object payload = json::parse(changes[0].payload, {}, options).as_object();
  if (GetParam() == Dialect::kMysql) {
    EXPECT_EQ(payload.at("too_deep"), true);
  } else {
    EXPECT_TRUE(payload.contains("patch")) << changes[0].payload;
  }
}

// A read no stored webhook explains names why it was marked: an operator's replay, mirror
// again or retry; a reconciliation's mark clears that.
TEST_P(RowChangesTest, ACauseWithoutAWebhookNamesTheOperatorsReasonUntilReconciliationMarksIt) {
  auto read = [&](std::string_view reason, const std::string& data) {
    ASSERT_TRUE(feed_->MarkDirty(std::vector<TargetKey>{kStorage}, reason).has_value());
    auto claims = feed_->ClaimDue("w", kAllKinds, 10, 60'000);
    ASSERT_TRUE(claims.has_value() && claims->size() == 1u);
    std::vector<RowWrite> writes = {DocumentRow{"room-1", data, 1}};
    ASSERT_TRUE(*feed_->Complete((*claims)[0], writes, {}));
  };
  read("replay", R"({"a":1})");
  read("mirror_again", R"({"a":2})");
  read("", R"({"a":3})");
  // An operator's retry of a target that is not pending reads it again...
  ASSERT_EQ(*feed_->RetryNow(kStorage), 1);
  auto claims = feed_->ClaimDue("w", kAllKinds, 10, 60'000);
  ASSERT_TRUE(claims.has_value() && claims->size() == 1u);
  std::vector<RowWrite> writes = {DocumentRow{"room-1", R"({"a":4})", 1}};
  ASSERT_TRUE(*feed_->Complete((*claims)[0], writes, {}));
  // ...and of a failed one hastens its next attempt, which says which attempt it is.
  ASSERT_TRUE(feed_->MarkDirty(std::vector<TargetKey>{kStorage}, "").has_value());
  claims = feed_->ClaimDue("w", kAllKinds, 10, 60'000);
  ASSERT_TRUE(claims.has_value() && claims->size() == 1u);
  ASSERT_TRUE(feed_->Fail((*claims)[0], "HTTP 500", clock_.NowMs() + 3'600'000).has_value());
  ASSERT_EQ(*feed_->RetryNow(std::nullopt), 1);
  claims = feed_->ClaimDue("w", kAllKinds, 10, 60'000);
  ASSERT_TRUE(claims.has_value() && claims->size() == 1u);
  writes = {DocumentRow{"room-1", R"({"a":5})", 1}};
  ASSERT_TRUE(*feed_->Complete((*claims)[0], writes, {}));
  std::vector<json::value> causes;
  for (const Change& change : Next()) causes.push_back(json::parse(change.cause));
  EXPECT_EQ(causes,
            (std::vector<json::value>{
                json::parse(R"({"reason":"replay"})"), json::parse(R"({"reason":"mirror_again"})"),
                json::parse(R"({"reason":"reconciliation"})"), json::parse(R"({"reason":"retry"})"),
                json::parse(R"({"reason":"retry","attempt":2})")}));
}

INSTANTIATE_TEST_SUITE_P(Backends, RowChangesTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kMysql, Dialect::kPostgres),
                         BackendName);

TEST(ChangeTablesTest, EveryKindTheTablesMakeIsOneReadersCanAskFor) {
  for (std::string_view table : {"rooms",
                                 "documents",
                                 "ydocs",
                                 "threads",
                                 "comments",
                                 "comment_reactions",
                                 "comment_attachments",
                                 "notifications",
                                 "active_users",
                                 "room_sessions",
                                 "flow_nodes",
                                 "flow_edges",
                                 "groups",
                                 "group_members",
                                 "room_versions",
                                 "room_version_ydocs",
                                 "notification_settings",
                                 "room_subscription_settings",
                                 "thread_subscriptions",
                                 "feeds",
                                 "feed_messages"}) {
    const ChangeTable* described = ChangeTableFor(table);
    ASSERT_NE(described, nullptr) << table;
    EXPECT_NE(std::find(ChangeKinds().begin(), ChangeKinds().end(), described->kind),
              ChangeKinds().end())
        << described->kind;
  }
  EXPECT_EQ(ChangeKinds().size(), 21u);
}

TEST(FeedTimestampTest, WritesEveryBackendsTimestampsAsIsoUtc) {
  EXPECT_EQ(FeedTimestamp("2026-05-01 10:00:00.123"), "2026-05-01T10:00:00.123Z");
  EXPECT_EQ(FeedTimestamp("2026-05-01 10:00:00+00"), "2026-05-01T10:00:00.000Z");
  EXPECT_EQ(FeedTimestamp("2026-05-01 10:00:00.5+02"), "2026-05-01T08:00:00.500Z");
  EXPECT_EQ(FeedTimestamp("2026-05-01 01:00:00-05:30"), "2026-05-01T06:30:00.000Z");
  EXPECT_EQ(FeedTimestamp("yesterday"), "yesterday");
}

}  // namespace
}  // namespace lbmirror::store::sql
