// Clock: the source of "now" for everything that compares times (signature windows,
// leases, backoff). SystemClock is thread-safe; tests use a fake.
#pragma once

#include <cstdint>

namespace lbmirror {
inline namespace core {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch (UTC).
  virtual int64_t NowMs() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;
  static const SystemClock& Instance();
};

}  // namespace core
}  // namespace lbmirror
