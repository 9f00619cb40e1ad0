#include <sys/resource.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/metrics_page.h"
#include "cli/store_factory.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/periodic.h"
#include "core/text.h"
#include "http/server.h"
#include "liveblocks/curl/curl_client.h"
#include "store/schema.h"
#include "sync/engine.h"
#include "sync/reconciler.h"
#include "webhook/signature_verifier.h"
#include "webhook/webhook_handler.h"

namespace lbmirror::cli {

namespace {
constexpr int64_t kPruneEveryMs = 3'600'000;
// Descriptors kept for everything but HTTP connections: database and REST connections, logs.
constexpr int64_t kReservedDescriptors = 128;

// The HTTP connection cap: the soft descriptor limit is raised to the hard one, and the cap
// lowered, if need be, to leave kReservedDescriptors of it for the rest of the process.
size_t ConnectionCap(int requested) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return static_cast<size_t>(requested);
  if (limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY) return static_cast<size_t>(requested);
  int64_t fits = std::max<int64_t>(16, static_cast<int64_t>(limit.rlim_cur) - kReservedDescriptors);
  if (requested <= fits) return static_cast<size_t>(requested);
  log::Warn(Cat("--max-connections ", requested, " lowered to ", fits, " to fit the limit of ",
                limit.rlim_cur, " open files"));
  return static_cast<size_t>(fits);
}

}  // namespace

