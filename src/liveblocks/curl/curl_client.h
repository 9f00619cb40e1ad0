// LiveblocksClient over libcurl. Each thread uses its own easy handle (kept for connection
// reuse); nothing is shared between threads but the immutable configuration.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <string>

#include "liveblocks/client.h"
#include "liveblocks/rest_budget.h"

namespace lbmirror::liveblocks::curl {

struct ClientOptions {
  std::string base_url = "https://api.liveblocks.io";
  std::string secret_key;  // never logged
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds total_timeout{30'000};
  int max_attempts = 4;  // per Get, including the first
  std::chrono::milliseconds backoff_base{200};
  std::chrono::milliseconds backoff_cap{5'000};
  size_t max_response_bytes = 64 << 20;
  // Waits between retries; returns false when the wait was interrupted (shutdown).
  std::function<bool(std::chrono::milliseconds)> sleep;
  // Every request sent (retries included) takes a token of this budget first; null: none.
  RestBudget* budget = nullptr;
};

// Counters readable from any thread.
class Client final : public LiveblocksClient {
 public:
  explicit Client(ClientOptions options);
  Result<RestResponse> Get(std::string_view path) override;
  Result<RestResponse> GetBackground(std::string_view path) override;
  const RestCounters& counters() const { return counters_; }
  void CountOutcome(const Result<RestResponse>& response);

  // curl_global_init; call once from main before threads.
  static void GlobalInit();

 private:
  Result<RestResponse> GetWithRetries(std::string_view path, Priority priority);
  Result<RestResponse> GetOnce(const std::string& url);

  ClientOptions options_;
  std::string authorization_;
  RestCounters counters_;
};

}  // namespace lbmirror::liveblocks::curl
