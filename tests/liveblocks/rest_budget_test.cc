// The REST budget on a fake clock: its rate and burst, the reserve background reads leave to
// foreground ones, a 429's hold, and what --rest-budget accepts.
#include "liveblocks/rest_budget.h"

#include <gtest/gtest.h>

#include <vector>

#include "fakes/fake_clock.h"

namespace lbmirror::liveblocks {
namespace {

// A sleep that moves the fake clock on, and says how long it was asked to sleep.
struct FakeSleep {
  FakeClock& clock;
  int64_t slept_ms = 0;
  RestBudget::Sleep Get() {
    return [this](std::chrono::milliseconds d) {
      slept_ms += d.count();
      clock.Advance(d.count());
      return true;
    };
  }
};

RestBudget::Sleep Interrupting(bool* asked) {
  return [asked](std::chrono::milliseconds) {
    *asked = true;
    return false;
  };
}

TEST(RestBudgetTest, ParsesPerSecondPerMinuteAndNoLimit) {
  EXPECT_EQ(*ParseRestBudget("10/s"), 10);
  EXPECT_EQ(*ParseRestBudget("600/m"), 10);
  EXPECT_EQ(*ParseRestBudget("2.5"), 2.5);
  EXPECT_EQ(*ParseRestBudget("0"), 0);
  for (const char* bad : {"", "fast", "10/h", "-1/s", "10/", "/s", "1e999"}) {
    auto parsed = ParseRestBudget(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_EQ(parsed.error().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message().find("10/s or 600/m"), std::string::npos);
  }
}

TEST(RestBudgetTest, GrantsABurstThenTheRateAndNeverMoreInAnySecond) {
  FakeClock clock;
  FakeSleep sleep{clock};
  RestBudget budget(clock, 10);
  const int64_t start = clock.NowMs();
  std::vector<int64_t> granted_at;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(budget.Acquire(Priority::kForeground, sleep.Get()));
    granted_at.push_back(clock.NowMs() - start);
  }
  EXPECT_EQ(granted_at[9], 0) << "a burst of one second's worth at once";
  EXPECT_GE(granted_at[99], 9'000) << "then 10 a second";
  EXPECT_LE(granted_at[99], 9'200);
  for (size_t i = 0; i < granted_at.size(); ++i) {
    size_t in_window = 0;
    for (int64_t at : granted_at) in_window += at >= granted_at[i] && at < granted_at[i] + 1'000;
    EXPECT_LE(in_window, 20u) << "rate + burst within any second from grant " << i;
  }
  EXPECT_EQ(budget.granted(Priority::kForeground), 100);
  EXPECT_EQ(budget.granted(Priority::kBackground), 0);
  EXPECT_EQ(budget.waited_ms(Priority::kForeground), sleep.slept_ms);
}

TEST(RestBudgetTest, BackgroundReadsLeaveTheReserveToForegroundOnes) {
  FakeClock clock;
  FakeSleep sleep{clock};
  RestBudget budget(clock, 10, 10);  // reserve: 5 tokens
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(budget.Acquire(Priority::kBackground, sleep.Get()));
  EXPECT_EQ(sleep.slept_ms, 0) << "six tokens left: above the reserve";
  bool asked = false;
  EXPECT_TRUE(budget.Acquire(Priority::kBackground, Interrupting(&asked)));
  EXPECT_FALSE(asked);
  EXPECT_FALSE(budget.Acquire(Priority::kBackground, Interrupting(&asked)))
      << "five left: the background waits";
  EXPECT_TRUE(asked);
  for (int i = 0; i < 5; ++i) {
    asked = false;
    EXPECT_TRUE(budget.Acquire(Priority::kForeground, Interrupting(&asked)));
    EXPECT_FALSE(asked) << "the foreground takes the reserve at once";
  }
  // Empty: the background waits until the bucket holds more than the reserve again (0.6 s).
  const int64_t before = clock.NowMs();
  ASSERT_TRUE(budget.Acquire(Priority::kBackground, sleep.Get()));
  EXPECT_GE(clock.NowMs() - before, 600);
  EXPECT_LE(clock.NowMs() - before, 700);
}

TEST(RestBudgetTest, A429HoldsTheBackgroundBackForItsRetryAfter) {
  FakeClock clock;
  FakeSleep sleep{clock};
  RestBudget budget(clock, 100);
  budget.HoldBackground(2'000);
  bool asked = false;
  EXPECT_TRUE(budget.Acquire(Priority::kForeground, Interrupting(&asked)));
  EXPECT_FALSE(asked) << "the foreground is not held";
  const int64_t before = clock.NowMs();
  ASSERT_TRUE(budget.Acquire(Priority::kBackground, sleep.Get()));
  EXPECT_GE(clock.NowMs() - before, 2'000);
}

TEST(RestBudgetTest, NoLimitGrantsAtOnce) {
  FakeClock clock;
  RestBudget budget(clock, 0);
  bool asked = false;
  for (int i = 0; i < 1'000; ++i) {
    ASSERT_TRUE(budget.Acquire(Priority::kBackground, Interrupting(&asked)));
  }
  EXPECT_FALSE(asked);
  EXPECT_EQ(budget.granted(Priority::kBackground), 1'000);
}

}  // namespace
}  // namespace lbmirror::liveblocks
