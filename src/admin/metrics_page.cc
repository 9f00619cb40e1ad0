#include "admin/metrics_page.h"

#include <algorithm>
#include <functional>

#include "core/text.h"
#include "core/version.h"

namespace lbmirror::admin {

namespace {
void Counter(std::string& out, std::string_view name, std::string_view help, int64_t value) {
  metrics::Describe(out, name, "counter", help);
  out += Cat(name, " ", value, "\n");
}

template <typename Value>
void Gauge(std::string& out, std::string_view name, std::string_view help, Value value) {
  metrics::Describe(out, name, "gauge", help);
  out += Cat(name, " ", value, "\n");
}

// What runs: the build and when it started.
void RenderProcess(std::string& out, const ServeMetrics& serve) {
  metrics::Describe(out, "lbmirror_build_info", "gauge",
                    "Always 1; the labels name the version and the commit of this build.");
  out += Cat("lbmirror_build_info{version=\"", Version(), "\",commit=\"", Commit(), "\"} 1\n");
  Gauge(out, "process_start_time_seconds", "Start time of the process since the Unix epoch.",
        serve.started_ms / 1000);
}

// Webhooks by type and outcome, and the acknowledgement latency.
void RenderWebhooks(std::string& out, const webhook::WebhookCounters* webhooks,
                    const ServeMetrics& serve) {
  const metrics::Histogram& ack_seconds = serve.ack_seconds;
  metrics::Describe(
      out, "lbmirror_webhooks_total", "counter",
      "Webhook requests by event type and outcome (stored, duplicate, rejected, unavailable).");
  if (webhooks != nullptr) {
    using Counters = webhook::WebhookCounters;
    for (int row = 0; row < Counters::kTypes; ++row) {
      for (int o = 0; o < Counters::kOutcomes; ++o) {
        auto outcome = static_cast<Counters::Outcome>(o);
        if (int64_t value = webhooks->Get(row, outcome); value > 0) {
          out += Cat("lbmirror_webhooks_total{type=\"", Counters::TypeLabel(row), "\",outcome=\"",
                     Counters::OutcomeLabel(outcome), "\"} ", value, "\n");
        }
      }
    }
    int64_t last_ms = webhooks->LastStoredMs();
    Gauge(out, "lbmirror_webhook_last_stored_timestamp_seconds",
          "When the last new webhook was stored, since the Unix epoch (the process's start "
          "while none has been).",
          (last_ms > 0 ? last_ms : serve.started_ms) / 1000);
  }
  metrics::Describe(out, "lbmirror_webhook_ack_seconds", "histogram",
                    "Time from a webhook request to its answer.");
  ack_seconds.Render(out, "lbmirror_webhook_ack_seconds");
}

// The reconciliation passes, as this process last saw them, with their kinds' targets.
void RenderPasses(std::string& out, const sync::Passes& passes, const store::QueueStatus& queue) {
  const std::vector<sync::PassProgress> progress = passes.Progress();
  struct Series {
    const char* name;
    const char* type;
    const char* help;
    std::function<double(size_t)> value;
  };
  auto seconds = [](const std::optional<int64_t>& ms) { return ms ? *ms / 1000.0 : 0.0; };
  auto counts = [&](size_t i) {
    auto found = queue.by_kind.find(std::string(store::TargetKindName(passes.specs()[i].kind)));
    return found == queue.by_kind.end() ? store::QueueStatus::Counts{} : found->second;
  };
  const Series series[] = {
      {"lbmirror_pass_last_start_timestamp_seconds", "gauge",
       "When the latest pass started (0: never).",
       [&](size_t i) { return seconds(progress[i].started_ms); }},
      {"lbmirror_pass_last_finish_timestamp_seconds", "gauge",
       "When the latest pass had marked every target (0: not yet).",
       [&](size_t i) { return seconds(progress[i].finished_ms); }},
      {"lbmirror_pass_targets_marked", "gauge", "Targets the latest pass marked.",
       [&](size_t i) { return static_cast<double>(progress[i].marked); }},
      {"lbmirror_pass_targets_pending", "gauge", "The pass's targets waiting to be read.",
       [&](size_t i) { return static_cast<double>(counts(i).pending); }},
      {"lbmirror_pass_targets_failed", "gauge", "The pass's targets whose last read failed.",
       [&](size_t i) { return static_cast<double>(counts(i).failed); }},
      {"lbmirror_pass_unsupported", "gauge",
       "1 when Liveblocks answers 501 to the pass's reads (the server does not offer them).",
       [&](size_t i) { return progress[i].unsupported ? 1.0 : 0.0; }},
  };
  for (const Series& s : series) {
    metrics::Describe(out, s.name, s.type, s.help);
    for (size_t i = 0; i < progress.size(); ++i) {
      out += Cat(s.name, "{pass=\"", progress[i].name, "\"} ", s.value(i), "\n");
    }
  }
}

// The work queue as the database holds it now, and the passes' part of it.
void RenderQueue(std::string& out, store::OperatorViews& store, const Clock& clock,
                 const sync::Passes* passes) {
  auto gauge = [&](std::string_view name, std::string_view help, auto value) {
    Gauge(out, name, help, value);
  };
  auto queue = store.Queue(0);
  gauge("lbmirror_database_up", "1 when the database answered this scrape.", queue ? 1 : 0);
  if (queue) {
    gauge("lbmirror_targets_pending", "Targets waiting to be read from the REST API.",
          queue->pending);
    gauge("lbmirror_targets_failed", "Pending targets whose last attempt failed.", queue->failed);
    double age = queue->oldest_pending_ms
                     ? std::max<int64_t>(0, clock.NowMs() - *queue->oldest_pending_ms) / 1000.0
                     : 0.0;
    gauge("lbmirror_oldest_pending_target_age_seconds",
          "How long the longest-waiting target has been dirty (0 when none is).", age);
    if (passes != nullptr) RenderPasses(out, *passes, *queue);
  }
}

// Forwarding's endpoints, as their cursors in the database say (shared by the replicas).
void RenderForwarding(std::string& out, store::ChangeFeed& feed, const Clock& clock) {
  auto status = feed.Forwarding();
  if (!status || status->cursors.empty()) return;
  struct Series {
    const char* name;
    const char* type;
    const char* help;
    std::function<double(const store::CursorState&)> value;
  };
  const Series series[] = {
      {"lbmirror_forward_position", "gauge", "The last position the endpoint has passed.",
       [](const store::CursorState& c) { return static_cast<double>(c.position); }},
      {"lbmirror_forward_lag", "gauge",
       "Changes given a position that the endpoint has not passed yet.",
       [&](const store::CursorState& c) {
         return static_cast<double>(std::max<int64_t>(0, status->head - c.position));
       }},
      {"lbmirror_forward_delivered_total", "counter", "Changes delivered to the endpoint.",
       [](const store::CursorState& c) { return static_cast<double>(c.delivered); }},
      {"lbmirror_forward_failures", "gauge", "Failed rounds in a row (0: delivering).",
       [](const store::CursorState& c) { return static_cast<double>(c.failures); }},
      {"lbmirror_forward_next_attempt_seconds", "gauge",
       "Seconds until a failing endpoint's next attempt (0: due).",
       [&](const store::CursorState& c) {
         return std::max<int64_t>(0, c.next_attempt_at_ms - clock.NowMs()) / 1000.0;
       }},
  };
  for (const Series& s : series) {
    metrics::Describe(out, s.name, s.type, s.help);
    for (const store::CursorState& c : status->cursors) {
      out += Cat(s.name, "{endpoint=\"", c.endpoint, "\"} ", s.value(c), "\n");
    }
  }
}
void RenderBudget(std::string& out, const liveblocks::RestBudget& budget) {
  using liveblocks::Priority;
  metrics::Describe(out, "lbmirror_rest_budget_per_second", "gauge",
                    "The REST budget (--rest-budget), requests per second; 0 for no limit.");
  out += Cat("lbmirror_rest_budget_per_second ", budget.per_second(), "\n");
  metrics::Describe(out, "lbmirror_rest_budget_granted_total", "counter",
                    "REST requests the budget let through, by priority (foreground: webhooks and "
                    "operators; background: reconciliation passes).");
  metrics::Describe(out, "lbmirror_rest_budget_wait_seconds_total", "counter",
                    "Time REST requests waited for the budget, by priority.");
  for (Priority priority : {Priority::kForeground, Priority::kBackground}) {
    const char* label = priority == Priority::kForeground ? "foreground" : "background";
    out += Cat("lbmirror_rest_budget_granted_total{priority=\"", label, "\"} ",
               budget.granted(priority), "\n");
    out += Cat("lbmirror_rest_budget_wait_seconds_total{priority=\"", label, "\"} ",
               static_cast<double>(budget.waited_ms(priority)) / 1000.0, "\n");
  }
}

}  // namespace

std::string RenderMetrics(const Sources& sources) {
  const ServeMetrics& serve = *sources.serve;
  const liveblocks::RestCounters& rest = *sources.rest;
  const sync::EngineCounters& engine = *sources.engine;
  const sync::ReconcileLoopCounters* reconcile = sources.reconcile;
  std::string out;
  auto counter = [&](std::string_view name, std::string_view help, int64_t value) {
    Counter(out, name, help, value);
  };
  RenderProcess(out, serve);
  RenderWebhooks(out, sources.webhooks, serve);
  RenderQueue(out, *sources.store, *sources.clock, sources.passes);
  RenderForwarding(out, *sources.store, *sources.clock);
  metrics::Describe(out, "lbmirror_rest_reads_total", "counter",
                    "REST reads by final outcome (after the client's retries).");
  for (size_t i = 0; i < rest.by_outcome.size(); ++i) {
    if (int64_t value = rest.by_outcome[i].load(); value > 0) {
      out += Cat("lbmirror_rest_reads_total{outcome=\"",
                 liveblocks::RestCounters::kOutcomeLabels[i], "\"} ", value, "\n");
    }
  }
  counter("lbmirror_rest_requests_total", "HTTP requests sent to the REST API, retries included.",
          rest.requests.load());
  if (const liveblocks::RestBudget* budget = sources.budget) {
    RenderBudget(out, *budget);
  }
  counter("lbmirror_targets_mirrored_total", "Targets read and written.", engine.completed.load());
  counter("lbmirror_target_failures_total", "Failed attempts to mirror a target.",
          engine.failed.load());
  counter("lbmirror_targets_fenced_out_total",
          "Results discarded because the claim was taken over (a lease that ran out, or the "
          "room's deletion).",
          engine.fenced_out.load());
  metrics::Describe(out, "lbmirror_db_write_seconds", "histogram",
                    "Time of the transaction writing a target's rows.");
  engine.write_seconds.Render(out, "lbmirror_db_write_seconds");
  if (reconcile != nullptr) {
    counter("lbmirror_reconcile_passes_total", "Completed reconciliation passes.",
            reconcile->passes.load());
    counter("lbmirror_reconcile_failed_passes_total", "Reconciliation passes that failed.",
            reconcile->failed_passes.load());
    counter("lbmirror_reconcile_repaired_total",
            "Rows that differed from the REST API with no read pending (a webhook was lost or "
            "not sent yet).",
            reconcile->repaired.load());
    counter("lbmirror_reconcile_rooms_refreshed_total",
            "Room rows whose metadata, accesses or last connection changed (no event exists).",
            reconcile->rooms_refreshed.load());
    counter("lbmirror_reconcile_rooms_gone_total", "Mirrored rooms the API no longer lists.",
            reconcile->rooms_gone.load());
  }
  counter("lbmirror_events_pruned_total", "Stored webhooks deleted by retention.",
          serve.events_pruned.load());
  return out;
}

}  // namespace lbmirror::admin
