// A scripted LiveblocksClient: answers per path, can fail the next N calls, counts calls.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>

#include "liveblocks/client.h"

namespace lbmirror::liveblocks {

class FakeLiveblocksClient final : public LiveblocksClient {
 public:
  Result<RestResponse> Get(std::string_view path) override {
    std::unique_lock lock(mutex_);
    ++calls_[std::string(path)];
    held_.wait(lock, [&] { return !holding_; });
    if (failures_left_ > 0) {
      --failures_left_;
      return failure_status_ == 0 ? Result<RestResponse>(Unavailable("connection refused"))
                                  : RestResponse{failure_status_, R"({"error":"boom"})", {}};
    }
    auto it = responses_.find(std::string(path));
    if (it == responses_.end()) return RestResponse{404, R"({"error":"ROOM_NOT_FOUND"})", {}};
    return it->second;
  }
  void Set(const std::string& path, int status, const std::string& body, bool dummy = false) {
    std::lock_guard lock(mutex_);
    responses_[path] = RestResponse{status, body, {}, dummy};
  }
  // The next `count` calls fail with `status` (0 = a network error).
  void FailNext(int count, int status) {
    std::lock_guard lock(mutex_);
    failures_left_ = count;
    failure_status_ = status;
  }
  // While held, every Get waits (a slow read) until Resume.
  void Hold() {
    std::lock_guard lock(mutex_);
    holding_ = true;
  }
  void Resume() {
    {
      std::lock_guard lock(mutex_);
      holding_ = false;
    }
    held_.notify_all();
  }
  int Calls(const std::string& path) {
    std::lock_guard lock(mutex_);
    return calls_[path];
  }

 private:
  std::mutex mutex_;
  std::condition_variable held_;
  bool holding_ = false;
  std::map<std::string, RestResponse> responses_;
  std::map<std::string, int> calls_;
  int failures_left_ = 0;
  int failure_status_ = 0;
};

}  // namespace lbmirror::liveblocks
