// SqlStoreTest (sql_store_fixture.h) runs every TEST_P of tests/store/ on SQLite (always),
// MySQL/MariaDB and Postgres (when LBMIRROR_TEST_MYSQL_URL and LBMIRROR_TEST_POSTGRES_URL name
// servers; the README's test command starts them). The tests are split by the unit of
// store/sql/ they test: migrator_, inbox_sql_, queue_sql_, row_writer_, search_index_,
// operator_sql_ and room_deletion_test.cc.
#include <gtest/gtest.h>

#include "store/sql_store_fixture.h"

namespace lbmirror::store::sql {
namespace {

INSTANTIATE_TEST_SUITE_P(Backends, SqlStoreTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kMysql, Dialect::kPostgres),
                         BackendName);

}  // namespace
}  // namespace lbmirror::store::sql
