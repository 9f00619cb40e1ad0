#include <sys/resource.h>

#include <boost/json.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>

#include "admin/admin_api.h"
#include "admin/metrics_page.h"
#include "admin/overview.h"
#include "admin/probes.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "cli/store_factory.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/periodic.h"
#include "core/text.h"
#include "forward/curl_post.h"
#include "forward/endpoints.h"
#include "forward/forwarder.h"
#include "http/server.h"
#include "liveblocks/curl/curl_client.h"
#include "store/sql/schema.h"
#include "sync/engine.h"
#include "sync/passes.h"
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

// What `serve` checked in its options before opening anything.
struct ServeConfig {
  std::optional<webhook::SignatureVerifier> verifier;  // none: no webhook endpoint
  std::pair<std::string, uint16_t> address;
  bool poll = false;                 // polling instead of (or besides) webhooks
  int64_t interval_ms = 0;           // of polling or reconciliation; 0: never
  sync::PassIntervals passes;        // 0: a pass never runs
  int64_t after_edit_ms = 0;         // versions and feeds of a room read this long after its edits
  int64_t changes_retention_ms = 0;  // with --change-feed (0: keep every change)
  std::vector<forward::Endpoint> endpoints;  // --forward-config
  std::optional<int64_t> prune_ms;
  int64_t admin_sample_ms = 10'000;
  int64_t ack_timeout_ms = 5'000;  // the bound of every answer
};

// The endpoints of --forward-config (none without it).
Result<std::vector<forward::Endpoint>> ReadEndpoints(const ServeOptions& options) {
  if (options.forward_config.empty()) return std::vector<forward::Endpoint>{};
  if (!options.change_feed) return InvalidArgument("--forward-config needs --change-feed");
  std::ifstream file(options.forward_config);
  std::stringstream text;
  text << file.rdbuf();
  if (!file) return InvalidArgument(Cat("--forward-config: cannot read ", options.forward_config));
  auto endpoints = forward::ParseEndpoints(text.str());
  if (!endpoints) return InvalidArgument(Cat("--forward-config: ", endpoints.error().message()));
  return endpoints;
}

