#include "liveblocks/rest_budget.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/text.h"

namespace lbmirror::liveblocks {

Result<double> ParseRestBudget(std::string_view text) {
  auto invalid = [&] {
    return InvalidArgument(Cat("--rest-budget must be requests per second or per minute, such as ",
                               "10/s or 600/m, or 0 for no limit; not \"", text, "\""));
  };
  std::string_view number = text;
  double per = 1;
  if (size_t slash = text.find('/'); slash != std::string_view::npos) {
    std::string_view unit = text.substr(slash + 1);
    if (unit == "s") {
      per = 1;
    } else if (unit == "m") {
      per = 60;
    } else {
      return invalid();
    }
    number = text.substr(0, slash);
  }
  double value = 0;
  auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || error != std::errc() || end != number.data() + number.size() ||
      !std::isfinite(value) || value < 0) {
    return invalid();
  }
  return value / per;
}

RestBudget::RestBudget(const Clock& clock, double per_second, std::optional<double> burst)
    : clock_(clock),
      per_second_(per_second),
      burst_(std::max(1.0, burst.value_or(per_second))),
      reserve_(std::min(burst_ - 1, burst_ / 2)),
      tokens_(burst_),
      refilled_at_ms_(clock.NowMs()) {}

std::optional<int64_t> RestBudget::TryTake(Priority priority) {
  const int64_t now = clock_.NowMs();
  tokens_ =
      std::min(burst_, tokens_ + static_cast<double>(now - refilled_at_ms_) * per_second_ / 1000.0);
  refilled_at_ms_ = now;
  const bool background = priority == Priority::kBackground;
  if (background && now < background_held_until_ms_) return background_held_until_ms_ - now;
  const double needed = 1 + (background ? reserve_ : 0);
  if (tokens_ >= needed) {
    tokens_ -= 1;
    return std::nullopt;
  }
  return std::max<int64_t>(
      1, static_cast<int64_t>(std::ceil((needed - tokens_) * 1000.0 / per_second_)));
}

bool RestBudget::Acquire(Priority priority, const Sleep& sleep) {
  const int index = static_cast<int>(priority);
  if (per_second_ <= 0) {
    granted_[index].fetch_add(1, std::memory_order_relaxed);
    return true;
  }
  for (;;) {
    std::optional<int64_t> wait;
    {
      std::lock_guard lock(mutex_);
      wait = TryTake(priority);
    }
    if (!wait) {
      granted_[index].fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    // Look again at least every 100 ms: another waiter may take what was counted on.
    const int64_t slice = std::min<int64_t>(*wait, 100);
    waited_ms_[index].fetch_add(slice, std::memory_order_relaxed);
    if (!sleep(std::chrono::milliseconds(slice))) return false;
  }
}

void RestBudget::HoldBackground(int64_t retry_after_ms) {
  std::lock_guard lock(mutex_);
  background_held_until_ms_ =
      std::max(background_held_until_ms_, clock_.NowMs() + std::max<int64_t>(retry_after_ms, 0));
}

}  // namespace lbmirror::liveblocks
