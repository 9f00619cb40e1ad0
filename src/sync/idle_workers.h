// IdleWorkers: when the engine's idle workers look at the queue again. After a look that
// found nothing due, a worker waits until the next due target it was told of, Notify(), or the
// idle poll; Notify() wakes at most one worker, and none when an idle worker will look by the
// time the new work is due, so a burst of coalesced webhooks does not wake a worker per
// webhook. The wait itself is injectable: tests drive it without real time.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <vector>

#include "core/clock.h"

namespace lbmirror::sync {

class IdleWorkers {
 public:
  // Waits on `cv` (with `lock` held, released meanwhile) until `woken()` holds or `timeout` has
  // passed, as std::condition_variable::wait_for does.
  using Wait =
      std::function<void(std::unique_lock<std::mutex>& lock, std::condition_variable& cv,
                         std::chrono::milliseconds timeout, const std::function<bool()>& woken)>;

  // `wait` empty: std::condition_variable::wait_for. The clock must outlive this.
  IdleWorkers(int workers, const Clock& clock, Wait wait = {});

  // A worker is about to look at the queue: it sees whatever Notify() told until now. Returns
  // the ticket to give to WaitToLook.
  uint64_t BeforeLook();
  // The look by worker `index` found nothing it could claim; `next_due` is when the earliest
  // target it did not take is due (clock time). Returns when the worker should look again, or
  // when stopping.
  void WaitToLook(int index, uint64_t ticket, std::optional<int64_t> next_due,
                  int64_t idle_poll_ms);
  // Work becomes due at `due_at_ms` (clock time; nullopt: now). Wakes one waiting worker, if
  // any waits, and returns true; returns false, waking none, when a waiting worker will look
  // by then anyway.
  bool Notify(std::optional<int64_t> due_at_ms);
  // Wakes every waiting worker, for good.
  void Stop();
  bool stopping() const;

 private:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  const Clock& clock_;
  Wait wait_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  uint64_t generation_ = 0;  // bumped by each Notify() that wakes a worker
  // The earliest due time told by Notify() since a worker last looked or woke for it (0: due
  // now, or more may be due; kNever: none).
  int64_t notified_due_ = kNever;
  // Per worker: the clock time it will next look by itself while it waits, or kNever while it
  // is looking or busy.
  std::vector<int64_t> looks_at_;
};

}  // namespace lbmirror::sync