// The options checked; nullopt, with the exit code in `code`, when one is wrong.
std::optional<ServeConfig> ReadServeConfig(const ApiOptions& api, const ServeOptions& options,
                                           int& code) {
  ServeConfig config;
  auto fail = [&code](const std::string& message) {
    code = ConfigError(message);
    return std::nullopt;
  };
  if (!options.webhook_secret.empty()) {
    auto created =
        webhook::SignatureVerifier::Create(options.webhook_secret, options.timestamp_tolerance_s);
    if (!created) return fail(Cat("LIVEBLOCKS_WEBHOOK_SECRET: ", created.error().message()));
    config.verifier.emplace(std::move(*created));
  }
  if (std::string problem = CheckApiOptions(api); !problem.empty()) return fail(problem);
  auto address = http::ParseListenAddress(options.listen);
  if (!address) return fail(address.error().message());
  config.address = *address;
  if (options.webhook_path.empty() || options.webhook_path.front() != '/') {
    return fail("--webhook-path must start with /");
  }
  if (options.max_connections < 1) return fail("--max-connections must be at least 1");
  if (!options.admin_token.empty() && options.admin_token.size() < 16) {
    return fail("LBMIRROR_ADMIN_TOKEN must be 16 characters or more");
  }
  auto sample_ms = ParseDurationMs(options.admin_sample_interval);
  if (!sample_ms || *sample_ms < 1'000) {
    return fail("--admin-sample-interval must be a duration of at least 1s");
  }
  config.admin_sample_ms = *sample_ms;
  auto ack_ms = ParseDurationMs(options.ack_timeout);
  if (!ack_ms || *ack_ms < 100 || *ack_ms > 60'000) {
    return fail("--ack-timeout must be a duration between 100ms and 60s, such as 5s");
  }
  config.ack_timeout_ms = *ack_ms;
  if (options.workers < 1 || options.http_threads < 1 || options.max_body_bytes < 1024 ||
      options.idle_timeout_ms < 100 || options.body_timeout_ms < 100 || options.coalesce_ms < 0 ||
      options.coalesce_ms > 60'000) {
    return fail(
        "--workers and --http-threads must be at least 1, --max-body-bytes 1024, "
        "the timeouts 100 ms, --coalesce-ms between 0 and 60000");
  }
  // Without webhooks, polling is the only way to learn of changes.
  config.poll = !options.poll.empty() || !config.verifier;
  std::optional<int64_t> interval_ms = ParseDurationMs(
      config.poll ? (options.poll.empty() ? "5s" : options.poll) : options.reconcile_interval);
  if (!interval_ms) {
    return fail(Cat(config.poll ? "--poll" : "--reconcile-interval",
                    " must be a duration such as 5s, 10m or 1h"));
  }
  if (config.poll && *interval_ms < 1'000) return fail("--poll must be at least 1s");
  config.interval_ms = *interval_ms;
  for (auto [option, value, into] :
       {std::tuple{"--inbox-interval", &options.inbox_interval, &config.passes.inbox_ms},
        std::tuple{"--groups-interval", &options.groups_interval, &config.passes.groups_ms},
        std::tuple{"--versions-interval", &options.versions_interval, &config.passes.versions_ms},
        std::tuple{"--settings-interval", &options.settings_interval, &config.passes.settings_ms},
        std::tuple{"--subscriptions-interval", &options.subscriptions_interval,
                   &config.passes.subscriptions_ms},
        std::tuple{"--feeds-interval", &options.feeds_interval, &config.passes.feeds_ms},
        std::tuple{"--after-edit-delay", &options.after_edit_delay, &config.after_edit_ms},
        std::tuple{"--changes-retention", &options.changes_retention,
                   &config.changes_retention_ms}}) {
    auto ms = ParseDurationMs(*value);
    if (!ms || (*ms != 0 && *ms < 1'000)) {
      return fail(Cat(option, " must be 0 or a duration of at least 1s, such as 24h or 10m"));
    }
    *into = *ms;
  }
  auto endpoints = ReadEndpoints(options);
  if (!endpoints) return fail(endpoints.error().message());
  config.endpoints = std::move(*endpoints);
  if (!options.prune_events_older_than.empty()) {
    config.prune_ms = ParseDurationMs(options.prune_events_older_than);
    if (!config.prune_ms || *config.prune_ms < 60'000) {
      return fail("--prune-events-older-than must be a duration of at least 1m, such as 30d");
    }
  }
  return config;
}

http::ServerOptions ServerOptionsFor(const ServeConfig& config, const ServeOptions& options) {
  http::ServerOptions server;
  server.host = config.address.first;
  server.port = config.address.second;
  server.max_body_bytes = static_cast<size_t>(options.max_body_bytes);
  server.threads = options.http_threads;
  server.max_connections = ConnectionCap(options.max_connections);
  server.idle_timeout = std::chrono::milliseconds(options.idle_timeout_ms);
  server.header_timeout = std::chrono::milliseconds(options.idle_timeout_ms);
  server.body_timeout = std::chrono::milliseconds(options.body_timeout_ms);
  server.answer_timeout = std::chrono::milliseconds(config.ack_timeout_ms);
  server.handle_signals = true;
  return server;
}

// Deletes stored webhooks older than `older_than_ms` every hour.
std::unique_ptr<Periodic> Pruner(store::EventLog& store, const Clock& clock, int64_t older_than_ms,
                                 const std::string& option, admin::ServeMetrics& serve_metrics) {
  return std::make_unique<Periodic>(
      kPruneEveryMs, [&store, &clock, &serve_metrics, older_than_ms, option] {
        auto pruned = store.PruneEvents(clock.NowMs() - older_than_ms);
        if (!pruned) {
          log::Warn(Cat("pruning stored webhooks failed: ", pruned.error().ToString()));
        } else if (*pruned > 0) {
          serve_metrics.events_pruned.fetch_add(*pruned);
          log::Info(Cat("pruned ", *pruned, " stored webhooks older than ", option));
        }
      });
}

// The admin listener, when an admin token is set (none otherwise, or on error with `code`).
admin::RunningAdmin StartAdmin(const ServeOptions& options, const ServeConfig& config,
                               const admin::Sources& sources, sync::Engine& engine,
                               std::function<std::string()> metrics_page, int& code) {
  if (options.admin_token.empty()) return {};
  auto running = admin::StartAdmin(
      {options.admin_listen, options.admin_token, config.admin_sample_ms, config.ack_timeout_ms,
       options.change_feed},
      sources, [&engine] { engine.Notify(); },
      {sources.store, store::sql::LatestSchemaVersion(), std::move(metrics_page)});
  if (!running) {
    log::Error(running.error().message());
    code = running.error().code() == ErrorCode::kInvalidArgument ? 2 : 1;
    return {};
  }
  return std::move(*running);
}

// The HTTP interface: the webhook endpoint (when `handler` is set), health, readiness, metrics.
http::Router Routes(const std::string& webhook_path, webhook::WebhookHandler* handler,
                    store::Store& store, admin::ServeMetrics& serve_metrics,
                    std::function<std::string()> metrics_page) {
  http::Router router;
  if (handler != nullptr) {
    router.AddAsync(
        "POST", webhook_path,
        [handler, &serve_metrics](const http::Request& request, http::Responder respond) {
          const auto start = std::chrono::steady_clock::now();
          handler->Handle(request, [&serve_metrics, start,
                                    respond = std::move(respond)](http::Response response) {
            serve_metrics.ack_seconds.Observe(
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
            respond(std::move(response));
          });
        },
        [handler](const http::Request& request) { return handler->TimedOut(request); });
  }
  admin::AddProbes(router, {&store, store::sql::LatestSchemaVersion(), std::move(metrics_page)});
  return router;
}

// The first line of a run: where it listens and how it learns of changes.
void LogListening(const ServeConfig& config, const ServeOptions& options, const ApiOptions& api,
                  uint16_t port, bool reconciling) {
  const auto& verifier = config.verifier;
  log::Info(Cat("lbmirror listening on ", config.address.first, ":", port, ", Liveblocks API ",
                api.base_url, ", ",
                verifier ? Cat("webhooks at ", options.webhook_path, " (", verifier->secret_count(),
                               " secret(s))")
                         : std::string("no webhook secret")));
  if (config.poll) {
    log::Info(Cat("polling the Liveblocks API every ", config.interval_ms / 1000.0,
                  " s for changed rooms",
                  verifier ? "" : " (set LIVEBLOCKS_WEBHOOK_SECRET to receive webhooks)"));
  } else if (reconciling) {
    log::Info(Cat("reconciling with the Liveblocks API every ", config.interval_ms / 1000, " s"));
  }
}

// The last line of a run: what it received and mirrored.
void LogStopped(const webhook::WebhookHandler* handler, const sync::Engine& engine) {
  std::string webhooks;
  if (handler != nullptr) {
    using Counters = webhook::WebhookCounters;
    const Counters& c = handler->counters();
    webhooks = Cat("webhooks stored ", c.Total(Counters::kStored), ", duplicates ",
                   c.Total(Counters::kDuplicate), ", rejected ", c.Total(Counters::kRejected),
                   ", unavailable ", c.Total(Counters::kUnavailable), "; ");
  }
  log::Info(Cat("stopped: ", webhooks, "targets mirrored ", engine.counters().completed.load(),
                ", failed attempts ", engine.counters().failed.load()));
}
// The reconciliation (or polling) loop of the options; null when it is off.
std::unique_ptr<sync::ReconcileLoop> ReconcileLoopFor(const ServeConfig& config,
                                                      const ServeOptions& options,
                                                      store::Store& store,
                                                      liveblocks::LiveblocksClient& client,
                                                      const Clock& clock, sync::Engine& engine) {
  if (config.interval_ms <= 0) return nullptr;
  sync::ReconcileLoopOptions loop;
  loop.interval_ms = config.interval_ms;
  loop.poll = config.poll;
  sync::ReconcileOptions scope;
  scope.room_prefix = options.room_prefix;
  return std::make_unique<sync::ReconcileLoop>(store, store, client, clock, scope, loop,
                                               [&engine] { engine.Notify(); });
}

// A room just edited: its version history and feeds are read soon after, besides their passes
// (only the kinds whose pass is on).
store::sql::AfterEdit AfterEditOf(const ServeConfig& config) {
  store::sql::AfterEdit after_edit{config.after_edit_ms, {}};
  if (config.passes.versions_ms > 0) after_edit.kinds.push_back(store::TargetKind::kVersions);
  if (config.passes.feeds_ms > 0) after_edit.kinds.push_back(store::TargetKind::kFeeds);
  return after_edit;
}

// With --change-feed: gives committed changes their positions a few times a second, and once
// a minute deletes those older than --changes-retention, 10,000 at a time.
std::unique_ptr<Periodic> Sequencer(const ServeConfig& config, store::ChangeFeed& feed,
                                    const Clock& clock) {
  const int64_t retention_ms = config.changes_retention_ms;
  auto next_prune = std::make_shared<int64_t>(0);
  return std::make_unique<Periodic>(250, [&feed, &clock, retention_ms, next_prune] {
    if (auto placed = feed.SequenceChanges(1000); !placed) {
      log::Warn(Cat("change feed: ", placed.error().ToString(), "; trying again"));
    }
    const int64_t now = clock.NowMs();
    if (retention_ms == 0 || now < *next_prune) return;
    *next_prune = now + 60'000;
    for (;;) {
      auto pruned = feed.PruneChanges(now - retention_ms, 10'000);
      if (!pruned) {
        log::Warn(Cat("change feed: pruning: ", pruned.error().ToString()));
        return;
      }
      if (*pruned > 0) log::Info(Cat("change feed: pruned ", *pruned, " changes"));
      if (*pruned < 10'000) return;
    }
  });
}

// What serve runs for the change feed: the sequencer, and the forwarder when endpoints are
// configured.
struct FeedTasks {
  std::unique_ptr<Periodic> sequencer;
  std::unique_ptr<forward::Forwarder> forwarder;
  void Start() {
    if (sequencer) sequencer->Start();
    if (forwarder) forwarder->Start();
  }
  void Stop() {
    if (forwarder) forwarder->Stop();
    if (sequencer) sequencer->Stop();
  }
};

FeedTasks FeedTasksFor(const ServeOptions& options, const ServeConfig& config,
                       store::ChangeFeed& feed, const Clock& clock) {
  FeedTasks tasks;
  if (!options.change_feed) return tasks;
  tasks.sequencer = Sequencer(config, feed, clock);
  if (!config.endpoints.empty()) {
    tasks.forwarder = std::make_unique<forward::Forwarder>(
        config.endpoints, feed, clock, forward::CurlPost, forward::ForwarderOptions{});
  }
  return tasks;
}

}  // namespace

int RunServe(const CommonOptions& common, const ApiOptions& api, const ServeOptions& options) {
  int code = 0;
  std::optional<ServeConfig> config = ReadServeConfig(api, options, code);
  if (!config) return code;
  const std::optional<webhook::SignatureVerifier>& verifier = config->verifier;

  const Clock& clock = SystemClock::Instance();
  auto store = OpenStore(common.database_url, common.table_prefix,
                         options.http_threads + options.workers + 3, clock, options.hard_deletes,
                         options.coalesce_ms, AfterEditOf(*config),
                         options.change_feed ? "reconciliation" : "");
  if (!store) return ConfigError(store.error().ToString());
  if ((code = PrepareSchema(**store, options.no_migrate)) != 0) return code;
  if (Status warm = (*store)->WarmUp(); !warm) {
    log::Warn(Cat("could not prepare the database connections ahead: ", warm.error().ToString()));
  }

  MirrorWorkers workers(**store, api, clock, options.workers, options.flow_keys, options.lease_ms);
  liveblocks::curl::Client& client = workers.client();
  sync::Engine& engine = workers.engine();

  std::unique_ptr<sync::ReconcileLoop> reconcile =
      ReconcileLoopFor(*config, options, **store, client, clock, engine);
  sync::Passes passes(
      **store, **store, clock, sync::PassSpecs(config->passes),
      [&engine](store::TargetKind kind) { return engine.Unsupported(kind); },
      [&engine] { engine.Notify(); });
  admin::ServeMetrics serve_metrics;
  serve_metrics.started_ms = clock.NowMs();
  std::unique_ptr<Periodic> pruner;
  if (config->prune_ms) {
    pruner =
        Pruner(**store, clock, *config->prune_ms, options.prune_events_older_than, serve_metrics);
  }

  std::unique_ptr<webhook::WebhookHandler> handler;
  if (verifier) {
    // Stored targets become due after the coalescing delay (SqlStoreOptions::coalesce_ms).
    handler = std::make_unique<webhook::WebhookHandler>(
        *verifier, **store, clock,
        [&engine, &clock, delay = options.coalesce_ms] { engine.Notify(clock.NowMs() + delay); });
  }
  const admin::Sources sources{store->get(),
                               &clock,
                               &serve_metrics,
                               handler ? &handler->counters() : nullptr,
                               &client.counters(),
                               &workers.budget(),
                               &engine.counters(),
                               reconcile ? &reconcile->counters() : nullptr,
                               &passes};
  auto metrics_page = [&sources] { return admin::RenderMetrics(sources); };
  http::HttpServer server(
      ServerOptionsFor(*config, options),
      Routes(options.webhook_path, handler.get(), **store, serve_metrics, metrics_page));
  if (Status listening = server.Listen(); !listening) {
    log::Error(listening.error().message());
    return 1;
  }
  LogListening(*config, options, api, server.port(), reconcile != nullptr);
  admin::RunningAdmin admin = StartAdmin(options, *config, sources, engine, metrics_page, code);
  if (code != 0) return code;
  engine.Start();
  if (reconcile) reconcile->Start();
  passes.Start();
  FeedTasks feed = FeedTasksFor(options, *config, **store, clock);
  feed.Start();
  if (pruner) pruner->Start();
  server.Run();  // returns after SIGINT/SIGTERM once requests in flight are answered
  log::Info("HTTP server stopped; stopping workers");
  if (pruner) pruner->Stop();
  feed.Stop();
  if (reconcile) reconcile->Stop();
  passes.Stop();
  admin.Stop();
  engine.Stop();
  LogStopped(handler.get(), engine);
  return 0;
}

}  // namespace lbmirror::cli
