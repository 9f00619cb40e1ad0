// Migrations: idempotent, recorded, safe to run from several processes at once, keeping a table
// made from the Liveblocks guide, and refusing a schema newer than this build.
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

TEST_P(SqlStoreTest, MigrateIsIdempotentAndRecordsTheVersion) {
  ASSERT_TRUE(store_->Migrate().has_value());
  ASSERT_TRUE(store_->Migrate().has_value());
  EXPECT_EQ(*store_->SchemaVersion(), LatestSchemaVersion());
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}schema_migrations"),
            std::to_string(LatestSchemaVersion()));
}

TEST_P(SqlStoreTest, KeepsAndExtendsATableCreatedFromTheGuide) {
  std::string other = prefix_ + "g_";
  std::string ddl = GetParam() == Dialect::kMysql
                        ? "CREATE TABLE " + other +
                              "documents (room_id varchar(255) primary key,"
                              " data json not null, updated_at timestamp not null default"
                              " current_timestamp on update current_timestamp)"
                        : "CREATE TABLE " + other +
                              "documents (room_id varchar(255) primary key,"
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
  EXPECT_EQ(One("SELECT COUNT(*) FROM {p}documents WHERE synced_at IS NULL AND deleted_at IS NULL"),
            "1");
  prefix_ = saved;
}

TEST_P(SqlStoreTest, ProcessesMigratingAFreshDatabaseAtOnceAllSucceed) {
  std::string fresh = prefix_ + "m_";
  std::vector<std::unique_ptr<SqlStore>> stores;
  for (int i = 0; i < 4; ++i) stores.push_back(MakeStore(fresh));
  std::vector<Status> results(stores.size(), Ok());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < stores.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = stores[i]->Migrate(); });
  }
  for (std::thread& thread : threads) thread.join();
  for (const Status& result : results) EXPECT_TRUE(result.has_value()) << result.error().ToString();
  EXPECT_EQ(*stores[0]->SchemaVersion(), LatestSchemaVersion());
  EXPECT_EQ(One("SELECT COUNT(*) FROM " + fresh + "schema_migrations"),
            std::to_string(LatestSchemaVersion()));
}

TEST_P(SqlStoreTest, ASchemaNewerThanThisBuildIsRefused) {
  Exec(
      "INSERT INTO {p}schema_migrations (version, description, applied_at)"
      " VALUES (99, 'from the future', '2030-01-01 00:00:00.000')");
  Status migrated = store_->Migrate();
  ASSERT_FALSE(migrated.has_value());
  EXPECT_EQ(migrated.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(migrated.error().message().find("schema is at version 99, newer than this lbmirror"),
            std::string::npos);
}

}  // namespace
}  // namespace lbmirror::store::sql
