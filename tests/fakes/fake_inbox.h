// An in-memory Inbox that can be made to fail. Thread-safe.
#pragma once

#include <map>
#include <mutex>

#include "store/inbox.h"

namespace lbmirror::store {

class FakeInbox final : public Inbox {
 public:
  void RecordAsync(InboxEvent event, RecordDone done) override { done(event, Keep(event)); }
  void SetFailing(bool fail, bool retryable = true) {
    std::lock_guard lock(mutex_);
    fail_ = fail;
    retryable_ = retryable;
  }
  struct Stored {
    std::string type;
    std::string payload;
    std::vector<TargetKey> targets;
  };
  std::map<std::string, Stored> events() {
    std::lock_guard lock(mutex_);
    return events_;
  }

 private:
  Result<bool> Keep(const InboxEvent& event) {
    std::lock_guard lock(mutex_);
    if (fail_) {
      return retryable_ ? Unavailable("database is down")
                        : Error(ErrorCode::kTooLarge, "packet too large", false);
    }
    auto [it, inserted] = events_.emplace(
        event.webhook_id, Stored{event.type, std::string(event.payload), event.targets});
    return inserted;
  }

  std::mutex mutex_;
  bool fail_ = false;
  bool retryable_ = true;
  std::map<std::string, Stored> events_;
};

}  // namespace lbmirror::store
