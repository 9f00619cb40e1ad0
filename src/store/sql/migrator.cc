#include "store/sql/migrator.h"

#include <chrono>
#include <thread>

#include "core/log.h"
#include "core/text.h"
#include "store/sql/dialect.h"

namespace lbmirror::store::sql {

namespace {
constexpr int kMaxStepAttempts = 4;

Status CheckNotNewer(int version) {
  if (version <= LatestSchemaVersion()) return Ok();
  return Error(
      ErrorCode::kInvalidArgument,
      Cat("the database schema is at version ", version, ", newer than this lbmirror (",
          LatestSchemaVersion(), "): run the lbmirror release that migrated it, or a newer one"));
}
}  // namespace

Migrator::Migrator(Dialect dialect, std::string prefix, const Clock& clock)
    : dialect_(dialect), prefix_(std::move(prefix)), clock_(clock) {
  bool mysql = dialect == Dialect::kMysql;
  schema_table_ = RenderSql(
      std::string("CREATE TABLE IF NOT EXISTS {p}schema_migrations (version INT NOT NULL,"
                  " description VARCHAR(255) NOT NULL, applied_at ") +
          (mysql ? "DATETIME(3) NOT NULL, PRIMARY KEY (version)) ENGINE=InnoDB"
                   " DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
           : dialect == Dialect::kPostgres ? "TIMESTAMPTZ(3) NOT NULL, PRIMARY KEY (version))"
                                           : "TEXT NOT NULL, PRIMARY KEY (version))"),
      dialect, prefix_);
  schema_version_ = RenderSql("SELECT MAX(version) FROM {p}schema_migrations", dialect, prefix_);
  record_version_ = RenderSql(
      "INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) " +
          std::string(mysql ? "ON DUPLICATE KEY UPDATE version = version"
                            : "ON CONFLICT(version) DO NOTHING"),
      dialect, prefix_);
}

Status Migrator::Migrate(SqlConnection& connection) const {
  LBMIRROR_RETURN_IF_ERROR(ApplyStep(connection, MigrationStep{schema_table_, std::nullopt}));
  auto current = SchemaVersion(connection);
  if (!current) return current.error();
  LBMIRROR_RETURN_IF_ERROR(CheckNotNewer(*current));
  for (const Migration& migration : SchemaMigrations(dialect_, prefix_)) {
    if (migration.version <= *current) continue;
    log::Info(Cat("applying schema migration ", migration.version, ": ", migration.description));
    for (const MigrationStep& step : migration.steps) {
      Status status = ApplyStep(connection, step);
      if (!status) return status.error().WithContext(Cat("migration ", migration.version));
    }
    std::string now = FormatSqlTimestamp(clock_.NowMs());
    SqlValue params[] = {int64_t{migration.version}, std::string_view(migration.description),
                         std::string_view(now)};
    auto recorded = connection.Execute(record_version_, params);
    if (!recorded) return recorded.error();
  }
  return Ok();
}

// Tables and SQLite indexes are created IF NOT EXISTS; a column or index another process
// added between our look and our ALTER counts as applied; lock waits and deadlocks with
// another process's DDL are retried.
Status Migrator::ApplyStep(SqlConnection& connection, const MigrationStep& step) const {
  for (int attempt = 1;; ++attempt) {
    if (step.unless_exists) {
      auto applied =
          StepAlreadyApplied(connection, step.unless_exists->first, step.unless_exists->second);
      if (!applied) return applied.error();
      if (*applied) return Ok();
    }
    Status status = connection.ExecuteDirect(step.sql);
    if (status) return Ok();
    if (connection.broken()) return status;
    if (attempt == kMaxStepAttempts || (!step.unless_exists && !status.error().retryable())) {
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * attempt));
  }
}

Result<bool> Migrator::StepAlreadyApplied(SqlConnection& connection, const std::string& table,
                                          const std::string& what) const {
  bool index = StartsWith(what, "index:");
  std::string name = index ? what.substr(6) : what;
  SqlValue params[] = {std::string_view(table), std::string_view(name)};
  Result<std::vector<SqlRow>> result =
      dialect_ == Dialect::kSqlite
          ? connection.Query("SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?", params)
      : index ? connection.Query(
                    "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE"
                    " TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?",
                    params)
              : connection.Query(
                    "SELECT COUNT(*) FROM information_schema.COLUMNS WHERE"
                    " TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?",
                    params);
  if (!result) return result.error();
  return !result->empty() && IntField((*result)[0][0]) > 0;
}

Result<int> Migrator::SchemaVersion(SqlConnection& connection) const {
  auto rows = connection.Query(schema_version_, {});
  if (!rows) {
    // The version table does not exist yet: nothing was migrated.
    if (!rows.error().retryable() && !connection.broken()) return 0;
    return rows.error();
  }
  if (rows->empty() || !(*rows)[0][0]) return 0;
  return static_cast<int>(IntField((*rows)[0][0]));
}

void Migrator::Print(std::ostream& out) const {
  out << "-- lbmirror schema version " << LatestSchemaVersion() << " ("
      << (dialect_ == Dialect::kMysql ? "MySQL / PlanetScale / MariaDB"
          : dialect_ == Dialect::kPostgres
              ? "PostgreSQL / Supabase / Neon / Vercel / PlanetScale Postgres"
              : "SQLite")
      << ")\n";
  out << "-- Statements marked 'skip if present' only add what a table created by hand lacks.\n\n";
  out << schema_table_ << ";\n\n";
  for (const Migration& migration : SchemaMigrations(dialect_, prefix_)) {
    out << "-- migration " << migration.version << ": " << migration.description << "\n";
    for (const MigrationStep& step : migration.steps) {
      if (step.unless_exists) out << "-- skip if present: " << step.unless_exists->second << "\n";
      out << step.sql << ";\n\n";
    }
    out << "INSERT INTO " << prefix_
        << "schema_migrations (version, description, applied_at) VALUES (" << migration.version
        << ", '" << migration.description << "', CURRENT_TIMESTAMP);\n\n";
  }
}

}  // namespace lbmirror::store::sql
