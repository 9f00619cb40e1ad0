#include "sync/idle_workers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "fakes/fake_clock.h"
#include "fakes/fake_idle_wait.h"

namespace lbmirror::sync {
namespace {

class IdleWorkersTest : public ::testing::Test {
 protected:
  // Worker `index` looks (finding nothing, `next_due` the next due target) and waits on a
  // thread of its own; `returned` is set when it should look again.
  std::thread Idle(int index, std::optional<int64_t> next_due, std::atomic<bool>& returned) {
    uint64_t ticket = idle_.BeforeLook();
    return std::thread([this, index, ticket, next_due, &returned] {
      idle_.WaitToLook(index, ticket, next_due, kPollMs);
      returned = true;
    });
  }

  static constexpr int64_t kPollMs = 500;
  FakeClock clock_;
  FakeIdleWait wait_;
  IdleWorkers idle_{2, clock_, wait_.AsWait()};
};

TEST_F(IdleWorkersTest, NotifiedWorkDueLaterThanAWorkerLooksWakesNobody) {
  std::atomic<bool> returned{false};
  std::thread worker = Idle(0, std::nullopt, returned);
  wait_.AwaitWaits(1, 1);
  EXPECT_EQ(wait_.timeouts(), std::vector<int64_t>{kPollMs});
  const int64_t now = clock_.NowMs();
  EXPECT_FALSE(idle_.Notify(now + kPollMs + 1'000));
  EXPECT_FALSE(idle_.Notify(now + kPollMs));
  // Due before the worker would look: it is woken, and waits until then instead of looking.
  EXPECT_TRUE(idle_.Notify(now + 100));
  wait_.AwaitWaits(2, 1);
  EXPECT_EQ(wait_.timeouts(), (std::vector<int64_t>{kPollMs, 100}));
  EXPECT_FALSE(returned.load());
  // It looks at 100 ms now: work due by then wakes nobody; work due now makes it look.
  EXPECT_FALSE(idle_.Notify(now + 100));
  EXPECT_TRUE(idle_.Notify(std::nullopt));
  worker.join();
  EXPECT_TRUE(returned.load());
  EXPECT_EQ(wait_.timeouts().size(), 2u);
}

TEST_F(IdleWorkersTest, OneWorkerWatchesTheNextDueTargetTheOthersWaitForThePoll) {
  std::atomic<bool> first{false}, second{false};
  const int64_t due = clock_.NowMs() + 300;
  std::thread a = Idle(0, due, first);
  wait_.AwaitWaits(1, 1);
  std::thread b = Idle(1, due, second);
  wait_.AwaitWaits(2, 2);
  EXPECT_EQ(wait_.timeouts(), (std::vector<int64_t>{300, kPollMs}));
  idle_.Stop();
  a.join();
  b.join();
  EXPECT_TRUE(first.load() && second.load());
  EXPECT_TRUE(idle_.stopping());
}

TEST_F(IdleWorkersTest, ATargetDueButNotClaimedIsLookedAtAgainShortly) {
  std::atomic<bool> returned{false};
  std::thread worker = Idle(0, clock_.NowMs() - 5, returned);
  wait_.AwaitWaits(1, 1);
  EXPECT_EQ(wait_.timeouts(), std::vector<int64_t>{20});
  wait_.TimeOut();
  worker.join();
  EXPECT_TRUE(returned.load());
}

TEST_F(IdleWorkersTest, WorkNotifiedWhileAWorkerLooksIsLookedForAgainWithoutWaiting) {
  uint64_t ticket = idle_.BeforeLook();
  EXPECT_TRUE(idle_.Notify(std::nullopt));  // nobody waits; the looking worker sees it
  idle_.WaitToLook(0, ticket, std::nullopt, kPollMs);
  EXPECT_TRUE(wait_.timeouts().empty());
}

TEST_F(IdleWorkersTest, AWorkerWokenForWorkThatIsDueByTheTimeItWakesLooksAtOnce) {
  std::atomic<bool> returned{false};
  const int64_t start = clock_.NowMs();
  std::thread worker = Idle(0, std::nullopt, returned);
  wait_.AwaitWaits(1, 1);
  clock_.Advance(200);
  EXPECT_TRUE(idle_.Notify(start + 100));
  worker.join();
  EXPECT_EQ(wait_.timeouts().size(), 1u);
}

}  // namespace
}  // namespace lbmirror::sync
