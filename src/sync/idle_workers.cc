#include "sync/idle_workers.h"

#include <algorithm>
#include <utility>

namespace lbmirror::sync {

IdleWorkers::IdleWorkers(int workers, const Clock& clock, Wait wait)
    : clock_(clock), wait_(std::move(wait)), looks_at_(static_cast<size_t>(workers), kNever) {
  if (!wait_) {
    wait_ = [](std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
               std::chrono::milliseconds timeout,
               const std::function<bool()>& woken) { cv.wait_for(lock, timeout, woken); };
  }
}

uint64_t IdleWorkers::BeforeLook() {
  std::lock_guard lock(mutex_);
  notified_due_ = kNever;  // what was notified so far, this look sees
  return generation_;
}

void IdleWorkers::WaitToLook(int index, uint64_t ticket, std::optional<int64_t> next_due,
                             int64_t idle_poll_ms) {
  int64_t now = clock_.NowMs();
  std::unique_lock lock(mutex_);
  if (stopping_ || generation_ != ticket) return;  // work arrived while looking
  int64_t wait_ms = idle_poll_ms;
  if (next_due) {
    // Due already but not claimed: another worker is taking it; look again shortly. One idle
    // worker watches the queue for the next due target (a burst being coalesced).
    int64_t due_in = *next_due > now ? *next_due - now : int64_t{20};
    bool watched = std::any_of(looks_at_.begin(), looks_at_.end(),
                               [&](int64_t at) { return at <= now + due_in; });
    if (!watched) wait_ms = std::min(wait_ms, due_in);
  }
  int64_t look_at = now + wait_ms;
  int64_t& mine = looks_at_.at(static_cast<size_t>(index));
  const std::function<bool()> woken = [&] { return stopping_ || generation_ != ticket; };
  for (;;) {
    mine = look_at;
    wait_(lock, wake_, std::chrono::milliseconds(std::max<int64_t>(0, look_at - now)), woken);
    mine = kNever;
    if (stopping_ || generation_ == ticket) return;  // time to look
    // Woken by Notify() for work due later than this worker meant to look: it now looks then
    // (the queue holds nothing earlier: it was looked at, and Notify() tells of anything new).
    now = clock_.NowMs();
    int64_t due = std::exchange(notified_due_, kNever);
    if (due <= now || now >= look_at) return;
    ticket = generation_;
    look_at = std::min(look_at, due);
  }
}

bool IdleWorkers::Notify(std::optional<int64_t> due_at_ms) {
  {
    std::lock_guard lock(mutex_);
    if (due_at_ms) {
      // A worker that will look for work by the due time finds it then: no wake-up needed.
      for (int64_t looks_at : looks_at_) {
        if (looks_at <= *due_at_ms) return false;
      }
    }
    notified_due_ = std::min(notified_due_, due_at_ms.value_or(0));
    ++generation_;
  }
  // One is enough: a worker that takes work wakes the next (Engine::WorkerLoop).
  wake_.notify_one();
  return true;
}

void IdleWorkers::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
}

bool IdleWorkers::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

}  // namespace lbmirror::sync
