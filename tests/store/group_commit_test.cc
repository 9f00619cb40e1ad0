#include "store/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "fakes/fake_inbox.h"

namespace lbmirror::store {
namespace {

// Records through a FakeInbox, but holds the first RecordAll until released, and remembers
// the size of every batch.
class GatedInbox final : public Inbox {
 public:
  Result<bool> Record(const InboxEvent& event) override { return inner.Record(event); }
  std::vector<Result<bool>> RecordAll(std::span<const InboxEvent* const> events) override {
    {
      std::unique_lock lock(mutex);
      sizes.push_back(events.size());
      gate.wait(lock, [this] { return open; });
    }
    return Inbox::RecordAll(events);
  }
  void Open() {
    {
      std::lock_guard lock(mutex);
      open = true;
    }
    gate.notify_all();
  }
  std::vector<size_t> Sizes() {
    std::lock_guard lock(mutex);
    return sizes;
  }
  FakeInbox inner;
  std::mutex mutex;
  std::condition_variable gate;
  bool open = false;
  std::vector<size_t> sizes;
};

InboxEvent Event(const std::string& id) {
  InboxEvent event;
  event.webhook_id = id;
  event.type = "storageUpdated";
  event.payload = "{}";
  return event;
}

TEST(GroupCommitTest, WebhooksWaitingTogetherAreCommittedTogether) {
  GatedInbox inner;
  GroupCommitInbox inbox(inner);
  std::vector<std::thread> threads;
  std::vector<int> results(11, -1);
  threads.emplace_back([&] { results[0] = *inbox.Record(Event("first")); });
  while (inner.Sizes().empty()) std::this_thread::yield();  // the first commit is under way
  for (int i = 1; i <= 10; ++i) {
    threads.emplace_back([&, i] {
      // Two threads send the same webhook: one stores it, the other sees a duplicate.
      results[i] = *inbox.Record(Event(i == 10 ? "msg-1" : "msg-" + std::to_string(i)));
    });
  }
  while (inbox.queued() < 10) std::this_thread::yield();
  inner.Open();
  for (auto& t : threads) t.join();
  EXPECT_EQ(inner.Sizes(), (std::vector<size_t>{1, 10}));
  EXPECT_EQ(inbox.batches(), 2u);
  EXPECT_EQ(inbox.events(), 11u);
  EXPECT_EQ(inner.inner.events().size(), 10u);
  int stored = 0;
  for (int r : results) stored += r;
  EXPECT_EQ(stored, 10) << "every webhook but the repeated one is new";
}

TEST(GroupCommitTest, ErrorsReachEveryWaiter) {
  FakeInbox inner;
  inner.SetFailing(true, /*retryable=*/true);
  GroupCommitInbox inbox(inner);
  std::vector<std::thread> threads;
  std::atomic<int> unavailable{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&, i] {
      auto r = inbox.Record(Event("e" + std::to_string(i)));
      if (!r && r.error().retryable()) ++unavailable;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(unavailable.load(), 8);
  inner.SetFailing(false);
  EXPECT_TRUE(*inbox.Record(Event("after")));
}

}  // namespace
}  // namespace lbmirror::store
