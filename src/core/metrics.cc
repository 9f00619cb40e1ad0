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

void Describe(std::string& out, std::string_view name, std::string_view type,
              std::string_view help) {
  out += Cat("# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace metrics
}  // namespace core
}  // namespace lbmirror
