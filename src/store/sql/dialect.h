// The SQL dialects the store speaks, rendered from one text: `{p}` the table prefix, `{same}`
// NULL-safe equality, `{least}`/`{greatest}`, `{upsert:KEYS}` the conflict clause on KEYS,
// `{v:COLUMN}` the proposed value of COLUMN in an upsert, `{old:COLUMN}` the value the row
// holds (Postgres needs the table's name there), `{bigint:?}` a parameter whose type nothing
// around it tells, `{text:COLUMN}` a JSON column read as text. Pure functions, thread-safe.
#pragma once

#include <string>

#include "store/sql/sql_connection.h"

namespace lbmirror::store::sql {

// `sql` with its placeholders filled in for `dialect` and the table `prefix`.
std::string RenderSql(std::string sql, Dialect dialect, const std::string& prefix);

}  // namespace lbmirror::store::sql
