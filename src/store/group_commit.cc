#include "store/group_commit.h"

#include <vector>

namespace lbmirror::store {

GroupCommitInbox::GroupCommitInbox(Inbox& inner, size_t max_batch)
    : inner_(inner), max_batch_(max_batch == 0 ? 1 : max_batch) {
  committer_ = std::thread([this] { CommitLoop(); });
}

GroupCommitInbox::~GroupCommitInbox() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  work_.notify_all();
  committer_.join();
}

Result<bool> GroupCommitInbox::Record(const InboxEvent& event) {
  Waiter waiter{&event, std::nullopt};
  std::unique_lock lock(mutex_);
  if (stopping_) return Unavailable("shutting down");
  queue_.push_back(&waiter);
  work_.notify_one();
  done_.wait(lock, [&] { return waiter.result.has_value(); });
  return std::move(*waiter.result);
}

void GroupCommitInbox::CommitLoop() {
  std::vector<Waiter*> batch;
  std::vector<const InboxEvent*> events;
  std::unique_lock lock(mutex_);
  for (;;) {
    work_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing left to commit
    batch.clear();
    while (!queue_.empty() && batch.size() < max_batch_) {
      batch.push_back(queue_.front());
      queue_.pop_front();
    }
    lock.unlock();
    events.clear();
    for (Waiter* waiter : batch) events.push_back(waiter->event);
    std::vector<Result<bool>> results = inner_.RecordAll(events);
    lock.lock();
    for (size_t i = 0; i < batch.size(); ++i) {
      batch[i]->result = i < results.size() ? std::move(results[i])
                                            : Result<bool>(Internal("no result for this event"));
    }
    ++batches_;
    events_ += batch.size();
    done_.notify_all();
  }
}

size_t GroupCommitInbox::batches() const {
  std::lock_guard lock(mutex_);
  return batches_;
}

size_t GroupCommitInbox::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

size_t GroupCommitInbox::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

}  // namespace lbmirror::store
