#include "core/metrics.h"

#include <cstdio>

#include "core/text.h"

namespace lbmirror {
inline namespace core {
namespace metrics {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), buckets_(bounds_.size() + 1) {}

void Histogram::Observe(double seconds) {
  size_t i = 0;
  while (i < bounds_.size() && seconds > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<int64_t>(seconds * 1e6), std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::Render(std::string& out, std::string_view name) const {
  int64_t cumulative = 0;
  char bound[32];
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    if (i < bounds_.size()) std::snprintf(bound, sizeof bound, "%g", bounds_[i]);
    out +=
        Cat(name, "_bucket{le=\"", i < bounds_.size() ? bound : "+Inf", "\"} ", cumulative, "\n");
  }
  std::snprintf(bound, sizeof bound, "%.6f", sum_micros_.load(std::memory_order_relaxed) / 1e6);
  out += Cat(name, "_sum ", bound, "\n");
  out += Cat(name, "_count ", count_.load(std::memory_order_relaxed), "\n");
}

Histogram::Counts Histogram::Read() const {
  Counts counts;
  counts.buckets.reserve(buckets_.size());
  for (const auto& bucket : buckets_)
    counts.buckets.push_back(bucket.load(std::memory_order_relaxed));
  counts.count = count_.load(std::memory_order_relaxed);
  counts.sum_seconds = sum_micros_.load(std::memory_order_relaxed) / 1e6;
  return counts;
}

std::optional<double> Histogram::QuantileBetween(const Counts& before, const Counts& after,
                                                 double q) const {
  if (before.buckets.size() != after.buckets.size()) return std::nullopt;
  int64_t total = 0;
  for (size_t i = 0; i < after.buckets.size(); ++i) total += after.buckets[i] - before.buckets[i];
  if (total <= 0) return std::nullopt;
  const double wanted = q * static_cast<double>(total);
  int64_t cumulative = 0;
  for (size_t i = 0; i < after.buckets.size(); ++i) {
    cumulative += after.buckets[i] - before.buckets[i];
    if (static_cast<double>(cumulative) >= wanted) {
      return i < bounds_.size() ? bounds_[i] : bounds_.back();
    }
  }
  return bounds_.empty() ? std::nullopt : std::optional<double>(bounds_.back());
}

void Describe(std::string& out, std::string_view name, std::string_view type,
              std::string_view help) {
  out += Cat("# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace metrics
}  // namespace core
}  // namespace lbmirror
