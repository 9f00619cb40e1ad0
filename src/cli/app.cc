#include <CLI/CLI.hpp>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "core/log.h"
#include "core/text.h"
#include "core/version.h"
#include "liveblocks/curl/curl_client.h"
#include "store/mysql/mysql_connection.h"

namespace lbmirror::cli {

namespace {
void AddCommonOptions(CLI::App& command, CommonOptions& common) {
  command
      .add_option(
          "--database-url", common.database_url,
          "mysql://USER:PASS@HOST[:PORT]/DB[?sslmode=...&sslca=...], "
          "postgres://USER:PASS@HOST[:PORT]/DB[?sslmode=...&sslrootcert=...] or sqlite:PATH "
          "(default sqlite:lbmirror.db)")
      ->envname("DATABASE_URL");
  command.add_option("--table-prefix", common.table_prefix, "prefix of every table name")
      ->envname("LBMIRROR_TABLE_PREFIX")
      ->capture_default_str();
  command.add_option("--log-level", common.log_level, "debug, info, warn or error")
      ->envname("LBMIRROR_LOG_LEVEL")
      ->capture_default_str();
  command.add_flag("--log-json", common.log_json, "write log lines as JSON objects")
      ->envname("LBMIRROR_LOG_JSON");
}

void AddApiOptions(CLI::App& command, ApiOptions& api) {
  command
      .add_option("--secret-key", api.secret_key,
                  "Liveblocks secret key sk_... (prefer the environment variable)")
      ->envname("LIVEBLOCKS_SECRET_KEY");
  command.add_option("--liveblocks-base-url", api.base_url, "Liveblocks REST API base URL")
      ->envname("LIVEBLOCKS_BASE_URL")
      ->capture_default_str();
  command.add_option("--rest-timeout-ms", api.rest_timeout_ms, "total timeout of one REST request")
      ->envname("LBMIRROR_REST_TIMEOUT_MS")
      ->capture_default_str();
  command
      .add_option("--rest-budget", api.rest_budget,
                  "REST requests to Liveblocks at most, per second (10/s) or minute (600/m), "
                  "retries included, in bursts of up to one second's worth; reads for webhooks go "
                  "first, reconciliation passes take what is left (0: no limit)")
      ->envname("LBMIRROR_REST_BUDGET")
      ->capture_default_str();
}

// NAME_FILE names a file holding the value of the secret NAME (a container's or Kubernetes'
// mounted secret, systemd's credentials): read into NAME before the options are parsed. An
// error message, or empty when all is well; the file's content is never part of it.
std::string LoadSecretFiles() {
  for (const char* name : {"LIVEBLOCKS_SECRET_KEY", "LIVEBLOCKS_WEBHOOK_SECRET", "DATABASE_URL",
                           "LBMIRROR_ADMIN_TOKEN"}) {
    std::string file_variable = Cat(name, "_FILE");
    const char* file = std::getenv(file_variable.c_str());
    if (file == nullptr || *file == '\0') continue;
    if (const char* direct = std::getenv(name); direct != nullptr && *direct != '\0') {
      return Cat("set ", name, " or ", file_variable, ", not both");
    }
    std::ifstream in(file, std::ios::binary);
    if (!in.is_open()) return Cat(file_variable, ": cannot open ", file);
    std::string value((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return Cat(file_variable, ": cannot read ", file);
    while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
    if (value.empty()) return Cat(file_variable, ": ", file, " is empty");
    setenv(name, value.c_str(), 1);
  }
  return "";
}

// serve: the reconciliation passes of data no webhook announces.
void AddServePassOptions(CLI::App& command, ServeOptions& serve) {
  command
      .add_option("--inbox-interval", serve.inbox_interval,
                  "re-read the inbox of every user the mirror knows this often, for the "
                  "notifications read or deleted since (no webhook says so; 0 = never)")
      ->envname("LBMIRROR_INBOX_INTERVAL")
      ->capture_default_str();
  command
      .add_option("--groups-interval", serve.groups_interval,
                  "re-read the project's groups and their members this often (no webhook "
                  "announces them; 0 = never)")
      ->envname("LBMIRROR_GROUPS_INTERVAL")
      ->capture_default_str();
  command
      .add_option("--versions-interval", serve.versions_interval,
                  "re-read every room's version history this often (each new version's Yjs "
                  "document is read once; 0 = never)")
      ->envname("LBMIRROR_VERSIONS_INTERVAL")
      ->capture_default_str();
  command
      .add_option("--settings-interval", serve.settings_interval,
                  "re-read the notification settings and room subscription settings of every "
                  "user the mirror knows this often (0 = never)")
      ->envname("LBMIRROR_SETTINGS_INTERVAL")
      ->capture_default_str();
  command
      .add_option("--subscriptions-interval", serve.subscriptions_interval,
                  "re-read who follows each thread this often, besides after each of its "
                  "webhooks (0 = only then)")
      ->envname("LBMIRROR_SUBSCRIPTIONS_INTERVAL")
      ->capture_default_str();
  command
      .add_option("--feeds-interval", serve.feeds_interval,
                  "re-read every room's feeds and each feed's messages this often (0 = never)")
      ->envname("LBMIRROR_FEEDS_INTERVAL")
      ->capture_default_str();
  command
      .add_flag("--change-feed", serve.change_feed,
                "record every change the mirror makes in liveblocks_changes, in order (read them "
                "with lbmirror changes or GET /api/changes)")
      ->envname("LBMIRROR_CHANGE_FEED");
  command
      .add_option("--changes-retention", serve.changes_retention,
                  "with --change-feed: delete changes older than this (a position before them "
                  "then gets an error saying where the kept ones start; 0 = keep all)")
      ->envname("LBMIRROR_CHANGES_RETENTION")
      ->capture_default_str();
  command
      .add_option("--forward-config", serve.forward_config,
                  "with --change-feed: a JSON file of endpoints to POST changes to, each "
                  "[{\"name\",\"url\",\"secret\":\"whsec_…\",\"kinds\",\"room_prefix\"}] "
                  "(signed per Standard Webhooks)")
      ->envname("LBMIRROR_FORWARD_CONFIG")
      ->capture_default_str();
  command
      .add_option("--after-edit-delay", serve.after_edit_delay,
                  "read a room's version history and feeds this long after its Storage or Yjs "
                  "document changed, once for the edits meanwhile, besides their passes "
                  "(0 = only the passes)")
      ->envname("LBMIRROR_AFTER_EDIT_DELAY")
      ->capture_default_str();
}

// serve: where and how webhooks and probes are received.
void AddServeHttpOptions(CLI::App& command, ServeOptions& serve, ApiOptions& api) {
  command.add_option("--listen", serve.listen, "HOST:PORT to listen on")
      ->envname("LBMIRROR_LISTEN")
      ->capture_default_str();
  command.add_option("--webhook-path", serve.webhook_path, "path that receives webhooks")
      ->envname("LBMIRROR_WEBHOOK_PATH")
      ->capture_default_str();
  command
      .add_option("--webhook-secret", serve.webhook_secret,
                  "endpoint signing secret(s) whsec_..., space or comma separated "
                  "(prefer the environment variable)")
      ->envname("LIVEBLOCKS_WEBHOOK_SECRET");
  AddApiOptions(command, api);
  command
      .add_option("--timestamp-tolerance", serve.timestamp_tolerance_s,
                  "accepted clock difference of webhook timestamps, seconds")
      ->envname("LBMIRROR_TIMESTAMP_TOLERANCE")
      ->capture_default_str();
  command
      .add_option("--max-body-bytes", serve.max_body_bytes,
                  "largest webhook body accepted (larger: 413)")
      ->envname("LBMIRROR_MAX_BODY_BYTES")
      ->capture_default_str();
  command.add_option("--http-threads", serve.http_threads, "threads serving HTTP")
      ->envname("LBMIRROR_HTTP_THREADS")
      ->capture_default_str();
  command
      .add_option("--max-connections", serve.max_connections,
                  "open HTTP connections at most (past it the longest idle is closed);"
                  " lowered to fit the file descriptor limit")
      ->envname("LBMIRROR_MAX_CONNECTIONS")
      ->capture_default_str();
}

// serve: the workers, the schema, and what is mirrored how.
void AddServeWorkOptions(CLI::App& command, ServeOptions& serve) {
  command.add_option("--workers", serve.workers, "workers reading the REST API")
      ->envname("LBMIRROR_WORKERS")
      ->capture_default_str();
  command
      .add_option("--lease-ms", serve.lease_ms,
                  "how long a claimed target stays with a worker that stopped renewing it "
                  "(crashed) before another may take it")
      ->envname("LBMIRROR_LEASE_MS")
      ->capture_default_str();
  command
      .add_option("--coalesce-ms", serve.coalesce_ms,
                  "a target dirtied by a webhook is read once its webhooks pause this "
                  "long (at most 5 times this after the first), so that the webhooks "
                  "of a burst share one read")
      ->envname("LBMIRROR_COALESCE_MS")
      ->capture_default_str();
  command
      .add_option("--idle-timeout-ms", serve.idle_timeout_ms,
                  "how long a connection may wait for (the headers of) its next request")
      ->envname("LBMIRROR_IDLE_TIMEOUT_MS")
      ->capture_default_str();
  command
      .add_option("--body-timeout-ms", serve.body_timeout_ms,
                  "time to receive a request body and to send a response")
      ->envname("LBMIRROR_BODY_TIMEOUT_MS")
      ->capture_default_str();
  command
      .add_option("--ack-timeout", serve.ack_timeout,
                  "a webhook not stored by then is answered 503 with Retry-After (Liveblocks "
                  "delivers it again); also the bound of every other answer")
      ->envname("LBMIRROR_ACK_TIMEOUT")
      ->capture_default_str();
  command
      .add_flag("--hard-deletes", serve.hard_deletes,
                "delete the rows of deleted rooms, threads, comments and notifications "
                "(default: keep them with deleted_at set)")
      ->envname("LBMIRROR_HARD_DELETES");
  command
      .add_option("--flow-keys", serve.flow_keys,
                  "Storage root keys holding React Flow diagrams, comma-separated")
      ->envname("LBMIRROR_FLOW_KEYS")
      ->capture_default_str();
  command
      .add_flag("--no-migrate", serve.no_migrate,
                "do not apply the schema at start (check its version instead)")
      ->envname("LBMIRROR_NO_MIGRATE");
  command
      .add_option("--reconcile-interval", serve.reconcile_interval,
                  "compare the mirror with the REST API this often and repair what differs "
                  "(0 = never)")
      ->envname("LBMIRROR_RECONCILE_INTERVAL")
      ->capture_default_str();
  command
      .add_option("--poll", serve.poll,
                  "poll the REST API for changed rooms this often, for machines webhooks "
                  "cannot reach (default 5s when no webhook secret is set)")
      ->envname("LBMIRROR_POLL");
  command
      .add_option("--room-prefix", serve.room_prefix,
                  "reconciliation and polling look only at rooms whose id starts with this "
                  "(webhooks are mirrored for every room)")
      ->envname("LBMIRROR_ROOM_PREFIX");
}

// serve: reconciliation, polling, pruning and the admin listener.
void AddServeAdminOptions(CLI::App& command, ServeOptions& serve) {
  command
      .add_option("--admin-listen", serve.admin_listen,
                  "address of the admin listener (the operator's API, /metrics, /healthz, "
                  "/readyz); on only when an admin token is set. Do not expose it publicly")
      ->envname("LBMIRROR_ADMIN_LISTEN")
      ->capture_default_str();
  command
      .add_option("--admin-token", serve.admin_token,
                  "the bearer token the admin API requires (16 characters or more; prefer the "
                  "environment variable)")
      ->envname("LBMIRROR_ADMIN_TOKEN");
  command
      .add_option("--admin-sample-interval", serve.admin_sample_interval,
                  "how often the admin API's overview samples the counters and the queue "
                  "(it keeps an hour of samples)")
      ->envname("LBMIRROR_ADMIN_SAMPLE_INTERVAL")
      ->capture_default_str();
  command
      .add_option("--prune-events-older-than", serve.prune_events_older_than,
                  "delete stored webhooks older than this, checked hourly (e.g. 30d)")
      ->envname("LBMIRROR_PRUNE_EVENTS_OLDER_THAN");
}

// One subcommand: its CLI11 command (set up with its options) and what it runs once parsed.
// `early`: runs before logging and the database and HTTP libraries are set up.
struct Subcommand {
  CLI::App* command;
  std::function<int()> run;
  bool early = false;
};

// The options every subcommand shares.
struct Shared {
  CommonOptions common;
  ApiOptions api;
};

Subcommand AddServe(CLI::App& app, Shared& shared) {
  auto serve = std::make_shared<ServeOptions>();
  CLI::App* command = app.add_subcommand(
      "serve", "receive Liveblocks webhooks and keep the database equal to the REST API");
  AddCommonOptions(*command, shared.common);
  AddServeHttpOptions(*command, *serve, shared.api);
  AddServeWorkOptions(*command, *serve);
  AddServePassOptions(*command, *serve);
  AddServeAdminOptions(*command, *serve);
  return {command, [&shared, serve] { return RunServe(shared.common, shared.api, *serve); }};
}

Subcommand AddBackfill(CLI::App& app, Shared& shared) {
  auto backfill = std::make_shared<BackfillOptions>();
  CLI::App* command = app.add_subcommand(
      "backfill", "list every room through the REST API and mirror it all (resumable)");
  AddCommonOptions(*command, shared.common);
  AddApiOptions(*command, shared.api);
  command->add_option("--room-prefix", backfill->room_prefix,
                      "only rooms whose id starts with this");
  command
      ->add_option("--kinds", backfill->kinds,
                   "what to mirror, comma-separated: of each room (room, storage, ydoc, "
                   "presence, thread), then the passes: the inbox and settings of every user "
                   "then known (inbox, user_settings, room_settings), "
                   "the groups (groups), every room's versions (versions) and feeds (feeds), "
                   "every thread's subscriptions (thread_subs)")
      ->capture_default_str();
  command->add_flag("--restart", backfill->restart,
                    "start over instead of resuming an interrupted backfill");
  command
      ->add_flag("--change-feed", backfill->change_feed,
                 "record the changes it makes in the change feed, as serve --change-feed "
                 "does (their cause: backfill)")
      ->envname("LBMIRROR_CHANGE_FEED");
  command->add_option("--workers", backfill->workers, "workers reading the REST API")
      ->envname("LBMIRROR_WORKERS")
      ->capture_default_str();
  command
      ->add_option("--flow-keys", backfill->flow_keys,
                   "Storage root keys holding React Flow diagrams, comma-separated")
      ->envname("LBMIRROR_FLOW_KEYS")
      ->capture_default_str();
  return {command,
          [&shared, backfill] { return RunBackfill(shared.common, shared.api, *backfill); }};
}

Subcommand AddStatus(CLI::App& app, Shared& shared) {
  CLI::App* command = app.add_subcommand(
      "status", "pending and failed targets with their errors, lag, last webhook per type");
  AddCommonOptions(*command, shared.common);
  return {command, [&shared] { return RunStatus(shared.common); }};
}

Subcommand AddRetry(CLI::App& app, Shared& shared) {
  auto target = std::make_shared<std::string>();
  auto failed = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand(
      "retry",
      "make a target (kind:room[:id], as `status` lists it) or every failed target due now");
  AddCommonOptions(*command, shared.common);
  command->add_option("target", *target, "a target such as storage:my-room");
  command->add_flag("--failed", *failed, "every target whose last attempt failed");
  return {command, [&shared, target, failed] { return RunRetry(shared.common, *target, *failed); }};
}

Subcommand AddRoom(CLI::App& app, Shared& shared) {
  auto room_id = std::make_shared<std::string>();
  auto again = std::make_shared<bool>(false);
  CLI::App* command = app.add_subcommand(
      "room", "what the mirror holds of one room, or mark all of it to be read again");
  AddCommonOptions(*command, shared.common);
  command->add_option("room", *room_id, "room id")->required();
  command->add_flag("--mirror-again", *again,
                    "make the room, its Storage, Yjs document, active users and each live thread "
                    "due now");
  return {command, [&shared, room_id, again] { return RunRoom(shared.common, *room_id, *again); }};
}

Subcommand AddPrune(CLI::App& app, Shared& shared) {
  auto age = std::make_shared<std::string>();
  CLI::App* command = app.add_subcommand("prune", "delete old stored webhooks");
  AddCommonOptions(*command, shared.common);
  command->add_option("--events-older-than", *age, "a duration such as 30d or 12h")->required();
  return {command, [&shared, age] { return RunPrune(shared.common, *age); }};
}

Subcommand AddReplay(CLI::App& app, Shared& shared) {
  auto replay = std::make_shared<ReplayArgs>();
  CLI::App* command = app.add_subcommand(
      "replay",
      "mark again the targets of the stored webhooks received in a time range (they are read "
      "anew from the REST API; old payloads are never applied)");
  AddCommonOptions(*command, shared.common);
  command->add_option("--since", replay->since, "webhooks received since, e.g. 2h or 30m")
      ->required();
  command->add_option("--until", replay->until,
                      "and received before this long ago, e.g. 1h (default: now)");
  command->add_option("--type", replay->type, "only webhooks of this type, e.g. storageUpdated");
  command->add_option("--room", replay->room, "only webhooks of this room");
  return {command, [&shared, replay] { return RunReplay(shared.common, *replay); }};
}

Subcommand AddMigrate(CLI::App& app, Shared& shared) {
  auto print_only = std::make_shared<bool>(false);
  CLI::App* command =
      app.add_subcommand("migrate", "create or upgrade the tables, or print their SQL");
  AddCommonOptions(*command, shared.common);
  command->add_flag("--print", *print_only,
                    "print the SQL (for a PlanetScale deploy request) instead of running it");
  return {command, [&shared, print_only] { return RunMigrate(shared.common, *print_only); }};
}

Subcommand AddSearch(CLI::App& app, Shared& shared) {
  auto query = std::make_shared<std::string>();
  auto limit = std::make_shared<int>(20);
  CLI::App* command =
      app.add_subcommand("search", "full-text search over mirrored comments and Yjs document text");
  AddCommonOptions(*command, shared.common);
  command->add_option("query", *query, "words to find")->required();
  command->add_option("--limit", *limit, "most results to print")->capture_default_str();
  return {command, [&shared, query, limit] { return RunSearch(shared.common, *query, *limit); }};
}

Subcommand AddChanges(CLI::App& app, Shared& shared) {
  auto args = std::make_shared<ChangesArgs>();
  CLI::App* command = app.add_subcommand(
      "changes", "the change feed as JSON lines, in position order, from after a position");
  AddCommonOptions(*command, shared.common);
  command->add_option("--after", args->after, "the last position already read (0: from the start)")
      ->capture_default_str();
  command->add_flag("--follow", args->follow, "keep printing changes as they come, until stopped");
  command->add_option("--kind", args->kinds,
                      "only these kinds of change, comma-separated (room, document, ydoc, thread, "
                      "comment, reaction, notification, ...)");
  command->add_option("--room-prefix", args->room_prefix,
                      "only changes of rooms whose id starts with this");
  return {command, [&shared, args] { return RunChanges(shared.common, *args); }};
}

// `ydoc export` and `ydoc decode`.
std::vector<Subcommand> AddYdoc(CLI::App& app, Shared& shared) {
  CLI::App* ydoc = app.add_subcommand("ydoc", "Yjs documents in the mirror");
  ydoc->require_subcommand(1);
  auto room_id = std::make_shared<std::string>();
  CLI::App* export_cmd = ydoc->add_subcommand(
      "export", "write a room's binary Yjs state (one v1 update) to standard output");
  AddCommonOptions(*export_cmd, shared.common);
  export_cmd->add_option("room", *room_id, "room id")->required();
  auto files = std::make_shared<std::vector<std::string>>();
  CLI::App* decode_cmd = ydoc->add_subcommand(
      "decode", "decode binary Yjs updates and print their JSON view and text, one line each");
  decode_cmd->add_option("files", *files, "files holding one Yjs update (v1) each")->required();
  return {{export_cmd, [&shared, room_id] { return RunYdocExport(shared.common, *room_id); }},
          {decode_cmd, [files] { return RunYdocDecode(*files); }}};
}

Subcommand AddHealthcheck(CLI::App& app) {
  struct Check {
    std::string listen = ServeOptions{}.listen;
    std::string path = "/healthz";
    int timeout_ms = 3000;
  };
  auto check = std::make_shared<Check>();
  CLI::App* command = app.add_subcommand(
      "healthcheck", "exit 0 when the serve on this host answers 200 (a container's probe)");
  command->add_option("--listen", check->listen, "the HOST:PORT serve listens on")
      ->envname("LBMIRROR_LISTEN")
      ->capture_default_str();
  command->add_option("--path", check->path, "/healthz (alive) or /readyz (ready)")
      ->capture_default_str();
  command->add_option("--timeout-ms", check->timeout_ms, "how long to wait for the answer")
      ->capture_default_str();
  return {command,
          [check] { return RunHealthcheck(check->listen, check->path, check->timeout_ms); },
          /*early=*/true};
}
}  // namespace

int Main(int argc, char** argv) {
  if (std::string error = LoadSecretFiles(); !error.empty()) {
    std::cerr << "lbmirror: " << error << "\n";
    return 2;
  }
  CLI::App app{"lbmirror - mirror a Liveblocks project into MySQL/PlanetScale, Postgres or SQLite"};
  app.require_subcommand(1);
  app.set_version_flag("--version", Cat("lbmirror ", Version(), " (commit ", Commit(), ")"));
  Shared shared;
  std::vector<Subcommand> subcommands = {AddServe(app, shared),  AddBackfill(app, shared),
                                         AddStatus(app, shared), AddRoom(app, shared),
                                         AddRetry(app, shared),  AddPrune(app, shared),
                                         AddReplay(app, shared), AddMigrate(app, shared),
                                         AddSearch(app, shared), AddChanges(app, shared)};
  for (Subcommand& ydoc : AddYdoc(app, shared)) subcommands.push_back(std::move(ydoc));
  subcommands.push_back(AddHealthcheck(app));
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help, version or the parse error
    return code == 0 ? 0 : 2;
  }
  log::Level level;
  if (!log::ParseLevel(shared.common.log_level, &level)) {
    std::cerr << "--log-level must be debug, info, warn or error\n";
    return 2;
  }
  for (const Subcommand& subcommand : subcommands) {
    if (!subcommand.command->parsed()) continue;
    if (!subcommand.early) {
      log::Configure(level, shared.common.log_json);
      store::mysql::MysqlLibraryInit();
      liveblocks::curl::Client::GlobalInit();
    }
    return subcommand.run();
  }
  return 2;  // CLI11 requires one subcommand
}

}  // namespace lbmirror::cli
