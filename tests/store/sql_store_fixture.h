// The store tests' fixture: one SqlStore per test on SQLite (always) or MySQL/MariaDB (when
// LBMIRROR_TEST_MYSQL_URL names a server), each on its own table prefix or file, and a
// connection wrapper that passes each statement to a hook first.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "fakes/fake_clock.h"
#include "store/database_url.h"
#include "store/mysql/mysql_connection.h"
#include "store/postgres/postgres_connection.h"
#include "store/sql/dialect.h"
#include "store/sql/sql_store.h"
#include "store/sqlite/sqlite_connection.h"

namespace lbmirror::store::sql {

inline constexpr TargetKind kAllKinds[] = {TargetKind::kRoom, TargetKind::kStorage,
                                           TargetKind::kYdoc};

// A connection whose statements pass a hook first: the hook can act at that moment (as
// another worker would) or fail the statement (as a deadlock or a dropped connection would).
class HookedConnection final : public SqlConnection {
 public:
  using Hook =
      std::function<std::optional<Error>(std::string_view sql, std::span<const SqlValue> params)>;
  // Told of the statements that are not prepared: transaction control and DDL.
  using Control = std::function<void(std::string_view sql)>;
  // Asked after each COMMIT that succeeded: true drops the connection before its reply, so
  // the caller sees a lost connection (retryable) for a transaction that committed. It may
  // act first, as another worker would while the caller waits to retry.
  using LoseCommitReply = std::function<bool()>;
  HookedConnection(std::unique_ptr<SqlConnection> inner, Hook hook, Control control = {},
                   LoseCommitReply lose_commit_reply = {})
      : inner_(std::move(inner)),
        hook_(std::move(hook)),
        control_(std::move(control)),
        lose_commit_reply_(std::move(lose_commit_reply)) {}
  Result<int64_t> Execute(std::string_view sql, std::span<const SqlValue> params) override {
    if (auto error = hook_(sql, params)) return *error;
    return inner_->Execute(sql, params);
  }
  Result<std::vector<SqlRow>> Query(std::string_view sql,
                                    std::span<const SqlValue> params) override {
    if (auto error = hook_(sql, params)) return *error;
    return inner_->Query(sql, params);
  }
  Status ExecuteDirect(std::string_view sql) override {
    Tell(sql);
    return inner_->ExecuteDirect(sql);
  }
  Status Begin() override {
    Tell("BEGIN");
    return inner_->Begin();
  }
  void OnlyTransactions() override { inner_->OnlyTransactions(); }
  Status Prepare(std::string_view sql) override { return inner_->Prepare(sql); }
  Status Commit() override {
    Tell("COMMIT");
    Status committed = inner_->Commit();
    if (committed && lose_commit_reply_ && lose_commit_reply_()) {
      dropped_ = true;
      return Error(ErrorCode::kUnavailable,
                   "lost connection to the server (injected, after the COMMIT was applied)", true);
    }
    return committed;
  }
  Status Rollback() override {
    Tell("ROLLBACK");
    return inner_->Rollback();
  }
  bool broken() const override { return dropped_ || inner_->broken(); }

 private:
  void Tell(std::string_view sql) {
    if (control_) control_(sql);
  }

  std::unique_ptr<SqlConnection> inner_;
  Hook hook_;
  Control control_;
  LoseCommitReply lose_commit_reply_;
  bool dropped_ = false;
};

// The backends the store tests run on, by name.
inline std::string BackendName(const ::testing::TestParamInfo<Dialect>& info) {
  return info.param == Dialect::kSqlite  ? "Sqlite"
         : info.param == Dialect::kMysql ? "Mysql"
                                         : "Postgres";
}

class SqlStoreTest : public ::testing::TestWithParam<Dialect> {
 protected:
  void SetUp() override {
    // Unique even against tables left by earlier runs on the same server (pids are reused).
    static std::atomic<int> counter{0};
    static const uint32_t run = std::random_device{}();
    std::string unique = std::to_string(getpid()) + "_" + std::to_string(run % 1'000'000) + "_" +
                         std::to_string(counter++);
    prefix_ = "t" + unique + "_";
    if (GetParam() == Dialect::kSqlite) {
      path_ = std::filesystem::temp_directory_path() / ("lbmirror_store_" + unique + ".db");
      std::string path = path_;
      factory_ = [path] { return sqlite::OpenSqliteConnection(path); };
      found_rows_factory_ = factory_;
    } else {
      const bool postgres = GetParam() == Dialect::kPostgres;
      const char* variable = postgres ? "LBMIRROR_TEST_POSTGRES_URL" : "LBMIRROR_TEST_MYSQL_URL";
      const char* url = std::getenv(variable);
      if (url == nullptr || *url == '\0') GTEST_SKIP() << variable << " is not set";
      auto config = ParseDatabaseUrl(url);
      ASSERT_TRUE(config.has_value());
      DatabaseConfig c = *config;
      if (postgres) {
        factory_ = [c] { return postgres::OpenPostgresConnection(c); };
        found_rows_factory_ = factory_;
      } else {
        mysql::MysqlLibraryInit();
        factory_ = [c] { return mysql::OpenMysqlConnection(c); };
        found_rows_factory_ = [c] { return mysql::OpenMysqlConnection(c, /*found_rows=*/true); };
      }
    }
    store_ = MakeStore(prefix_);
    Status migrated = store_->Migrate();
    ASSERT_TRUE(migrated.has_value()) << migrated.error().ToString();
  }

