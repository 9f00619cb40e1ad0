// The admin API's long poll of the change feed (GET /api/changes?wait=30s): waiting readers are
// answered by one thread of their own, never the HTTP server's: every 250 ms it gives committed
// changes their positions, then reads for each waiter after its position; a waiter gets its
// changes as soon as there are some, an empty list at its deadline, or the error. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "store/store.h"

namespace lbmirror::admin {

class ChangePoller {
 public:
  using Done = std::function<void(Result<std::vector<store::Change>>)>;
  // `feed` must outlive this.
  ChangePoller(store::ChangeFeed& feed, const Clock& clock);
  // Stop()s.
  ~ChangePoller();
  // Answers every waiter still waiting (with no changes), and from then on each new one at
  // once: a listener shutting down does not wait for long polls.
  void Stop();
  ChangePoller(const ChangePoller&) = delete;
  ChangePoller& operator=(const ChangePoller&) = delete;

  // Up to `limit` changes after `after` that `filter` lets through, waiting up to `wait_ms` for
  // the first; `done` is called once, on the poller's thread.
  void Wait(int64_t after, int limit, store::ChangeFilter filter, int64_t wait_ms, Done done);

 private:
  struct Waiter {
    int64_t after;
    int limit;
    store::ChangeFilter filter;
    int64_t deadline_ms;
    Done done;
  };
  void Run();

  store::ChangeFeed& feed_;
  const Clock& clock_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::list<Waiter> waiting_;  // guarded by mutex_
  bool stopping_ = false;      // guarded by mutex_
  bool arrived_ = false;       // a waiter came since the last round; guarded by mutex_
  std::thread thread_;
};

}  // namespace lbmirror::admin
