// Metric primitives for the Prometheus text format (version 0.0.4): histograms with fixed
// buckets and the HELP/TYPE lines. Thread-safe and lock-free to update.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace lbmirror::metrics {

class Histogram {
 public:
  // Upper bounds in seconds, ascending; +Inf is implied.
  explicit Histogram(std::vector<double> bounds);
  void Observe(double seconds);
  // Appends NAME_bucket{le=…}, NAME_sum and NAME_count lines.
  void Render(std::string& out, std::string_view name) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<int64_t>> buckets_;  // one per bound, then +Inf
  std::atomic<int64_t> sum_micros_{0};
  std::atomic<int64_t> count_{0};
};

// Appends "# HELP" and "# TYPE" lines.
void Describe(std::string& out, std::string_view name, std::string_view type,
              std::string_view help);

}  // namespace lbmirror::metrics
