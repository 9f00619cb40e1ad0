// The same suite on SQLite (always) and MySQL/MariaDB (when LBMIRROR_TEST_MYSQL_URL names a
// server; the README's test command starts one). Each test uses its own table prefix or file.
#include "store/sql_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <random>

#include "fakes/fake_clock.h"
#include "store/database_url.h"
#include "store/schema.h"
#include "store/mysql/mysql_connection.h"
#include "store/sqlite/sqlite_connection.h"

namespace lbmirror::store {
namespace {

const TargetKind kAllKinds[] = {TargetKind::kRoom, TargetKind::kStorage, TargetKind::kYdoc};

class SqlStoreTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    std::string unique = std::to_string(getpid()) + "_" + std::to_string(counter++);
    prefix_ = "t" + unique + "_";
    if (GetParam() == Dialect::kSqlite) {
      path_ = std::filesystem::temp_directory_path() / ("lbmirror_store_" + unique + ".db");
      std::string path = path_;
      factory_ = [path] { return sqlite::OpenSqliteConnection(path); };
    } else {
      const char* url = std::getenv("LBMIRROR_TEST_MYSQL_URL");
      if (url == nullptr || *url == '\0') GTEST_SKIP() << "LBMIRROR_TEST_MYSQL_URL is not set";
      auto config = ParseDatabaseUrl(url);
      ASSERT_TRUE(config.has_value());
      mysql::MysqlLibraryInit();
      DatabaseConfig c = *config;
      factory_ = [c] { return mysql::OpenMysqlConnection(c); };
    }
    store_ = MakeStore(prefix_);
    Status migrated = store_->Migrate();
    ASSERT_TRUE(migrated.has_value()) << migrated.error().ToString();
  }

  void TearDown() override {
    store_.reset();
    if (!path_.empty()) {
      for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_.string() + suffix);
    }
  }

  std::unique_ptr<SqlStore> MakeStore(const std::string& prefix) {
    SqlStoreOptions options;
    options.table_prefix = prefix;
    options.pool_size = GetParam() == Dialect::kSqlite ? 1 : 4;
    return std::make_unique<SqlStore>(GetParam(), factory_, options, clock_);
  }

  // Runs a query on a separate connection; {p} is replaced by the table prefix.
  std::vector<SqlRow> Rows(std::string sql) {
    for (size_t pos; (pos = sql.find("{p}")) != std::string::npos;) sql.replace(pos, 3, prefix_);
    auto connection = factory_();
    EXPECT_TRUE(connection.has_value());
    auto rows = (*connection)->Query(sql, {});
    EXPECT_TRUE(rows.has_value()) << rows.error().ToString();
    return rows ? *rows : std::vector<SqlRow>{};
  }
  std::string One(const std::string& sql) {
    auto rows = Rows(sql);
    if (rows.empty() || rows[0].empty()) return "<no row>";
    return rows[0][0].value_or("NULL");
  }
  void Exec(std::string sql) {
    for (size_t pos; (pos = sql.find("{p}")) != std::string::npos;) sql.replace(pos, 3, prefix_);
    auto connection = factory_();
    ASSERT_TRUE(connection.has_value());
    ASSERT_TRUE((*connection)->ExecuteDirect(sql).has_value());
  }

  InboxEvent Event(const std::string& id, std::vector<TargetKey> targets) {
    InboxEvent event;
    event.webhook_id = id;
    event.type = "storageUpdated";
    event.room_id = targets.empty() ? "" : targets[0].scope_id;
    event.received_at_ms = clock_.NowMs();
    event.webhook_timestamp = clock_.NowMs() / 1000;
    event.payload = kPayload;
    event.targets = std::move(targets);
    return event;
  }

  std::vector<Claim> ClaimAll(const std::string& owner = "w1", int64_t lease_ms = 60'000) {
    auto claims = store_->ClaimDue(owner, kAllKinds, 10, lease_ms);
    EXPECT_TRUE(claims.has_value()) << claims.error().ToString();
    return claims ? *claims : std::vector<Claim>{};
  }

  FakeClock clock_;
  std::string prefix_;
  std::filesystem::path path_;
  ConnectionFactory factory_;
  std::unique_ptr<SqlStore> store_;
  // Shared by every event; events borrow it, so it must never be reassigned.
  static constexpr std::string_view kPayload = R"({"type":"storageUpdated","data":{"roomId":"r"}})";
};

