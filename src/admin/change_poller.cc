#include "admin/change_poller.h"

#include <chrono>
#include <utility>

namespace lbmirror::admin {

namespace {
constexpr int64_t kRoundMs = 250;
}  // namespace

ChangePoller::ChangePoller(store::ChangeFeed& feed, const Clock& clock)
    : feed_(feed), clock_(clock), thread_([this] { Run(); }) {}

ChangePoller::~ChangePoller() { Stop(); }

void ChangePoller::Stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  std::list<Waiter> left;
  {
    std::lock_guard lock(mutex_);
    left.swap(waiting_);
  }
  for (Waiter& waiter : left) waiter.done(std::vector<store::Change>{});
}

void ChangePoller::Wait(int64_t after, int limit, store::ChangeFilter filter, int64_t wait_ms,
                        Done done) {
  {
    std::unique_lock lock(mutex_);
    if (stopping_) {
      // Stopping: answered at once (the changes so far are for the next request).
      lock.unlock();
      done(std::vector<store::Change>{});
      return;
    }
    waiting_.push_back(
        {after, limit, std::move(filter), clock_.NowMs() + wait_ms, std::move(done)});
    arrived_ = true;
  }
  wake_.notify_all();
}

void ChangePoller::Run() {
  for (;;) {
    std::list<Waiter> round;
    {
      std::unique_lock lock(mutex_);
      wake_.wait_for(lock, std::chrono::milliseconds(kRoundMs),
                     [this] { return stopping_ || arrived_; });
      if (stopping_) return;
      arrived_ = false;
      round.splice(round.end(), waiting_);
    }
    if (round.empty()) continue;
    // Positions first: the changes committed since the last round become readable.
    Result<int64_t> placed = feed_.SequenceChanges(1000);
    const int64_t now = clock_.NowMs();
    for (auto it = round.begin(); it != round.end();) {
      Result<std::vector<store::Change>> changes =
          placed ? feed_.ReadChanges(it->after, it->limit, it->filter)
                 : Result<std::vector<store::Change>>(placed.error());
      if (!changes || !changes->empty() || now >= it->deadline_ms) {
        it->done(std::move(changes));
        it = round.erase(it);
      } else {
        ++it;
      }
    }
    std::lock_guard lock(mutex_);
    waiting_.splice(waiting_.begin(), round);
  }
}

}  // namespace lbmirror::admin
