// Pieces shared by the subcommands that talk to the Liveblocks API and the database.
#pragma once

#include <string>

#include "cli/options.h"
#include "core/clock.h"
#include "liveblocks/curl/curl_client.h"
#include "store/store.h"
#include "sync/engine.h"

namespace lbmirror::cli {

// Logs `message` and returns exit code 2 (bad configuration).
int ConfigError(const std::string& message);
// An error message for unusable API settings, or empty when they are fine.
std::string CheckApiOptions(const ApiOptions& api);
liveblocks::curl::ClientOptions ClientOptions(const ApiOptions& api);
// Applies the schema, or with no_migrate checks that someone else did. Returns an exit code.
int PrepareSchema(store::SchemaAdmin& store, bool no_migrate);

// The REST client and the worker engine of `serve` and `backfill`, wired together: the client's
// retry pauses and its waits for the REST budget end at once when the engine stops. Neither is
// started.
class MirrorWorkers {
 public:
  // `store` and `clock` must outlive this. `flow_keys`: the --flow-keys option's list.
  MirrorWorkers(store::TargetQueue& queue, const ApiOptions& api, const Clock& clock, int workers,
                const std::string& flow_keys, int64_t lease_ms = sync::EngineOptions{}.lease_ms);

  liveblocks::curl::Client& client() { return client_; }
  sync::Engine& engine() { return engine_; }
  const liveblocks::RestBudget& budget() const { return budget_; }

 private:
  sync::Engine* engine_for_sleep_ = nullptr;  // set once engine_ is built
  liveblocks::RestBudget budget_;             // --rest-budget (checked by CheckApiOptions)
  liveblocks::curl::Client client_;
  sync::Engine engine_;
};

}  // namespace lbmirror::cli
