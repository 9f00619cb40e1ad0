// Metric primitives for the Prometheus text format (version 0.0.4): histograms with fixed
// buckets and the HELP/TYPE lines. Thread-safe and lock-free to update.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lbmirror {
inline namespace core {
namespace metrics {

// Bucket bounds for latencies of a millisecond to seconds (acknowledgements, transactions).
inline const std::vector<double> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                    0.1,   0.25,   0.5,   1,    2.5};

class Histogram {
 public:
  // Upper bounds in seconds, ascending; +Inf is implied.
  explicit Histogram(std::vector<double> bounds = kLatencyBuckets);
  void Observe(double seconds);
  // Appends NAME_bucket{le=…}, NAME_sum and NAME_count lines.
  void Render(std::string& out, std::string_view name) const;

  // The counts so far: per bucket (not cumulative; the last one is +Inf), their total, the sum.
  struct Counts {
    std::vector<int64_t> buckets;
    int64_t count = 0;
    double sum_seconds = 0;
  };
  Counts Read() const;
  const std::vector<double>& bounds() const { return bounds_; }
  // The upper bound of the bucket holding the q-quantile (0 < q <= 1) of what was observed
  // between `before` and `after`; nullopt when nothing was, +Inf's as the last bound.
  std::optional<double> QuantileBetween(const Counts& before, const Counts& after, double q) const;

 private:
  std::vector<double> bounds_;
  std::vector<std::atomic<int64_t>> buckets_;  // one per bound, then +Inf
  std::atomic<int64_t> sum_micros_{0};
  std::atomic<int64_t> count_{0};
};

// Appends "# HELP" and "# TYPE" lines.
void Describe(std::string& out, std::string_view name, std::string_view type,
              std::string_view help);

}  // namespace metrics
}  // namespace core
}  // namespace lbmirror