const TargetKey kStorage{TargetKind::kStorage, "room-1", ""};
const TargetKey kRoom{TargetKind::kRoom, "room-1", ""};

TEST_P(SqlStoreTest, MigrateIsIdempotentAndRecordsTheVersion) {
  ASSERT_TRUE(store_->Migrate().has_value());
  ASSERT_TRUE(store_->Migrate().has_value());
  EXPECT_EQ(*store_->SchemaVersion(), LatestSchemaVersion());
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}schema_migrations"), std::to_string(LatestSchemaVersion()));
}

TEST_P(SqlStoreTest, KeepsAndExtendsATableCreatedFromTheGuide) {
  std::string other = prefix_ + "g_";
  std::string ddl = GetParam() == Dialect::kMysql
                        ? "CREATE TABLE " + other + "documents (room_id varchar(255) primary key,"
                          " data json not null, updated_at timestamp not null default"
                          " current_timestamp on update current_timestamp)"
                        : "CREATE TABLE " + other + "documents (room_id varchar(255) primary key,"
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
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}documents WHERE synced_at IS NULL AND deleted_at IS NULL"), "1");
  prefix_ = saved;
}

TEST_P(SqlStoreTest, RecordsAnEventOnceAndMarksItsTargets) {
  EXPECT_TRUE(*store_->Record(Event("msg_1", {kStorage})));
  EXPECT_FALSE(*store_->Record(Event("msg_1", {kStorage})));
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}events"), "1");
  EXPECT_EQ(One("SELECT payload FROM {p}events"), kPayload);
  EXPECT_EQ(One("SELECT dirty_seq FROM {p}targets WHERE kind = 'storage'"), "1");
}

TEST_P(SqlStoreTest, StoresAnEventWithoutTargets) {
  InboxEvent event = Event("msg_u", {});
  event.type = "roomUpdated";
  EXPECT_TRUE(*store_->Record(event));
  EXPECT_EQ(One("SELECT type FROM {p}events"), "roomUpdated");
  EXPECT_EQ(One("SELECT room_id FROM {p}events"), "NULL");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}targets"), "0");
}

TEST_P(SqlStoreTest, ClaimCompleteClearsTheTarget) {
  ASSERT_TRUE(*store_->Record(Event("msg_1", {kStorage})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].key, kStorage);
  EXPECT_EQ(claims[0].attempts, 1);
  EXPECT_TRUE(ClaimAll("w2").empty()) << "a leased target must not be claimed twice";
  RowWrite write = DocumentRow{"room-1", R"({"title":"Hello"})"};
  EXPECT_TRUE(*store_->Complete(claims[0], std::span(&write, 1), {}));
  EXPECT_TRUE(ClaimAll().empty());
  EXPECT_EQ(One("SELECT data FROM {p}documents WHERE room_id = 'room-1'"), R"({"title":"Hello"})");
  EXPECT_FALSE(store_->NextDueMs(kAllKinds)->has_value());
}

