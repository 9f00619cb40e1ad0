// The probes both listeners serve, the main one and the admin listener, without a token:
// GET /healthz (the process is up: 200), /readyz (the database answers and its schema is the
// version this build needs; 503 with the reason otherwise, also when the database has not
// answered within 2 s) and /metrics (Prometheus text). /readyz and /metrics ask the database:
// they run on the router's blocking threads, never the server's.
#pragma once

#include <functional>
#include <string>

#include "http/server.h"
#include "store/store.h"

namespace lbmirror::admin {

struct Probes {
  store::SchemaAdmin* schema = nullptr;       // must outlive the router
  int schema_version = 0;                     // the version this build needs
  std::function<std::string()> metrics_page;  // RenderMetrics, bound
};

// Adds GET /healthz, /readyz and /metrics to `router`.
void AddProbes(http::Router& router, Probes probes);

// The answer of GET /readyz.
http::Response Readiness(store::SchemaAdmin& schema, int schema_version);

}  // namespace lbmirror::admin
