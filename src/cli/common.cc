#include "cli/common.h"

#include <regex>

#include "core/log.h"
#include "core/text.h"
#include "store/sql/schema.h"

namespace lbmirror::cli {

int ConfigError(const std::string& message) {
  log::Error(message);
  return 2;
}

std::string CheckApiOptions(const ApiOptions& api) {
  static const std::regex kSecretKey("^sk_[A-Za-z0-9_-]+$");
  if (api.secret_key.empty()) {
    return "LIVEBLOCKS_SECRET_KEY is not set: use a secret key (sk_...) of the project";
  }
  if (!std::regex_match(api.secret_key, kSecretKey)) {
    return "LIVEBLOCKS_SECRET_KEY does not look like a secret key (sk_ followed by letters, "
           "digits, '_' or '-')";
  }
  if (!StartsWith(api.base_url, "http://") && !StartsWith(api.base_url, "https://")) {
    return "LIVEBLOCKS_BASE_URL must start with http:// or https://";
  }
  if (api.rest_timeout_ms < 100) return "--rest-timeout-ms must be at least 100";
  if (auto budget = liveblocks::ParseRestBudget(api.rest_budget); !budget) {
    return budget.error().message();
  }
  return {};
}

liveblocks::curl::ClientOptions ClientOptions(const ApiOptions& api) {
  liveblocks::curl::ClientOptions options;
  options.base_url = api.base_url;
  options.secret_key = api.secret_key;
  options.total_timeout = std::chrono::milliseconds(api.rest_timeout_ms);
  return options;
}

namespace {
sync::EngineOptions EngineOptionsFor(int workers, const std::string& flow_keys, int64_t lease_ms) {
  sync::EngineOptions options;
  options.workers = workers;
  options.lease_ms = lease_ms;
  options.projection.flow_keys = SplitAny(flow_keys, ", ");
  return options;
}

double RestBudgetPerSecond(const ApiOptions& api) {
  auto per_second = liveblocks::ParseRestBudget(api.rest_budget);
  return per_second ? *per_second : 0;  // CheckApiOptions refused the others
}

liveblocks::curl::ClientOptions ClientOptionsSleepingOn(const ApiOptions& api,
                                                        sync::Engine* const& engine,
                                                        liveblocks::RestBudget& budget) {
  liveblocks::curl::ClientOptions options = ClientOptions(api);
  options.sleep = [&engine](std::chrono::milliseconds d) { return engine->Sleep(d); };
  options.budget = &budget;
  return options;
}
}  // namespace

MirrorWorkers::MirrorWorkers(store::TargetQueue& queue, const ApiOptions& api, const Clock& clock,
                             int workers, const std::string& flow_keys, int64_t lease_ms)
    : budget_(clock, RestBudgetPerSecond(api)),
      client_(ClientOptionsSleepingOn(api, engine_for_sleep_, budget_)),
      engine_(queue, client_, clock, EngineOptionsFor(workers, flow_keys, lease_ms)) {
  engine_for_sleep_ = &engine_;
}

int PrepareSchema(store::SchemaAdmin& store, bool no_migrate) {
  if (!no_migrate) {
    Status migrated = store.Migrate();
    if (!migrated && migrated.error().code() == ErrorCode::kInvalidArgument) {
      return ConfigError(migrated.error().message());  // a schema newer than this build
    }
    if (!migrated) {
      log::Error(Cat("migration failed: ", migrated.error().ToString()));
      return 1;
    }
    return 0;
  }
  auto version = store.SchemaVersion();
  if (!version) {
    log::Error(Cat("cannot read the schema version: ", version.error().ToString()));
    return 1;
  }
  if (*version > store::sql::LatestSchemaVersion()) {
    return ConfigError(Cat("the database schema is at version ", *version,
                           ", newer than this lbmirror (", store::sql::LatestSchemaVersion(),
                           "): run the lbmirror release that migrated it, or a newer one"));
  }
  if (*version < store::sql::LatestSchemaVersion()) {
    log::Error(Cat("the database schema is at version ", *version, ", this lbmirror needs ",
                   store::sql::LatestSchemaVersion(),
                   ": run `lbmirror migrate` (or apply `lbmirror migrate --print`)"));
    return 2;
  }
  return 0;
}

}  // namespace lbmirror::cli
