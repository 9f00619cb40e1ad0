#include "cli/store_factory.h"

#include <unistd.h>

#include "core/log.h"
#include "core/text.h"
#include "store/database_url.h"
#include "store/mysql/mysql_connection.h"
#include "store/postgres/postgres_connection.h"
#include "store/sql/schema.h"
#include "store/sql/sql_store.h"
#include "store/sqlite/sqlite_connection.h"
#include "webhook/event.h"

namespace lbmirror::cli {

Result<std::unique_ptr<store::Store>> OpenStore(const std::string& database_url,
                                                const std::string& table_prefix, int pool_size,
                                                const Clock& clock, bool hard_deletes,
                                                int64_t coalesce_ms,
                                                store::sql::AfterEdit after_edit,
                                                const std::string& change_reason) {
  if (!store::sql::IsValidTablePrefix(table_prefix)) {
    return InvalidArgument("--table-prefix may hold only letters, digits and '_' (at most 32)");
  }
  auto config = store::ParseDatabaseUrl(database_url);
  if (!config) return config.error();
  log::Info(Cat("database: ", config->Redacted()));
  if (!config->tls_warning.empty()) log::Warn(config->tls_warning);
  store::sql::SqlStoreOptions options;
  options.table_prefix = table_prefix;
  options.hard_deletes = hard_deletes;
  options.coalesce_ms = coalesce_ms;
  options.after_edit = std::move(after_edit);
  options.change_feed = !change_reason.empty();
  options.event_targets = [](std::string_view payload) {
    auto event = webhook::ParseEvent(payload);
    return event ? std::move(event->targets) : std::vector<store::TargetKey>{};
  };
  if (options.change_feed) options.change_reason = change_reason;
  if (config->backend == store::DatabaseConfig::Backend::kSqlite) {
    options.pool_size = 1;
    std::string path = config->sqlite_path;
    // Open once now so a bad path is reported at startup, not on the first webhook.
    auto probe = store::sqlite::OpenSqliteConnection(path);
    if (!probe) return probe.error();
    return std::unique_ptr<store::Store>(std::make_unique<store::sql::SqlStore>(
        store::sql::Dialect::kSqlite, [path] { return store::sqlite::OpenSqliteConnection(path); },
        options, clock));
  }
  options.pool_size = pool_size;
  if (!config->ca_file.empty() && access(config->ca_file.c_str(), R_OK) != 0) {
    return InvalidArgument(Cat(
        "DATABASE_URL: cannot read the CA file ",
        config->backend == store::DatabaseConfig::Backend::kPostgres ? "sslrootcert=" : "sslca=",
        config->ca_file));
  }
  store::DatabaseConfig server = *config;
  if (config->backend == store::DatabaseConfig::Backend::kPostgres) {
    return std::unique_ptr<store::Store>(std::make_unique<store::sql::SqlStore>(
        store::sql::Dialect::kPostgres,
        [server] { return store::postgres::OpenPostgresConnection(server); }, options, clock));
  }
  return std::unique_ptr<store::Store>(std::make_unique<store::sql::SqlStore>(
      store::sql::Dialect::kMysql, [server] { return store::mysql::OpenMysqlConnection(server); },
      options, clock));
}

}  // namespace lbmirror::cli