int RunServe(const CommonOptions& common, const ApiOptions& api, const ServeOptions& options) {
  std::optional<webhook::SignatureVerifier> verifier;
  if (!options.webhook_secret.empty()) {
    auto created =
        webhook::SignatureVerifier::Create(options.webhook_secret, options.timestamp_tolerance_s);
    if (!created) return ConfigError(Cat("LIVEBLOCKS_WEBHOOK_SECRET: ", created.error().message()));
    verifier.emplace(std::move(*created));
  }
  if (std::string problem = CheckApiOptions(api); !problem.empty()) return ConfigError(problem);
  auto address = http::ParseListenAddress(options.listen);
  if (!address) return ConfigError(address.error().message());
  if (options.webhook_path.empty() || options.webhook_path.front() != '/') {
    return ConfigError("--webhook-path must start with /");
  }
  if (options.max_connections < 1) return ConfigError("--max-connections must be at least 1");
  if (options.workers < 1 || options.http_threads < 1 || options.max_body_bytes < 1024 ||
      options.idle_timeout_ms < 100 || options.body_timeout_ms < 100 || options.coalesce_ms < 0 ||
      options.coalesce_ms > 60'000) {
    return ConfigError(
        "--workers and --http-threads must be at least 1, --max-body-bytes 1024, "
        "the timeouts 100 ms, --coalesce-ms between 0 and 60000");
  }
  // Without webhooks, polling is the only way to learn of changes.
  const bool poll = !options.poll.empty() || !verifier;
  std::optional<int64_t> interval_ms = ParseDurationMs(
      poll ? (options.poll.empty() ? "5s" : options.poll) : options.reconcile_interval);
  if (!interval_ms) {
    return ConfigError(
        Cat(poll ? "--poll" : "--reconcile-interval", " must be a duration such as 5s, 10m or 1h"));
  }
  if (poll && *interval_ms < 1'000) return ConfigError("--poll must be at least 1s");
  std::optional<int64_t> prune_ms;
  if (!options.prune_events_older_than.empty()) {
    prune_ms = ParseDurationMs(options.prune_events_older_than);
    if (!prune_ms || *prune_ms < 60'000) {
      return ConfigError(
          "--prune-events-older-than must be a duration of at least 1m, such as 30d");
    }
  }

  const Clock& clock = SystemClock::Instance();
  auto store = OpenStore(common.database_url, common.table_prefix,
                         options.http_threads + options.workers + 3, clock, options.hard_deletes,
                         options.coalesce_ms);
  if (!store) return ConfigError(store.error().ToString());
  if (int code = PrepareSchema(**store, options.no_migrate); code != 0) return code;
  if (Status warm = (*store)->WarmUp(); !warm) {
    log::Warn(Cat("could not prepare the database connections ahead: ", warm.error().ToString()));
  }

  sync::Engine* engine_ptr = nullptr;
  liveblocks::CurlClientOptions client_options = ClientOptions(api);
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

  std::unique_ptr<sync::ReconcileLoop> reconcile;
  if (*interval_ms > 0) {
    sync::ReconcileLoopOptions loop;
    loop.interval_ms = *interval_ms;
    loop.poll = poll;
    sync::ReconcileOptions scope;
    scope.room_prefix = options.room_prefix;
    reconcile = std::make_unique<sync::ReconcileLoop>(**store, client, clock, scope, loop,
                                                      [&engine] { engine.Notify(); });
  }
  ServeMetrics serve_metrics;
  std::unique_ptr<Periodic> pruner;
  if (prune_ms) {
    pruner = std::make_unique<Periodic>(kPruneEveryMs, [&] {
      auto pruned = (*store)->PruneEvents(clock.NowMs() - *prune_ms);
      if (!pruned) {
        log::Warn(Cat("pruning stored webhooks failed: ", pruned.error().ToString()));
      } else if (*pruned > 0) {
        serve_metrics.events_pruned.fetch_add(*pruned);
        log::Info(Cat("pruned ", *pruned, " stored webhooks older than ",
                      options.prune_events_older_than));
      }
    });
  }

  std::unique_ptr<webhook::WebhookHandler> handler;
  http::Router router;
  if (verifier) {
    // Stored targets become due after the coalescing delay (SqlStoreOptions::coalesce_ms).
    handler = std::make_unique<webhook::WebhookHandler>(
        *verifier, **store, clock,
        [&engine, &clock, delay = options.coalesce_ms] { engine.Notify(clock.NowMs() + delay); });
    router.AddAsync(
        "POST", options.webhook_path, [&](const http::Request& request, http::Responder respond) {
          const auto start = std::chrono::steady_clock::now();
          handler->Handle(request, [&serve_metrics, start,
                                    respond = std::move(respond)](http::Response response) {
            serve_metrics.ack_seconds.Observe(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
            respond(std::move(response));
          });
        });
  }
  router.Add("GET", "/healthz",
             [](const http::Request&) { return http::Response::Json(200, R"({"status":"ok"})"); });
  router.Add("GET", "/readyz", [&store](const http::Request&) {
    if (Status ping = (*store)->Ping(); !ping) {
      return http::Response::Json(
          503, boost::json::serialize(boost::json::object{
                   {"status", "not ready"}, {"reason", "the database is unreachable"}}));
    }
    auto version = (*store)->SchemaVersion();
    if (!version || *version != store::LatestSchemaVersion()) {
      return http::Response::Json(
          503, boost::json::serialize(boost::json::object{
                   {"status", "not ready"},
                   {"reason", Cat("the schema is at version ", version ? *version : -1,
                                  ", this lbmirror needs ", store::LatestSchemaVersion())}}));
    }
    return http::Response::Json(200, R"({"status":"ready"})");
  });
  router.Add("GET", "/metrics", [&](const http::Request&) {
    http::Response response;
    response.status = 200;
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.body = RenderMetrics(**store, clock, serve_metrics,
                                  handler ? &handler->counters() : nullptr, client.counters(),
                                  engine.counters(), reconcile ? &reconcile->counters() : nullptr);
    return response;
  });

  http::ServerOptions server_options;
  server_options.host = address->first;
  server_options.port = address->second;
  server_options.max_body_bytes = static_cast<size_t>(options.max_body_bytes);
  server_options.threads = options.http_threads;
  server_options.max_connections = ConnectionCap(options.max_connections);
  server_options.idle_timeout = std::chrono::milliseconds(options.idle_timeout_ms);
  server_options.header_timeout = std::chrono::milliseconds(options.idle_timeout_ms);
  server_options.body_timeout = std::chrono::milliseconds(options.body_timeout_ms);
  server_options.handle_signals = true;
  http::HttpServer server(server_options, std::move(router));
  if (Status listening = server.Listen(); !listening) {
    log::Error(listening.error().message());
    return 1;
  }
  log::Info(Cat("lbmirror listening on ", address->first, ":", server.port(), ", Liveblocks API ",
                api.base_url, ", ",
                verifier ? Cat("webhooks at ", options.webhook_path, " (", verifier->secret_count(),
                               " secret(s))")
                         : std::string("no webhook secret")));
  if (poll) {
    log::Info(Cat("polling the Liveblocks API every ", *interval_ms / 1000.0,
                  " s for changed rooms",
                  verifier ? "" : " (set LIVEBLOCKS_WEBHOOK_SECRET to receive webhooks)"));
  } else if (reconcile) {
    log::Info(Cat("reconciling with the Liveblocks API every ", *interval_ms / 1000, " s"));
  }
  engine.Start();
  if (reconcile) reconcile->Start();
  if (pruner) pruner->Start();
  server.Run();  // returns after SIGINT/SIGTERM once requests in flight are answered
  log::Info("HTTP server stopped; stopping workers");
  if (pruner) pruner->Stop();
  if (reconcile) reconcile->Stop();
  engine.Stop();
  std::string webhooks;
  if (handler) {
    using Counters = webhook::WebhookCounters;
    const Counters& c = handler->counters();
    webhooks = Cat("webhooks stored ", c.Total(Counters::kStored), ", duplicates ",
                   c.Total(Counters::kDuplicate), ", rejected ", c.Total(Counters::kRejected),
                   ", unavailable ", c.Total(Counters::kUnavailable), "; ");
  }
  log::Info(Cat("stopped: ", webhooks, "targets mirrored ", engine.counters().completed.load(),
                ", failed attempts ", engine.counters().failed.load()));
  return 0;
}

}  // namespace lbmirror::cli
