// A settable clock for tests. Thread-safe.
#pragma once

#include <atomic>

#include "core/clock.h"

namespace lbmirror {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms = 1'767'225'600'000) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(); }
  void Set(int64_t now_ms) { now_ms_ = now_ms; }
  void Advance(int64_t ms) { now_ms_ += ms; }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace lbmirror
