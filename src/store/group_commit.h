// GroupCommitInbox: an Inbox in front of another that commits concurrent webhooks together.
// Each Record() call queues its event and waits; one committer thread takes everything queued
// (up to max_batch) and records it with a single RecordAll, so that N webhooks arriving at
// once cost one transaction and one log flush instead of N. Results are exactly what Record
// would give for each event. Thread-safe; the destructor commits what is queued and stops.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <optional>
#include <mutex>
#include <thread>

#include "store/inbox.h"

namespace lbmirror::store {

class GroupCommitInbox final : public Inbox {
 public:
  // `inner` must outlive this.
  explicit GroupCommitInbox(Inbox& inner, size_t max_batch = 256);
  ~GroupCommitInbox() override;

  Result<bool> Record(const InboxEvent& event) override;

  // How many commits (RecordAll calls) and events went through so far.
  size_t batches() const;
  size_t events() const;
  // Events waiting for the committer (for tests).
  size_t queued() const;

 private:
  struct Waiter {
    const InboxEvent* event;
    std::optional<Result<bool>> result;
  };
  void CommitLoop();

  Inbox& inner_;
  size_t max_batch_;
  mutable std::mutex mutex_;
  std::condition_variable work_;  // the committer waits for events
  std::condition_variable done_;  // callers wait for their result
  std::deque<Waiter*> queue_;
  bool stopping_ = false;
  size_t batches_ = 0;
  size_t events_ = 0;
  std::thread committer_;
};

}  // namespace lbmirror::store
