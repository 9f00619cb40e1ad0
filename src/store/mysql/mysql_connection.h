// SqlConnection (store/sql/) over MariaDB Connector/C (MySQL, MariaDB, PlanetScale). Server-side
// prepared statements cached per connection, utf8mb4, UTC session time zone, strict SQL mode, TLS
// as configured (verify_identity fails the connection unless the session is really encrypted). One
// thread at a time per connection; MysqlLibraryInit() once in main before threads.
#pragma once

#include <memory>

#include "store/database_url.h"
#include "store/sql/sql_connection.h"

namespace lbmirror::store::mysql {

void MysqlLibraryInit();

// Opens a connection; connection errors are retryable, configuration errors (bad password,
// TLS verification failure) are not. `found_rows`: statements report the rows they matched,
// not those they changed (CLIENT_FOUND_ROWS, which is what Postgres and SQLite report); the
// store's fencing gives the same answers either way, which the store tests check with it.
Result<std::unique_ptr<sql::SqlConnection>> OpenMysqlConnection(const DatabaseConfig& config,
                                                                bool found_rows = false);

}  // namespace lbmirror::store::mysql
