#include "admin/overview.h"

#include <boost/json.hpp>

#include "core/text.h"

namespace lbmirror::admin {

namespace json = boost::json;

OverviewSampler::OverviewSampler(Sources sources, int64_t interval_ms, size_t keep)
    : sources_(sources),
      interval_ms_(interval_ms),
      keep_(keep),
      periodic_(interval_ms, [this] { Sample(); }) {}

void OverviewSampler::Sample() {
  Point point;
  point.at_ms = sources_.clock->NowMs();
  if (sources_.webhooks != nullptr) {
    for (int row = 0; row < static_cast<int>(kTypes); ++row) {
      point.stored[static_cast<size_t>(row)] =
          sources_.webhooks->Get(row, webhook::WebhookCounters::kStored);
    }
  }
  point.ack = sources_.serve->ack_seconds.Read();
  if (auto queue = sources_.store->Queue(0)) {
    point.pending = queue->pending;
    point.failed = queue->failed;
    if (queue->oldest_pending_ms) point.lag_s = (point.at_ms - *queue->oldest_pending_ms) / 1000.0;
  }
  for (size_t i = 0; i < point.rest.size(); ++i) {
    point.rest[i] = sources_.rest->by_outcome[i].load(std::memory_order_relaxed);
  }
  point.mirrored = sources_.engine->completed.load(std::memory_order_relaxed);
  point.failed_attempts = sources_.engine->failed.load(std::memory_order_relaxed);
  if (sources_.reconcile != nullptr) point.repaired = sources_.reconcile->repaired.load();
  std::lock_guard lock(mutex_);
  points_.push_back(std::move(point));
  while (points_.size() > keep_ + 1) points_.pop_front();  // one more: rates need a start
}

std::string OverviewSampler::Json() const {
  std::lock_guard lock(mutex_);
  json::array points;
  for (size_t i = 1; i < points_.size(); ++i) {
    const Point& before = points_[i - 1];
    const Point& now = points_[i];
    const double seconds = std::max<int64_t>(1, now.at_ms - before.at_ms) / 1000.0;
    auto rate = [seconds](int64_t a, int64_t b) { return static_cast<double>(b - a) / seconds; };
    json::object by_type;
    int64_t stored = 0;
    for (size_t row = 0; row < kTypes; ++row) {
      int64_t delta = now.stored[row] - before.stored[row];
      stored += delta;
      if (delta > 0) {
        by_type[webhook::WebhookCounters::TypeLabel(static_cast<int>(row))] = delta / seconds;
      }
    }
    json::object rest;
    for (size_t o = 0; o < now.rest.size(); ++o) {
      rest[liveblocks::RestCounters::kOutcomeLabels[o]] = rate(before.rest[o], now.rest[o]);
    }
    json::object point{{"at", FormatIsoTimestamp(now.at_ms)},
                       {"webhooks_per_s", stored / seconds},
                       {"webhooks_by_type_per_s", std::move(by_type)},
                       {"rest_reads_per_s", std::move(rest)},
                       {"mirrored_per_s", rate(before.mirrored, now.mirrored)},
                       {"failed_attempts_per_s", rate(before.failed_attempts, now.failed_attempts)},
                       {"repaired", now.repaired - before.repaired}};
    const int64_t acks = now.ack.count - before.ack.count;
    auto p99 = sources_.serve->ack_seconds.QuantileBetween(before.ack, now.ack, 0.99);
    point["ack_mean_ms"] =
        acks > 0 ? json::value((now.ack.sum_seconds - before.ack.sum_seconds) / acks * 1000)
                 : json::value(nullptr);
    point["ack_p99_ms"] = p99 ? json::value(*p99 * 1000) : json::value(nullptr);
    point["pending"] = now.pending ? json::value(*now.pending) : json::value(nullptr);
    point["failed"] = now.failed ? json::value(*now.failed) : json::value(nullptr);
    point["lag_s"] = now.lag_s ? json::value(*now.lag_s) : json::value(nullptr);
    points.push_back(std::move(point));
  }
  json::object out{{"interval_s", interval_ms_ / 1000.0}, {"points", std::move(points)}};
  if (sources_.reconcile != nullptr) {
    const sync::ReconcileLoopCounters& r = *sources_.reconcile;
    const int64_t last = r.last_pass_end_ms.load();
    out["reconcile"] = json::object{
        {"passes", r.passes.load()},
        {"failed_passes", r.failed_passes.load()},
        {"repaired", r.repaired.load()},
        {"rooms_refreshed", r.rooms_refreshed.load()},
        {"last_pass_end", last > 0 ? json::value(FormatIsoTimestamp(last)) : json::value(nullptr)}};
  } else {
    out["reconcile"] = nullptr;
  }
  return json::serialize(out);
}

}  // namespace lbmirror::admin