TEST_P(SqlStoreTest, EventsDuringARead_CoalesceIntoOneMoreRead) {
  ASSERT_TRUE(*store_->Record(Event("msg_1", {kStorage})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  for (int i = 2; i <= 20; ++i) ASSERT_TRUE(*store_->Record(Event("msg_" + std::to_string(i), {kStorage})));
  ASSERT_TRUE(*store_->Complete(claims[0], {}, {}));
  auto again = ClaimAll();
  ASSERT_EQ(again.size(), 1u) << "dirtied while read: read once more";
  EXPECT_EQ(again[0].dirty_seq, 20);
  ASSERT_TRUE(*store_->Complete(again[0], {}, {}));
  EXPECT_TRUE(ClaimAll().empty());
}

TEST_P(SqlStoreTest, AWorkerWhoseLeaseWasTakenOverWritesNothing) {
  ASSERT_TRUE(*store_->Record(Event("msg_1", {kStorage})));
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
  EXPECT_EQ(One("SELECT data FROM {p}documents"), R"({"v":2})");
  // Its failure report is ignored too: the fencing token no longer matches.
  ASSERT_TRUE(store_->Fail(first[0], "late", 0).has_value());
  EXPECT_EQ(One("SELECT last_error FROM {p}targets"), "NULL");
}

TEST_P(SqlStoreTest, AFailedTargetWaitsForItsRetryTimeAndKeepsTheError) {
  ASSERT_TRUE(*store_->Record(Event("msg_1", {kStorage})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  ASSERT_TRUE(store_->Fail(claims[0], "unavailable: HTTP 500", clock_.NowMs() + 5'000).has_value());
  EXPECT_EQ(One("SELECT last_error FROM {p}targets"), "unavailable: HTTP 500");
  EXPECT_TRUE(ClaimAll().empty());
  EXPECT_EQ(**store_->NextDueMs(kAllKinds), clock_.NowMs() + 5'000);
  // A new event does not cut the backoff short.
  ASSERT_TRUE(*store_->Record(Event("msg_2", {kStorage})));
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
  ASSERT_TRUE(*store_->Record(Event("msg_1", {kStorage})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  ASSERT_TRUE(store_->Release(claims[0]).has_value());
  auto again = ClaimAll();
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 1);
}

TEST_P(SqlStoreTest, RoomGoneSoftDeletesTheRoomAndItsDocuments) {
  ASSERT_TRUE(*store_->Record(Event("msg_1", {kRoom})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  RowWrite writes[] = {
      RoomRow{"room-1", "org", R"({"k":"v"})", R"(["room:write"])", "{}", "{}",
              "2026-01-01 00:00:00.000", std::nullopt},
      DocumentRow{"room-1", R"({"a":1})"}, YdocRow{"room-1", R"({"t":"x"})", "x"}};
  ASSERT_TRUE(*store_->Complete(claims[0], writes, {}));
  EXPECT_EQ(One("SELECT metadata FROM {p}rooms"), R"({"k":"v"})");
  EXPECT_EQ(One("SELECT created_at FROM {p}rooms"), "2026-01-01 00:00:00.000");
  ASSERT_TRUE(*store_->Record(Event("msg_2", {kRoom})));
  auto gone = ClaimAll();
  ASSERT_EQ(gone.size(), 1u);
  RowWrite room_gone = RoomGone{"room-1"};
  ASSERT_TRUE(*store_->Complete(gone[0], std::span(&room_gone, 1), {}));
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}rooms WHERE deleted_at IS NOT NULL"), "1");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}documents WHERE deleted_at IS NOT NULL"), "1");
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}ydocs WHERE deleted_at IS NOT NULL"), "1");
}

TEST_P(SqlStoreTest, CompletionCanMarkOtherTargetsDirty) {
  ASSERT_TRUE(*store_->Record(Event("msg_1", {kStorage})));
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
  ASSERT_TRUE(*store_->Record(Event("msg_ü", {key})));
  auto claims = ClaimAll();
  ASSERT_EQ(claims.size(), 1u);
  EXPECT_EQ(claims[0].key.scope_id, room);
  RowWrite write = YdocRow{room, R"({"t":"👍 日本語 עברית"})", "👍 日本語 עברית"};
  ASSERT_TRUE(*store_->Complete(claims[0], std::span(&write, 1), {}));
  EXPECT_EQ(One("SELECT text FROM {p}ydocs"), "👍 日本語 עברית");
  EXPECT_EQ(One("SELECT room_id FROM {p}ydocs"), room);
}

TEST_P(SqlStoreTest, ManyThreadsRecordConcurrentlyWithoutLosingEvents) {
  std::vector<std::thread> threads;
  std::atomic<int> stored{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        InboxEvent event = Event("msg_" + std::to_string(t) + "_" + std::to_string(i),
                                 {{TargetKind::kStorage, "room-" + std::to_string(i % 5), ""}});
        auto r = store_->Record(event);
        if (r && *r) ++stored;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(stored.load(), 100);
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}events"), "100");
  EXPECT_EQ(One("SELECT SUM(dirty_seq) FROM {p}targets"), "100");
}

INSTANTIATE_TEST_SUITE_P(Backends, SqlStoreTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kMysql),
                         [](const auto& param_info) {
                           return param_info.param == Dialect::kSqlite ? "Sqlite" : "Mysql";
                         });

}  // namespace
}  // namespace lbmirror::store
