#include "liveblocks/curl/curl_client.h"

#include <curl/curl.h>

#include <random>
#include <thread>

#include "core/log.h"
#include "core/text.h"

namespace lbmirror::liveblocks::curl {

namespace {
struct EasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

// One easy handle per thread, kept so connections are reused across calls.
CURL* ThreadEasyHandle() {
  thread_local std::unique_ptr<CURL, EasyDeleter> handle(curl_easy_init());
  return handle.get();
}

struct Transfer {
  std::string body;
  size_t limit;
  bool too_large = false;
  std::optional<int64_t> retry_after_ms;
  bool dummy = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  if (transfer->body.size() + bytes > transfer->limit) {
    transfer->too_large = true;
    return 0;  // aborts the transfer
  }
  transfer->body.append(data, bytes);
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  // The body is kept in one string: sized once from Content-Length (when within the limit)
  // instead of growing by doubling, which would copy a large document several times.
  if (line.size() > 15 && ToLower(line.substr(0, 15)) == "content-length:") {
    std::string value(Trim(line.substr(15)));
    if (!value.empty() && value.size() < 12 &&
        value.find_first_not_of("0123456789") == std::string::npos && value.size() < 19) {
      size_t length = std::stoull(value);
      if (length <= transfer->limit) transfer->body.reserve(length);
    }
  }
  // The dev server answers some routes with fixed stand-in data, and says so.
  if (line.size() > 10 && ToLower(line.substr(0, 10)) == "x-lb-warn:" &&
      ToLower(line.substr(10)).find("dummy") != std::string::npos) {
    transfer->dummy = true;
  }
  if (line.size() > 12 && ToLower(line.substr(0, 12)) == "retry-after:") {
    std::string value(Trim(line.substr(12)));
    if (!value.empty() && value.find_first_not_of("0123456789") == std::string::npos &&
        value.size() < 7) {
      transfer->retry_after_ms = std::stoll(value) * 1000;
    }
  }
  return size * count;
}

// 501 Not Implemented is an answer, not a passing failure.
bool IsRetryableStatus(int status) { return status == 429 || (status >= 500 && status != 501); }
}  // namespace

void Client::GlobalInit() { curl_global_init(CURL_GLOBAL_DEFAULT); }

Client::Client(ClientOptions options)
    : options_(std::move(options)), authorization_("Authorization: Bearer " + options_.secret_key) {
  while (!options_.base_url.empty() && options_.base_url.back() == '/')
    options_.base_url.pop_back();
  if (!options_.sleep) {
    options_.sleep = [](std::chrono::milliseconds d) {
      std::this_thread::sleep_for(d);
      return true;
    };
  }
}

Result<RestResponse> Client::GetOnce(const std::string& url) {
  CURL* curl = ThreadEasyHandle();
  if (curl == nullptr) return Internal("curl_easy_init failed");
  curl_easy_reset(curl);
  Transfer transfer{{}, options_.max_response_bytes, false, std::nullopt};
  curl_slist* headers = curl_slist_append(nullptr, authorization_.c_str());
  headers = curl_slist_append(headers, "Accept: application/json");
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, long(options_.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, long(options_.total_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "lbmirror/0.1");
  counters_.requests.fetch_add(1, std::memory_order_relaxed);
  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (transfer.too_large) {
    return Error(ErrorCode::kTooLarge,
                 Cat("response larger than ", options_.max_response_bytes, " bytes"));
  }
  if (code != CURLE_OK) {
    // Network-level failure; curl's message names the host, never the Authorization header.
    return Unavailable(Cat("request failed: ", curl_easy_strerror(code)), code);
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  return RestResponse{static_cast<int>(status), std::move(transfer.body), transfer.retry_after_ms,
                      transfer.dummy};
}

Result<RestResponse> Client::Get(std::string_view path) {
  return GetWithRetries(path, Priority::kForeground);
}

Result<RestResponse> Client::GetBackground(std::string_view path) {
  return GetWithRetries(path, Priority::kBackground);
}

Result<RestResponse> Client::GetWithRetries(std::string_view path, Priority priority) {
  static thread_local std::minstd_rand random(std::random_device{}());
  std::string url = options_.base_url + std::string(path);
  for (int attempt = 1;; ++attempt) {
    if (options_.budget != nullptr && !options_.budget->Acquire(priority, options_.sleep)) {
      return Unavailable("stopped while waiting for the REST budget");
    }
    Result<RestResponse> response = GetOnce(url);
    if (options_.budget != nullptr && response && response->status == 429) {
      options_.budget->HoldBackground(response->retry_after_ms.value_or(1'000));
    }
    bool retry = response ? IsRetryableStatus(response->status) : response.error().retryable();
    if (!retry || attempt >= options_.max_attempts) {
      if (!response) counters_.failures.fetch_add(1, std::memory_order_relaxed);
      CountOutcome(response);
      return response;
    }
    // Full jitter: a random wait up to the exponential bound; Retry-After raises the floor.
    int64_t bound = std::min<int64_t>(options_.backoff_cap.count(), options_.backoff_base.count()
                                                                        << (attempt - 1));
    int64_t wait = std::uniform_int_distribution<int64_t>(bound / 2, bound)(random);
    if (response && response->retry_after_ms) {
      if (*response->retry_after_ms > options_.backoff_cap.count()) {
        CountOutcome(response);
        return response;
      }
      wait = std::max(wait, *response->retry_after_ms);
    }
    counters_.retries.fetch_add(1, std::memory_order_relaxed);
    log::Debug(Cat("GET ", path, " attempt ", attempt, " failed (",
                   response ? Cat("HTTP ", response->status) : response.error().message(),
                   "), retrying in ", wait, " ms"));
    if (!options_.sleep(std::chrono::milliseconds(wait))) {
      CountOutcome(response);
      return response;
    }
  }
}

void Client::CountOutcome(const Result<RestResponse>& response) {
  size_t outcome = !response                 ? 5
                   : response->status == 200 ? 0
                   : response->status == 404 ? 1
                   : response->status == 429 ? 2
                   : response->status >= 500 ? 4
                                             : 3;
  counters_.by_outcome[outcome].fetch_add(1, std::memory_order_relaxed);
}
}  // namespace lbmirror::liveblocks::curl