  void TearDown() override {
    store_.reset();
    if (!path_.empty()) {
      for (const char* suffix : {"", "-wal", "-shm"})
        std::filesystem::remove(path_.string() + suffix);
    }
  }

  std::unique_ptr<SqlStore> MakeStore(const std::string& prefix, int64_t coalesce_ms = 0,
                                      bool hard_deletes = false) {
    SqlStoreOptions options;
    options.table_prefix = prefix;
    options.coalesce_ms = coalesce_ms;
    options.hard_deletes = hard_deletes;
    options.pool_size = GetParam() == Dialect::kSqlite ? 1 : 4;
    return std::make_unique<SqlStore>(GetParam(), factory_, options, clock_);
  }

  // A store on the same tables (or those of `prefix`) whose connections pass each statement
  // to `hook` first, and tell `control` of the others.
  std::unique_ptr<SqlStore> MakeHookedStore(HookedConnection::Hook hook,
                                            HookedConnection::Control control = {},
                                            const std::string& prefix = "") {
    return MakeStoreLosingCommitReplies(std::move(hook), {}, factory_, std::move(control), prefix);
  }
  // The same, whose connections are asked after each COMMIT whether to lose its reply, and
  // are opened by `inner` (found_rows_factory_: MySQL counts matched rows as affected).
  std::unique_ptr<SqlStore> MakeStoreLosingCommitReplies(
      HookedConnection::Hook hook, HookedConnection::LoseCommitReply lose_reply,
      ConnectionFactory inner, HookedConnection::Control control = {},
      const std::string& prefix = "") {
    SqlStoreOptions options;
    options.table_prefix = prefix.empty() ? prefix_ : prefix;
    options.pool_size = 1;
    ConnectionFactory hooked = [inner, hook, control,
                                lose_reply]() -> Result<std::unique_ptr<SqlConnection>> {
      auto connection = inner();
      if (!connection) return connection.error();
      return std::unique_ptr<SqlConnection>(
          std::make_unique<HookedConnection>(std::move(*connection), hook, control, lose_reply));
    };
    return std::make_unique<SqlStore>(GetParam(), hooked, options, clock_);
  }

  // Eight storage targets due, then a claim of four by "w1" through a store whose statements
  // pass `hook` first.
  Result<std::vector<Claim>> RecordEightAndClaimFour(HookedConnection::Hook hook) {
    for (int i = 0; i < 8; ++i) {
      std::string room = "room-" + std::to_string(i);
      auto recorded = store_->Record(Event("msg_" + room, {{TargetKind::kStorage, room, ""}}));
      if (!recorded) return recorded.error();
    }
    return MakeHookedStore(std::move(hook))->ClaimDue("w1", kAllKinds, 4, 60'000);
  }

  // Runs a query on a separate connection; {p} is replaced by the table prefix, and the other
  // placeholders of the store's SQL are rendered for the backend ({text:COLUMN}, say).
  std::vector<SqlRow> Rows(std::string sql) {
    sql = sql::RenderSql(sql, GetParam(), prefix_);
    auto connection = factory_();
    EXPECT_TRUE(connection.has_value());
    auto rows = (*connection)->Query(sql, {});
    EXPECT_TRUE(rows.has_value()) << rows.error().ToString();
    return rows ? *rows : std::vector<SqlRow>{};
  }
  // Two JSON texts: the same text on SQLite and MySQL, which keep what they are given; the
  // same JSON value on Postgres, whose jsonb keeps the value but not its spelling (spaces,
  // the order of keys).
  void ExpectSameJson(const std::string& got, const std::string& expected,
                      const std::string& what) {
    if (GetParam() != Dialect::kPostgres) {
      EXPECT_EQ(got, expected) << what;
      return;
    }
    boost::json::parse_options deep;
    deep.max_depth = 4096;
    boost::system::error_code got_error, expected_error;
    boost::json::value got_value = boost::json::parse(got, got_error, {}, deep);
    boost::json::value expected_value = boost::json::parse(expected, expected_error, {}, deep);
    EXPECT_FALSE(got_error) << what << ": " << got;
    EXPECT_EQ(got_value, expected_value) << what << ": " << got << " against " << expected;
  }
  // A JSON column's value (the first of the first row of `sql`), as ExpectSameJson compares.
  void ExpectJson(const std::string& sql, const std::string& expected) {
    ExpectSameJson(One(sql), expected, sql);
  }

  // Record(), adding the store's error to the test's failures when there is one.
  bool Recorded(const InboxEvent& event) {
    auto stored = store_->Record(event);
    if (!stored) {
      ADD_FAILURE() << "Record: " << stored.error().ToString();
      return false;
    }
    return *stored;
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
  // As factory_, but MySQL reports the rows a statement matched rather than those it changed
  // (CLIENT_FOUND_ROWS), as Postgres and SQLite do.
  ConnectionFactory found_rows_factory_;
  std::unique_ptr<SqlStore> store_;
  int writes_seq_ = 0;
  // Shared by every event; events borrow it, so it must never be reassigned.
  static constexpr std::string_view kPayload = R"({"type":"storageUpdated","data":{"roomId":"r"}})";
};

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

inline ThreadSnapshot Thread(
    std::vector<std::pair<std::string, std::string>> comments,
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

inline const TargetKey kStorage{TargetKind::kStorage, "room-1", ""};
inline const TargetKey kRoom{TargetKind::kRoom, "room-1", ""};

}  // namespace lbmirror::store::sql
