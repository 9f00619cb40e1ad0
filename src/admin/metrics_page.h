// The /metrics page of `lbmirror serve`: the Prometheus text exposition of what the webhook
// handler, the REST client, the workers, reconciliation and retention count, and of the work
// queue read from the database at each scrape.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "core/clock.h"
#include "core/metrics.h"
#include "liveblocks/client.h"
#include "store/store.h"
#include "sync/engine.h"
#include "sync/reconciler.h"
#include "webhook/webhook_handler.h"

namespace lbmirror::admin {

// What `serve` itself counts.
struct ServeMetrics {
  int64_t started_ms = 0;  // when serve started (ms since the epoch)
  metrics::Histogram ack_seconds;
  std::atomic<int64_t> events_pruned{0};
};

// The whole page; `webhooks` is null without a webhook endpoint (poll mode), `reconcile`
// without reconciliation. Reads the queue through `store` (one query). Thread-safe.
std::string RenderMetrics(store::OperatorViews& store, const Clock& clock,
                          const ServeMetrics& serve, const webhook::WebhookCounters* webhooks,
                          const liveblocks::RestCounters& rest, const sync::EngineCounters& engine,
                          const sync::ReconcileLoopCounters* reconcile);

}  // namespace lbmirror::admin
