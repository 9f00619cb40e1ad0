#include "forward/curl_post.h"

#include <curl/curl.h>

#include <memory>

#include "core/text.h"

namespace lbmirror::forward {

namespace {
struct EasyDeleter {
  void operator()(CURL* handle) const { curl_easy_cleanup(handle); }
};

size_t Drop(char* /*data*/, size_t size, size_t count, void* /*user*/) { return size * count; }
}  // namespace

Result<int> CurlPost(const std::string& url, const Headers& headers, const std::string& body) {
  thread_local std::unique_ptr<CURL, EasyDeleter> handle(curl_easy_init());
  CURL* curl = handle.get();
  if (curl == nullptr) return Internal("curl_easy_init failed");
  curl_easy_reset(curl);
  curl_slist* list = nullptr;
  for (const auto& [name, value] : headers)
    list = curl_slist_append(list, Cat(name, ": ", value).c_str());
  list = curl_slist_append(list, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Drop);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5'000L);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10'000L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "lbmirror/0.1");
  CURLcode code = curl_easy_perform(curl);
  curl_slist_free_all(list);
  if (code != CURLE_OK) return Unavailable(Cat("POST failed: ", curl_easy_strerror(code)));
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  return static_cast<int>(status);
}

}  // namespace lbmirror::forward
