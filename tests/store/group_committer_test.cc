// The group committer alone, with a record function in place of a database.
#include "store/sql/group_committer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

namespace lbmirror::store::sql {
namespace {

using namespace std::chrono_literals;

InboxEvent Event(const std::string& id) {
  InboxEvent event;
  event.webhook_id = id;
  event.type = "storageUpdated";
  return event;
}

// Records groups as told: every webhook new (or failing), and can hold a group until released.
struct FakeRecorder {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<size_t> group_sizes;
  bool hold = false;
  bool fail = false;

  void Record(std::span<GroupCommitter::Pending> group) {
    std::unique_lock lock(mutex);
    group_sizes.push_back(group.size());
    changed.notify_all();
    changed.wait(lock, [this] { return !hold; });
    for (auto& pending : group) {
      pending.result = fail ? Result<bool>(Unavailable("down")) : Result<bool>(true);
    }
  }
  void WaitForGroups(size_t count) {
    std::unique_lock lock(mutex);
    ASSERT_TRUE(changed.wait_for(lock, 5s, [&] { return group_sizes.size() >= count; }));
  }
  void Release() {
    std::lock_guard lock(mutex);
    hold = false;
    changed.notify_all();
  }
};

// Submits and returns a future of the outcome.
std::future<Result<bool>> Submit(GroupCommitter& committer, const std::string& id) {
  auto promise = std::make_shared<std::promise<Result<bool>>>();
  auto future = promise->get_future();
  committer.Submit(Event(id), [promise](const InboxEvent&, Result<bool> outcome) {
    promise->set_value(std::move(outcome));
  });
  return future;
}

TEST(GroupCommitterTest, WebhooksArrivingDuringACommitShareTheNextOne) {
  FakeRecorder recorder;
  recorder.hold = true;
  GroupCommitter committer(1, 64, [&](auto group) { recorder.Record(group); });
  auto first = Submit(committer, "msg_0");
  recorder.WaitForGroups(1);  // held: the next ten queue up meanwhile
  std::vector<std::future<Result<bool>>> rest;
  for (int i = 1; i <= 10; ++i) rest.push_back(Submit(committer, "msg_" + std::to_string(i)));
  recorder.Release();
  EXPECT_TRUE(*first.get());
  for (auto& outcome : rest) EXPECT_TRUE(*outcome.get());
  std::lock_guard lock(recorder.mutex);
  EXPECT_EQ(recorder.group_sizes, (std::vector<size_t>{1, 10}));
}

TEST(GroupCommitterTest, AGroupTakesAtMostMaxGroup) {
  FakeRecorder recorder;
  recorder.hold = true;
  GroupCommitter committer(1, 4, [&](auto group) { recorder.Record(group); });
  std::vector<std::future<Result<bool>>> outcomes;
  outcomes.push_back(Submit(committer, "msg_0"));
  recorder.WaitForGroups(1);
  for (int i = 1; i <= 9; ++i) outcomes.push_back(Submit(committer, "msg_" + std::to_string(i)));
  recorder.Release();
  for (auto& outcome : outcomes) EXPECT_TRUE(*outcome.get());
  std::lock_guard lock(recorder.mutex);
  EXPECT_EQ(recorder.group_sizes, (std::vector<size_t>{1, 4, 4, 1}));
}

TEST(GroupCommitterTest, ARedeliveryOfARecordedWebhookIsAnsweredWithoutRecording) {
  FakeRecorder recorder;
  GroupCommitter committer(1, 64, [&](auto group) { recorder.Record(group); });
  EXPECT_TRUE(*Submit(committer, "msg_1").get());
  auto again = Submit(committer, "msg_1");
  ASSERT_EQ(again.wait_for(0s), std::future_status::ready) << "answered at once, in Submit";
  EXPECT_FALSE(*again.get()) << "a duplicate";
  std::lock_guard lock(recorder.mutex);
  EXPECT_EQ(recorder.group_sizes.size(), 1u);
}

TEST(GroupCommitterTest, AFailedWebhookIsNotRememberedAndIsRecordedAgain) {
  FakeRecorder recorder;
  recorder.fail = true;
  GroupCommitter committer(1, 64, [&](auto group) { recorder.Record(group); });
  EXPECT_FALSE(Submit(committer, "msg_1").get().has_value());
  {
    std::lock_guard lock(recorder.mutex);
    recorder.fail = false;
  }
  EXPECT_TRUE(*Submit(committer, "msg_1").get()) << "the redelivery is recorded";
  std::lock_guard lock(recorder.mutex);
  EXPECT_EQ(recorder.group_sizes.size(), 2u);
}

TEST(GroupCommitterTest, WhileACommitIsStalledNewWebhooksAreAnsweredUnavailableAtOnce) {
  FakeRecorder recorder;
  recorder.hold = true;
  GroupCommitter committer(
      1, 64, [&](auto group) { recorder.Record(group); }, 50ms);
  auto first = Submit(committer, "msg_0");
  recorder.WaitForGroups(1);
  auto queued = Submit(committer, "msg_1");  // the commit is young: it waits for it
  EXPECT_EQ(queued.wait_for(0s), std::future_status::timeout);
  std::this_thread::sleep_for(80ms);
  auto refused = Submit(committer, "msg_2");
  ASSERT_EQ(refused.wait_for(0s), std::future_status::ready) << "answered in Submit";
  Result<bool> outcome = refused.get();
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code(), ErrorCode::kUnavailable);
  EXPECT_TRUE(outcome.error().retryable());
  EXPECT_NE(outcome.error().message().find("has not completed a commit"), std::string::npos);
  recorder.Release();
  EXPECT_TRUE(*first.get());
  EXPECT_TRUE(*queued.get());
  // Once commits complete again, webhooks are recorded, also the refused one's redelivery.
  EXPECT_TRUE(*Submit(committer, "msg_2").get());
}

TEST(GroupCommitterTest, StoppingRecordsWhatIsQueued) {
  FakeRecorder recorder;
  recorder.hold = true;
  std::vector<std::future<Result<bool>>> outcomes;
  {
    GroupCommitter committer(1, 64, [&](auto group) { recorder.Record(group); });
    outcomes.push_back(Submit(committer, "msg_0"));
    recorder.WaitForGroups(1);
    for (int i = 1; i <= 3; ++i) outcomes.push_back(Submit(committer, "msg_" + std::to_string(i)));
    recorder.Release();
  }  // destroyed with three queued
  for (auto& outcome : outcomes) EXPECT_TRUE(*outcome.get());
}

}  // namespace
}  // namespace lbmirror::store::sql
