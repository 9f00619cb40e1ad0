// Brings a database's schema to this build's version (store/schema.h), and reads or prints
// it. Safe with any number of processes migrating the same database at once: no lock is taken
// (PlanetScale offers none); every step is idempotent, and a step another process applied
// between our look and our statement counts as applied. Thread-safe (no state of its own).
#pragma once

#include <ostream>
#include <string>

#include "core/clock.h"
#include "core/result.h"
#include "store/sql/schema.h"
#include "store/sql/sql_connection.h"

namespace lbmirror::store::sql {

class Migrator {
 public:
  // `clock` must outlive this.
  Migrator(Dialect dialect, std::string prefix, const Clock& clock);

  // Applies the migrations the database lacks, on `connection`. kInvalidArgument when the
  // schema is newer than this build knows; the database's error otherwise.
  Status Migrate(SqlConnection& connection) const;
  // The schema version recorded in the database; 0 before any migration.
  Result<int> SchemaVersion(SqlConnection& connection) const;
  // The whole schema as SQL, for review (a PlanetScale deploy request).
  void Print(std::ostream& out) const;

 private:
  Status ApplyStep(SqlConnection& connection, const MigrationStep& step) const;
  Result<bool> StepAlreadyApplied(SqlConnection& connection, const std::string& table,
                                  const std::string& what) const;

  Dialect dialect_;
  std::string prefix_;
  const Clock& clock_;
  std::string schema_table_, schema_version_, record_version_;
};

}  // namespace lbmirror::store::sql
