// Command-line and environment configuration for every subcommand. Environment first, with
// the names the Liveblocks guides use; every setting also has a flag. Secrets are held here
// and never printed.
#pragma once

#include <cstdint>
#include <string>

namespace lbmirror::cli {

struct CommonOptions {
  std::string database_url;  // DATABASE_URL; empty = sqlite:lbmirror.db
  std::string table_prefix = "liveblocks_";
  std::string log_level = "info";
  bool log_json = false;
};

// The Liveblocks REST API: serve and backfill read it.
struct ApiOptions {
  std::string secret_key;  // LIVEBLOCKS_SECRET_KEY
  std::string base_url = "https://api.liveblocks.io";
  int64_t rest_timeout_ms = 30'000;
  std::string rest_budget = "100/s";  // liveblocks::ParseRestBudget
};

struct ServeOptions {
  std::string listen = "0.0.0.0:8080";
  std::string webhook_path = "/api/liveblocks-webhook";
  std::string webhook_secret;  // LIVEBLOCKS_WEBHOOK_SECRET, one or more whsec_ secrets
  int64_t timestamp_tolerance_s = 300;
  int64_t max_body_bytes = 1 << 20;
  int http_threads = 2;
  int max_connections = 512;  // open HTTP connections at most
  int workers = 4;
  int64_t lease_ms = 30'000;
  int64_t coalesce_ms = 200;
  int64_t idle_timeout_ms = 60'000;  // keep-alive wait for the next request and its headers
  int64_t body_timeout_ms = 30'000;  // receiving a request body, sending a response
  std::string ack_timeout = "5s";    // a webhook not stored by then is answered 503
  bool no_migrate = false;
  bool hard_deletes = false;
  std::string flow_keys = "flow";             // comma-separated Storage root keys holding diagrams
  std::string reconcile_interval = "5m";      // compare with the API this often ("0": never)
  std::string inbox_interval = "24h";         // re-read every known user's inbox ("0": never)
  std::string groups_interval = "10m";        // re-read the project's groups ("0": never)
  std::string versions_interval = "24h";      // re-read every room's version history ("0": never)
  std::string settings_interval = "24h";      // re-read every known user's settings ("0": never)
  std::string subscriptions_interval = "7d";  // re-read every thread's subscriptions ("0": never)
  std::string feeds_interval = "24h";         // re-read every room's feeds ("0": never)
  bool change_feed = false;                   // record every change the mirror makes
  std::string changes_retention = "7d";       // with the feed: changes older than this are pruned
  std::string forward_config;                 // a JSON file of endpoints to forward changes to
  std::string after_edit_delay = "15m";  // a room edited: its versions and feeds read after this
  std::string poll;                      // poll mode interval; the default when no webhook secret
  std::string room_prefix;               // reconciliation and polling look at these rooms only
  std::string prune_events_older_than;   // delete stored webhooks older than this (hourly)
  std::string admin_listen = "127.0.0.1:9090";  // the admin listener's address
  std::string admin_token;                      // LBMIRROR_ADMIN_TOKEN; none: no admin listener
  std::string admin_sample_interval = "10s";    // the overview's sampling interval
};

struct BackfillOptions {
  std::string room_prefix;
  std::string kinds =
      "room,storage,ydoc,presence,thread,inbox,groups,versions,user_settings,room_settings,"
      "thread_subs,feeds";
  bool restart = false;
  int workers = 4;
  std::string flow_keys = "flow";
  bool change_feed = false;  // record its changes in the change feed (cause "backfill")
};

// lbmirror changes.
struct ChangesArgs {
  int64_t after = 0;        // the last position already read
  bool follow = false;      // keep printing changes as they come
  std::string kinds;        // comma-separated kinds (empty: all)
  std::string room_prefix;  // rooms whose id starts with this (empty: all)
};

// `lbmirror replay`: which stored webhooks to replay.
struct ReplayArgs {
  std::string since;  // a duration: webhooks received since that long ago
  std::string until;  // a duration: ... and received before that long ago (empty: now)
  std::string type;
  std::string room;
};

}  // namespace lbmirror::cli
