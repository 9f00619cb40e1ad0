// Group commit of webhooks: concurrent webhooks share one transaction. A committer thread takes
// every webhook queued while it was recording the previous group (up to `max_group`), so under
// load they share a commit and its log flush, and a webhook arriving alone is recorded at once.
// Further committers join only while more than one group waits (a second transaction in flight
// splits the groups and costs a commit). The ids of the last 8192 webhooks recorded are kept:
// their redeliveries are answered without recording. While a commit has been in flight longer
// than `stall_after` (the database is cut off, or hangs), a new webhook is answered unavailable
// at once instead of queueing behind it. Thread-safe; threads start with the first Submit and
// are named lbm-record-N.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "store/inbox.h"

namespace lbmirror::store::sql {

class GroupCommitter {
 public:
  struct Pending {
    InboxEvent event;
    Inbox::RecordDone done;
    std::optional<Result<bool>> result;  // set by the record function
  };
  // Records one group, setting every element's result (true: new, false: stored before).
  using RecordGroup = std::function<void(std::span<Pending> group)>;

  GroupCommitter(int committers, size_t max_group, RecordGroup record,
                 std::chrono::milliseconds stall_after = std::chrono::seconds(2));
  // Records what is queued, then joins the committers.
  ~GroupCommitter();
  GroupCommitter(const GroupCommitter&) = delete;
  GroupCommitter& operator=(const GroupCommitter&) = delete;

  // Queues `event`; `done` is called once with its outcome, on a committer thread (or on the
  // caller's, at once, for a redelivery of a webhook recorded recently, or an unavailable
  // answer while a commit is stalled).
  void Submit(InboxEvent event, Inbox::RecordDone done);

 private:
  void CommitterLoop(bool first);
  void Remember(const std::vector<Pending>& group);  // REQUIRES: mutex_ held

  static constexpr size_t kRecentIds = 8192;
  const int committers_wanted_;
  const size_t max_group_;
  const RecordGroup record_;
  const std::chrono::milliseconds stall_after_;
  std::mutex mutex_;
  std::condition_variable wake_;           // the first committer: something is queued
  std::condition_variable overflow_wake_;  // the others: more than one group is queued
  std::deque<Pending> queue_;
  std::multiset<std::chrono::steady_clock::time_point> in_flight_;  // when each commit began
  std::unordered_set<std::string> recent_ids_;
  std::deque<std::string> recent_order_;
  bool stopping_ = false;
  std::vector<std::thread> committers_;
};

}  // namespace lbmirror::store::sql
