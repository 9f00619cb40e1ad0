// What the admin pages read of a running `serve`: the counters of each part, and the store.
// The pointers must outlive whatever reads them. `webhooks` is null in poll mode, `reconcile`
// without reconciliation, `budget` without a REST budget, `passes` without passes.
#pragma once

#include <atomic>
#include <cstdint>

#include "core/clock.h"
#include "core/metrics.h"
#include "liveblocks/client.h"
#include "liveblocks/rest_budget.h"
#include "store/store.h"
#include "sync/engine.h"
#include "sync/passes.h"
#include "sync/reconciler.h"
#include "webhook/webhook_handler.h"

namespace lbmirror::admin {

// What `serve` itself counts.
struct ServeMetrics {
  int64_t started_ms = 0;  // when serve started (ms since the epoch)
  metrics::Histogram ack_seconds;
  std::atomic<int64_t> events_pruned{0};
};

struct Sources {
  store::Store* store = nullptr;
  const Clock* clock = nullptr;
  const ServeMetrics* serve = nullptr;
  const webhook::WebhookCounters* webhooks = nullptr;
  const liveblocks::RestCounters* rest = nullptr;
  const liveblocks::RestBudget* budget = nullptr;
  const sync::EngineCounters* engine = nullptr;
  const sync::ReconcileLoopCounters* reconcile = nullptr;
  const sync::Passes* passes = nullptr;
};

}  // namespace lbmirror::admin
