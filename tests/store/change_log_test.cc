// The change feed's positions (sql/change_log.h), on SQLite, MySQL/MariaDB and Postgres: given
// only to committed changes, in order, by the sequencer; and a transaction that commits after a
// later one was sequenced and read gets a position after it, never one a reader has passed.
#include "store/sql/change_log.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "core/json_patch.h"
#include "core/text.h"
#include "store/sql_store_fixture.h"

namespace lbmirror::store::sql {
namespace {

class ChangeLogTest : public SqlStoreTest {
 protected:
  ChangeRow Change(std::string key) {
    return {std::nullopt,   clock_.NowMs(),         "document", "update", "room-1",
            std::move(key), R"({"reason":"test"})", "{}"};
  }
  std::unique_ptr<SqlConnection> Connect() {
    auto connection = factory_();
    EXPECT_TRUE(connection.has_value());
    return connection ? std::move(*connection) : nullptr;
  }
  // One sequencing transaction on its own connection; how many changes it placed.
  int64_t Sequence(const ChangeLog& log) {
    auto connection = Connect();
    EXPECT_TRUE(connection->Begin().has_value());
    auto placed = log.Sequence(*connection, 100);
    EXPECT_TRUE(placed.has_value()) << placed.error().ToString();
    EXPECT_TRUE(connection->Commit().has_value());
    return placed ? *placed : -1;
  }
  // The (position, entity key) of the changes after `after`.
  std::vector<std::pair<int64_t, std::string>> ReadAfter(const ChangeLog& log, int64_t after) {
    auto connection = Connect();
    auto changes = log.Read(*connection, after, 100);
    EXPECT_TRUE(changes.has_value()) << changes.error().ToString();
    std::vector<std::pair<int64_t, std::string>> out;
    for (const ChangeRow& c : changes ? *changes : std::vector<ChangeRow>{}) {
      out.emplace_back(c.position.value_or(-1), c.entity_key);
    }
    return out;
  }
};

TEST_P(ChangeLogTest, CommittedChangesGetPositionsInOrderOnceSequenced) {
  ChangeLog log(GetParam(), prefix_);
  auto writer = Connect();
  ASSERT_TRUE(writer->Begin().has_value());
  for (const char* key : {"a", "b", "c"}) ASSERT_TRUE(log.Append(*writer, Change(key)).has_value());
  ASSERT_TRUE(writer->Commit().has_value());
  EXPECT_TRUE(ReadAfter(log, 0).empty()) << "no position before the sequencer runs";
  EXPECT_EQ(Sequence(log), 3);
  EXPECT_EQ(ReadAfter(log, 0),
            (std::vector<std::pair<int64_t, std::string>>{{1, "a"}, {2, "b"}, {3, "c"}}));
  EXPECT_EQ(Sequence(log), 0) << "nothing left to place";
  EXPECT_EQ(ReadAfter(log, 2), (std::vector<std::pair<int64_t, std::string>>{{3, "c"}}));
  auto reader = Connect();
  auto all = log.Read(*reader, 0, 1);
  ASSERT_TRUE(all.has_value());
  ASSERT_EQ(all->size(), 1u) << "the limit";
  ExpectSameJson((*all)[0].cause, R"({"reason":"test"})", "cause");
}

// The classic gap: X takes a change_id, then Y takes a larger one and commits; a reader that
// followed change_ids would read Y, move past it, and never see X once X commits.
TEST_P(ChangeLogTest, AChangeCommittedLateGetsAPositionAfterEveryOneAlreadyRead) {
  if (GetParam() == Dialect::kSqlite) {
    GTEST_SKIP() << "SQLite has one writer: two write transactions cannot overlap";
  }
  ChangeLog log(GetParam(), prefix_);
  auto early = Connect();
  ASSERT_TRUE(early->Begin().has_value());
  ASSERT_TRUE(log.Append(*early, Change("x, begun first")).has_value());
  auto late = Connect();
  ASSERT_TRUE(late->Begin().has_value());
  ASSERT_TRUE(log.Append(*late, Change("y, committed first")).has_value());
  ASSERT_TRUE(late->Commit().has_value());
  EXPECT_EQ(Sequence(log), 1) << "only what is committed";
  EXPECT_EQ(ReadAfter(log, 0),
            (std::vector<std::pair<int64_t, std::string>>{{1, "y, committed first"}}));
  ASSERT_TRUE(early->Commit().has_value());
  EXPECT_EQ(Sequence(log), 1);
  EXPECT_EQ(ReadAfter(log, 1),
            (std::vector<std::pair<int64_t, std::string>>{{2, "x, begun first"}}))
      << "the reader at 1 finds the late change after it";
  EXPECT_LT(
      std::stoll(One("SELECT change_id FROM {p}changes WHERE entity_key = 'x, begun first'")),
      std::stoll(One("SELECT change_id FROM {p}changes WHERE entity_key = 'y, committed first'")))
      << "by change_id, x would have come before y: a reader past y would have missed it";
}

TEST_P(ChangeLogTest, RetentionPrunesTheOldestInBatchesAndAStalePositionSaysWhereToStart) {
  ChangeLog log(GetParam(), prefix_);
  auto writer = Connect();
  const int64_t t0 = clock_.NowMs();
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(writer->Begin().has_value());
    ChangeRow change = Change(Cat("c", i));
    change.committed_at_ms = t0 + i * 1000;
    ASSERT_TRUE(log.Append(*writer, change).has_value());
    ASSERT_TRUE(writer->Commit().has_value());
  }
  EXPECT_EQ(Sequence(log), 5);
  auto prune = [&](int64_t before_ms, int limit) {
    EXPECT_TRUE(writer->Begin().has_value());
    auto pruned = log.Prune(*writer, before_ms, limit);
    EXPECT_TRUE(pruned.has_value()) << pruned.error().ToString();
    EXPECT_TRUE(writer->Commit().has_value());
    return pruned ? *pruned : -1;
  };
  EXPECT_EQ(prune(t0 + 2500, 100), 3) << "committed before the cut";
  EXPECT_EQ(prune(t0 + 2500, 100), 0);
  auto stale = log.Read(*writer, 1, 10);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(stale.error().message().find("position 1 is older than the changes kept (they start "
                                         "after 3)"),
            std::string::npos)
      << stale.error().message();
  EXPECT_EQ(ReadAfter(log, 3),
            (std::vector<std::pair<int64_t, std::string>>{{4, "c3"}, {5, "c4"}}));
  EXPECT_EQ(prune(t0 + 10'000, 1), 1) << "one batch of one";
  EXPECT_FALSE(log.Read(*writer, 3, 10).has_value());
  EXPECT_EQ(ReadAfter(log, 4), (std::vector<std::pair<int64_t, std::string>>{{5, "c4"}}));
}

INSTANTIATE_TEST_SUITE_P(Backends, ChangeLogTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kMysql, Dialect::kPostgres),
                         BackendName);

}  // namespace
}  // namespace lbmirror::store::sql

