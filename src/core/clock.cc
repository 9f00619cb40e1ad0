#include "core/clock.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "core/result.h"

namespace lbmirror {
inline namespace core {

int64_t SystemClock::NowMs() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

const SystemClock& SystemClock::Instance() {
  static const SystemClock clock;
  return clock;
}

void CheckFailed(const char* cond, const char* file, int line) {
  std::fprintf(stderr, "lbmirror: check failed: %s at %s:%d\n", cond, file, line);
  std::abort();
}

}  // namespace core
}  // namespace lbmirror
