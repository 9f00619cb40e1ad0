// The schema as an ordered list of migrations, rendered for one dialect and table prefix.
// `lbmirror migrate` applies it; `lbmirror migrate --print` prints it for a PlanetScale
// deploy request. Only DDL that PlanetScale accepts: InnoDB, utf8mb4, a primary key on every
// table, no foreign keys, triggers or routines.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "store/sql/sql_connection.h"

namespace lbmirror::store::sql {

struct MigrationStep {
  std::string sql;
  // Skipped when the table already has this column (a table the user created from the
  // Liveblocks guide keeps its columns; lbmirror only adds), or, for "index:NAME", this index.
  std::optional<std::pair<std::string, std::string>> unless_exists;  // table, column or index
};

struct Migration {
  int version;
  std::string description;
  std::vector<MigrationStep> steps;
};

std::vector<Migration> SchemaMigrations(Dialect dialect, const std::string& prefix);
int LatestSchemaVersion();

// Validates a table prefix: letters, digits and '_' only, at most 32 characters.
bool IsValidTablePrefix(const std::string& prefix);

}  // namespace lbmirror::store::sql
