#include "store/sql/group_committer.h"

#include <algorithm>
#include <iterator>

#include "core/text.h"
#include "core/thread_name.h"

namespace lbmirror::store::sql {

GroupCommitter::GroupCommitter(int committers, size_t max_group, RecordGroup record,
                               std::chrono::milliseconds stall_after)
    : committers_wanted_(std::max(1, committers)),
      max_group_(std::max<size_t>(1, max_group)),
      record_(std::move(record)),
      stall_after_(stall_after) {}

GroupCommitter::~GroupCommitter() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  overflow_wake_.notify_all();
  for (std::thread& committer : committers_) committer.join();
}

void GroupCommitter::Submit(InboxEvent event, Inbox::RecordDone done) {
  {
    std::unique_lock lock(mutex_);
    if (recent_ids_.contains(event.webhook_id)) {
      // Recorded by this process a moment ago: a redelivery, answered without the database.
      lock.unlock();
      done(event, false);
      return;
    }
    if (!in_flight_.empty()) {
      auto stalled = std::chrono::steady_clock::now() - *in_flight_.begin();
      if (stalled > stall_after_) {
        // Queueing behind a commit the database has not answered for this long would only
        // hold the webhook's sender: it is told at once to deliver it again later.
        lock.unlock();
        done(event,
             Error(
                 ErrorCode::kUnavailable,
                 Cat("the database has not completed a commit for ",
                     std::chrono::duration_cast<std::chrono::milliseconds>(stalled).count(), " ms"),
                 true));
        return;
      }
    }
    if (committers_.empty()) {
      for (int i = 0; i < committers_wanted_; ++i) {
        committers_.emplace_back([this, i] {
          NameThisThread(Cat("lbm-record-", i));
          CommitterLoop(/*first=*/i == 0);
        });
      }
    }
    queue_.push_back({std::move(event), std::move(done), std::nullopt});
    if (queue_.size() > max_group_) overflow_wake_.notify_one();
  }
  wake_.notify_one();
}

void GroupCommitter::CommitterLoop(bool first) {
  std::unique_lock lock(mutex_);
  for (;;) {
    (first ? wake_ : overflow_wake_).wait(lock, [this, first] {
      return stopping_ || queue_.size() > (first ? 0 : max_group_);
    });
    if (queue_.empty()) return;  // stopping, and everything queued is recorded
    size_t take = std::min(queue_.size(), max_group_);
    std::vector<Pending> group(std::make_move_iterator(queue_.begin()),
                               std::make_move_iterator(queue_.begin() + take));
    queue_.erase(queue_.begin(), queue_.begin() + take);
    auto began = in_flight_.insert(std::chrono::steady_clock::now());
    lock.unlock();
    record_(group);
    lock.lock();
    in_flight_.erase(began);
    Remember(group);
    lock.unlock();
    for (Pending& pending : group) pending.done(pending.event, std::move(*pending.result));
    lock.lock();
  }
}

void GroupCommitter::Remember(const std::vector<Pending>& group) {
  for (const Pending& pending : group) {
    if (!*pending.result || !recent_ids_.insert(pending.event.webhook_id).second) continue;
    recent_order_.push_back(pending.event.webhook_id);
    if (recent_order_.size() > kRecentIds) {
      recent_ids_.erase(recent_order_.front());
      recent_order_.pop_front();
    }
  }
}

}  // namespace lbmirror::store::sql
