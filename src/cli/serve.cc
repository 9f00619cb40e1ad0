#include <iostream>
#include <regex>

#include "cli/commands.h"
#include "cli/store_factory.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/text.h"
#include "http/server.h"
#include "liveblocks/curl/curl_client.h"
#include "store/schema.h"
#include "sync/engine.h"
#include "webhook/signature_verifier.h"
#include "webhook/webhook_handler.h"

namespace lbmirror::cli {

namespace {
bool IsValidSecretKey(const std::string& key) {
  static const std::regex kPattern("^sk_[A-Za-z0-9_-]+$");
  return std::regex_match(key, kPattern);
}

int ConfigError(const std::string& message) {
  log::Error(message);
  return 2;
}

// Applies the schema, or with --no-migrate checks that someone else did.
int PrepareSchema(store::Store& store, bool no_migrate) {
  if (!no_migrate) {
    Status migrated = store.Migrate();
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
  if (*version < store::LatestSchemaVersion()) {
    log::Error(Cat("the database schema is at version ", *version, ", this lbmirror needs ",
                   store::LatestSchemaVersion(),
                   ": run `lbmirror migrate` (or apply `lbmirror migrate --print`)"));
    return 2;
  }
  return 0;
}
}  // namespace

int RunServe(const CommonOptions& common, const ServeOptions& options) {
  if (options.webhook_secret.empty()) {
    return ConfigError("LIVEBLOCKS_WEBHOOK_SECRET is not set: copy the endpoint's signing secret "
                       "(whsec_...) from the Liveblocks dashboard");
  }
  auto verifier =
      webhook::SignatureVerifier::Create(options.webhook_secret, options.timestamp_tolerance_s);
  if (!verifier) return ConfigError(Cat("LIVEBLOCKS_WEBHOOK_SECRET: ", verifier.error().message()));
  if (options.secret_key.empty()) {
    return ConfigError("LIVEBLOCKS_SECRET_KEY is not set: use a secret key (sk_...) of the project");
  }
  if (!IsValidSecretKey(options.secret_key)) {
    return ConfigError("LIVEBLOCKS_SECRET_KEY does not look like a secret key (sk_ followed by "
                       "letters, digits, '_' or '-')");
  }
  if (!StartsWith(options.base_url, "http://") && !StartsWith(options.base_url, "https://")) {
    return ConfigError("LIVEBLOCKS_BASE_URL must start with http:// or https://");
  }
  auto address = http::ParseListenAddress(options.listen);
  if (!address) return ConfigError(address.error().message());
  if (options.webhook_path.empty() || options.webhook_path.front() != '/') {
    return ConfigError("--webhook-path must start with /");
  }
  if (options.workers < 1 || options.http_threads < 1 || options.max_body_bytes < 1024 ||
      options.idle_timeout_ms < 100 || options.body_timeout_ms < 100) {
    return ConfigError("--workers and --http-threads must be at least 1, --max-body-bytes 1024, "
                       "the timeouts 100 ms");
  }

  const Clock& clock = SystemClock::Instance();
  auto store = OpenStore(common.database_url, common.table_prefix,
                         options.http_threads + options.workers + 2, clock, options.hard_deletes);
  if (!store) return ConfigError(store.error().ToString());
  if (int code = PrepareSchema(**store, options.no_migrate); code != 0) return code;

  sync::Engine* engine_ptr = nullptr;
  liveblocks::CurlClientOptions client_options;
  client_options.base_url = options.base_url;
  client_options.secret_key = options.secret_key;
  client_options.total_timeout = std::chrono::milliseconds(options.rest_timeout_ms);
  client_options.sleep = [&engine_ptr](std::chrono::milliseconds d) {
    return engine_ptr->Sleep(d);
  };
  liveblocks::CurlLiveblocksClient client(client_options);
  sync::EngineOptions engine_options;
  engine_options.workers = options.workers;
  engine_options.lease_ms = options.lease_ms;
  engine_options.projection.flow_keys = SplitAny(options.flow_keys, ", ");
  sync::Engine engine(**store, client, clock, engine_options);
  engine_ptr = &engine;

  webhook::WebhookHandler handler(*verifier, **store, clock, [&engine] { engine.Notify(); });
  http::Router router;
  router.Add("POST", options.webhook_path,
             [&handler](const http::Request& request) { return handler.Handle(request); });
  router.Add("GET", "/healthz", [](const http::Request&) {
    return http::Response::Json(200, R"({"status":"ok"})");
  });

  http::ServerOptions server_options;
  server_options.host = address->first;
  server_options.port = address->second;
  server_options.max_body_bytes = static_cast<size_t>(options.max_body_bytes);
  server_options.threads = options.http_threads;
  server_options.idle_timeout = std::chrono::milliseconds(options.idle_timeout_ms);
  server_options.header_timeout = std::chrono::milliseconds(options.idle_timeout_ms);
  server_options.body_timeout = std::chrono::milliseconds(options.body_timeout_ms);
  server_options.handle_signals = true;
  http::HttpServer server(server_options, std::move(router));
  if (Status listening = server.Listen(); !listening) {
    log::Error(listening.error().message());
    return 1;
  }
  log::Info(Cat("lbmirror listening on ", address->first, ":", server.port(), ", webhook path ",
                options.webhook_path, ", Liveblocks API ", options.base_url, ", ",
                verifier->secret_count(), " webhook secret(s)"));
  engine.Start();
  server.Run();  // returns after SIGINT/SIGTERM once requests in flight are answered
  log::Info("HTTP server stopped; stopping workers");
  engine.Stop();
  const auto& c = handler.counters();
  log::Info(Cat("stopped: webhooks stored ", c.stored.load(), ", duplicates ",
                c.duplicates.load(), ", rejected ", c.rejected.load(), ", unavailable ",
                c.unavailable.load(), "; targets mirrored ", engine.counters().completed.load(),
                ", failed attempts ", engine.counters().failed.load()));
  return 0;
}

}  // namespace lbmirror::cli
