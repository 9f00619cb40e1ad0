// RestBudget: the one budget of REST requests the whole process shares (`--rest-budget`), a
// token bucket of `per_second` requests with bursts up to `burst`. Every request sent to
// Liveblocks, retries included, takes a token. Reads for webhooks and operators (foreground)
// take any token; reads of reconciliation passes (background) leave a reserve for them, so
// webhook-driven reads keep priority when both wait. A 429 holds the background back for its
// Retry-After. Thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace lbmirror::liveblocks {

enum class Priority { kForeground = 0, kBackground = 1 };

// "10/s", "600/m", "0" (no limit): requests per second; kInvalidArgument otherwise.
Result<double> ParseRestBudget(std::string_view text);

class RestBudget {
 public:
  // Waits `duration`, or returns false when interrupted (shutdown).
  using Sleep = std::function<bool(std::chrono::milliseconds)>;

  // per_second 0: no limit (every Acquire returns at once). `burst` defaults to one second's
  // worth (at least 1).
  RestBudget(const Clock& clock, double per_second, std::optional<double> burst = std::nullopt);

  // Takes a token for one request, waiting with `sleep` while there is none (for background
  // requests: none beyond the reserve, or while held back after a 429). False when a wait
  // was interrupted; the request must not be sent then.
  bool Acquire(Priority priority, const Sleep& sleep);
  // A 429 answered with `retry_after_ms` (or without: one second): background requests wait
  // until then.
  void HoldBackground(int64_t retry_after_ms);

  double per_second() const { return per_second_; }
  // Requests granted and milliseconds waited, per priority (for /metrics and the console).
  int64_t granted(Priority p) const { return granted_[static_cast<int>(p)].load(); }
  int64_t waited_ms(Priority p) const { return waited_ms_[static_cast<int>(p)].load(); }

 private:
  // With the lock held: refills, and takes a token if `priority` may; otherwise returns how
  // long to wait before looking again.
  std::optional<int64_t> TryTake(Priority priority);

  const Clock& clock_;
  const double per_second_;
  const double burst_;
  const double reserve_;  // tokens background requests leave for foreground ones
  std::mutex mutex_;
  double tokens_;
  int64_t refilled_at_ms_;
  int64_t background_held_until_ms_ = 0;
  std::array<std::atomic<int64_t>, 2> granted_{};
  std::array<std::atomic<int64_t>, 2> waited_ms_{};
};

}  // namespace lbmirror::liveblocks
