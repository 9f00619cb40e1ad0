// The operator's API, served by `lbmirror serve` on its admin listener (--admin-listen) when an
// admin token is set (LBMIRROR_ADMIN_TOKEN). Every /api/ request must carry the token as
// "Authorization: Bearer TOKEN" (a header, never a cookie: another site cannot make a browser
// send it); without it the answer is 401 and nothing else. JSON in and out; no secret of the
// process ever appears in it. /healthz, /readyz and /metrics are mirrored there without the
// token, for probes and scrapers.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "admin/change_poller.h"
#include "admin/overview.h"
#include "admin/probes.h"
#include "core/clock.h"
#include "http/server.h"
#include "store/store.h"

namespace lbmirror::admin {

struct AdminContext {
  store::Store* store = nullptr;
  const Clock* clock = nullptr;
  std::string token;
  int64_t answer_timeout_ms = 5'000;      // a request not answered by then gets 503
  std::function<void()> notify_workers;   // targets were made due
  Probes probes;                          // the main listener's, mirrored (probes.h)
  std::function<std::string()> overview;  // OverviewSampler::Json
  std::vector<sync::PassSpec> passes;     // the reconciliation passes serve runs
  ChangePoller* changes = nullptr;        // the change feed's long poll (null: feed off)
};

// The admin listener's routes. The context must outlive the router.
http::Router AdminRoutes(const AdminContext& context);

// The admin listener: its own HTTP server on one thread, from Start() until destroyed.
class AdminListener {
 public:
  // Listens on `address` ("host:port") and serves the admin routes. Errors: a bad address, an
  // address in use.
  static Result<std::unique_ptr<AdminListener>> Start(const std::string& address,
                                                      AdminContext context);
  ~AdminListener();
  AdminListener(const AdminListener&) = delete;
  AdminListener& operator=(const AdminListener&) = delete;

  uint16_t port() const { return server_->port(); }

 private:
  explicit AdminListener(AdminContext context) : context_(std::move(context)) {}

  AdminContext context_;  // before the server, whose routes refer to it
  std::unique_ptr<http::HttpServer> server_;
  std::thread thread_;
};

// The admin listener and the overview's sampler it serves, running while they live.
struct RunningAdmin {
  std::unique_ptr<ChangePoller> changes;  // with the change feed
  std::unique_ptr<OverviewSampler> sampler;
  std::unique_ptr<AdminListener> listener;  // destroyed first: nothing reads the sampler then
  // Answers the long polls (so the listener stops at once), stops the listener, then the
  // sampler it reads.
  void Stop();
};

struct AdminSettings {
  std::string listen;          // "host:port"
  std::string token;           // the bearer token /api/ requires
  int64_t sample_ms = 10'000;  // the overview's sampling interval (an hour of samples is kept)
  int64_t answer_timeout_ms = 5'000;
  bool change_feed = false;  // serve the change feed's long poll (GET /api/changes)
};

// Starts the overview's sampler and the admin listener over `sources` (which must outlive
// them). Errors: as AdminListener::Start.
Result<RunningAdmin> StartAdmin(const AdminSettings& settings, const Sources& sources,
                                std::function<void()> notify_workers, Probes probes);

}  // namespace lbmirror::admin