namespace lbmirror::store::sql {
namespace {

// With the feed on, a Storage or Yjs read that changes the document appends one change (for
// Storage, a JSON Patch from the mirrored document), a deletion one "delete"; a read or a
// deletion that changes nothing appends none. Replaying the Storage patches gives the document.
TEST_P(SqlStoreTest, DocumentReadsAndDeletionsAppendTheirChangesAndUnchangedOnesNone) {
  SqlStoreOptions options;
  options.table_prefix = prefix_;
  options.pool_size = GetParam() == Dialect::kSqlite ? 1 : 4;
  options.change_feed = true;
  auto store = std::make_unique<SqlStore>(GetParam(), factory_, options, clock_);
  const std::string v1 = R"({"title":"a","items":[1,2],"meta":{"x/y":true}})";
  const std::string v2 = R"({"title":"b","items":[1,2,3],"meta":{}})";
  COMPLETE_WITH(store, DocumentRow{"room-1", v1, 3});
  COMPLETE_WITH(store, DocumentRow{"room-1", v1, 3});  // read again, unchanged
  COMPLETE_WITH(store, DocumentRow{"room-1", v2, 2});
  COMPLETE_WITH(store, YdocRow{"room-1", R"({"t":"x"})", "x", "state", 1});
  COMPLETE_WITH(store, YdocRow{"room-1", R"({"t":"x"})", "x", "state", 1});  // unchanged
  COMPLETE_WITH(store, DocumentGone{"room-1"});
  COMPLETE_WITH(store, DocumentGone{"room-1"});  // already deleted: no change
  auto placed = store->SequenceChanges(100);
  ASSERT_TRUE(placed.has_value()) << placed.error().ToString();
  EXPECT_EQ(*placed, 4) << "the unchanged reads and the second deletion appended nothing";
  auto changes = store->ReadChanges(0, 100, {});
  ASSERT_TRUE(changes.has_value()) << changes.error().ToString();
  ASSERT_EQ(changes->size(), 4u);
  std::vector<std::pair<std::string, std::string>> ops;
  for (const ChangeRow& c : *changes) ops.emplace_back(c.kind, c.op);
  EXPECT_EQ(ops, (std::vector<std::pair<std::string, std::string>>{{"document", "insert"},
                                                                   {"document", "update"},
                                                                   {"ydoc", "insert"},
                                                                   {"document", "delete"}}));
  EXPECT_EQ((*changes)[1].room_id, "room-1");
  EXPECT_EQ((*changes)[1].position, 2);
  changes->resize(2);  // the Storage document's
  namespace json = boost::json;
  json::value document = nullptr;
  for (const ChangeRow& change : *changes) {
    const json::value payload = json::parse(change.payload);
    auto applied = JsonPatchApply(document, payload.at("patch").as_array());
    ASSERT_TRUE(applied.has_value()) << applied.error().ToString();
    document = std::move(*applied);
  }
  EXPECT_EQ(document, json::parse(v2)) << "the patches replayed give the mirrored document";
}

}  // namespace
}  // namespace lbmirror::store::sql
