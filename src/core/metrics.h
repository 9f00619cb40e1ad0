// Metric primitives for the Prometheus text format (version 0.0.4): counters split by a set of
// labels, and histograms with fixed buckets. Thread-safe; reading takes a snapshot.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace lbmirror::metrics {

// A label value escaped for the text format (backslash, double quote, newline).
std::string EscapeLabel(std::string_view value);

// Counters keyed by rendered labels, e.g. `type="storageUpdated",outcome="stored"`.
class LabeledCounter {
 public:
  void Add(const std::string& labels, int64_t n = 1);
  std::map<std::string, int64_t> Snapshot() const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int64_t> values_;
};

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
void Describe(std::string& out, std::string_view name, std::string_view type, std::string_view help);

}  // namespace lbmirror::metrics
