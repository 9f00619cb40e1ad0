// The console's overview: every interval (10 s by default) a sample of what `serve` counts and
// of the work queue, kept for the last hour, and served as time series (rates per second
// between samples) by GET /api/overview on the admin listener. Thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "admin/metrics_page.h"
#include "core/periodic.h"

namespace lbmirror::admin {

class OverviewSampler {
 public:
  OverviewSampler(Sources sources, int64_t interval_ms, size_t keep);
  void Start() { periodic_.Start(); }
  void Stop() { periodic_.Stop(); }
  // Takes a sample now (also what the periodic task does).
  void Sample();
  // The series as JSON: {"interval_s", "points": [...], "reconcile": {...}}.
  std::string Json() const;

 private:
  static constexpr size_t kTypes = webhook::WebhookCounters::kTypes;
  struct Point {
    int64_t at_ms = 0;
    std::array<int64_t, kTypes> stored{};  // by type
    metrics::Histogram::Counts ack;
    std::optional<int64_t> pending, failed;  // nullopt: the database did not answer
    std::optional<double> lag_s;
    std::array<int64_t, 6> rest{};  // by outcome (RestCounters::kOutcomeLabels)
    int64_t mirrored = 0, failed_attempts = 0;
    int64_t repaired = 0;  // by reconciliation, since the start
  };

  Sources sources_;
  int64_t interval_ms_;
  size_t keep_;
  mutable std::mutex mutex_;
  std::deque<Point> points_;  // oldest first
  Periodic periodic_;         // last: it stops before the rest goes
};

}  // namespace lbmirror::admin
