// SqlConnection (store/sql/) over SQLite 3: WAL journal, synchronous=FULL, a busy timeout, prepared
// statements cached per connection. A connection is used by one thread at a time; give the
// SqlStore a pool of size 1 so every write goes through one writer.
#pragma once

#include <memory>
#include <string>

#include "store/sql/sql_connection.h"

namespace lbmirror::store::sqlite {

// Opens (creating if needed) the database file; ":memory:" for a private in-memory database.
Result<std::unique_ptr<sql::SqlConnection>> OpenSqliteConnection(const std::string& path);

}  // namespace lbmirror::store::sqlite
