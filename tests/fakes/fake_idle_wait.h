// An IdleWorkers::Wait for tests: each wait is recorded with the timeout it asked for and
// never times out by itself; it returns when woken, or when the test calls TimeOut(). So a
// test can wait for "a worker is waiting again" and know that nothing else happened in
// between, without sleeping.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "sync/idle_workers.h"

namespace lbmirror::sync {

class FakeIdleWait {
 public:
  IdleWorkers::Wait AsWait() {
    return [this](std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                  std::chrono::milliseconds timeout, const std::function<bool()>& woken) {
      const int epoch = timeout_epoch_.load();
      cv_ = &cv;
      {
        std::lock_guard mine(mutex_);
        timeouts_.push_back(timeout.count());
        ++waiting_;
      }
      changed_.notify_all();
      // Like the real wait, only a notification wakes it (notify_one wakes one worker).
      cv.wait(lock, [&] { return woken() || timeout_epoch_.load() != epoch; });
      {
        std::lock_guard mine(mutex_);
        --waiting_;
      }
      changed_.notify_all();
    };
  }

  // Blocks until `begun` waits have begun in all and `waiting` are in progress.
  void AwaitWaits(size_t begun, int waiting) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return timeouts_.size() >= begun && waiting_ == waiting; });
  }
  // The waits in progress end as if timed out (the test moves its clock as it sees fit);
  // returns once they have.
  void TimeOut() {
    ++timeout_epoch_;
    // Notified again until they are gone: one might have checked the epoch just before.
    while (waiting() > 0) {
      if (std::condition_variable* cv = cv_.load()) cv->notify_all();
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  std::vector<int64_t> timeouts() const {
    std::lock_guard lock(mutex_);
    return timeouts_;
  }
  int waiting() const {
    std::lock_guard lock(mutex_);
    return waiting_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<int64_t> timeouts_;  // each wait's timeout in ms, in the order they began
  int waiting_ = 0;
  std::atomic<int> timeout_epoch_{0};
  std::atomic<std::condition_variable*> cv_{nullptr};  // the one the waits wait on
};

}  // namespace lbmirror::sync
