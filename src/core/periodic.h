// Periodic: runs a task now and then every interval on its own thread until Stop. Stop waits
// for a task in progress (make the task return early if it can take long). Start and Stop are
// called from one owning thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace lbmirror {
inline namespace core {

class Periodic {
 public:
  Periodic(int64_t interval_ms, std::function<void()> task)
      : interval_ms_(interval_ms), task_(std::move(task)) {}
  ~Periodic() { Stop(); }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  void Start() {
    thread_ = std::thread([this] {
      std::unique_lock lock(mutex_);
      while (!stopping_) {
        lock.unlock();
        task_();
        lock.lock();
        wake_.wait_for(lock, std::chrono::milliseconds(interval_ms_), [this] { return stopping_; });
      }
    });
  }
  void Stop() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  int64_t interval_ms_;
  std::function<void()> task_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace core
}  // namespace lbmirror
