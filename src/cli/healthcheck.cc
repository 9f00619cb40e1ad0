// `lbmirror healthcheck`: asks a running `serve` on this host whether it is alive (/healthz) or
// ready (/readyz), for a container's HEALTHCHECK or an exec probe, where no HTTP client is
// installed. It finds the port where serve does, in LBMIRROR_LISTEN.
#include <curl/curl.h>

#include <iostream>
#include <memory>

#include "cli/commands.h"
#include "core/text.h"
#include "http/server.h"

namespace lbmirror::cli {

namespace {
struct EasyDeleter {
  void operator()(CURL* curl) const { curl_easy_cleanup(curl); }
};

size_t Discard(char* /*data*/, size_t size, size_t count, void* /*user*/) { return size * count; }
}  // namespace

int RunHealthcheck(const std::string& listen, const std::string& path, int timeout_ms) {
  auto address = http::ParseListenAddress(listen);
  if (!address) {
    std::cerr << "lbmirror healthcheck: " << address.error().message() << "\n";
    return 2;
  }
  if (path.empty() || path.front() != '/') {
    std::cerr << "lbmirror healthcheck: the path must start with /\n";
    return 2;
  }
  // serve listening on every address (0.0.0.0, ::) answers on loopback.
  std::string host = address->first;
  if (host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  if (host.find(':') != std::string::npos) host = Cat("[", host, "]");
  std::string url = Cat("http://", host, ":", address->second, path);
  std::unique_ptr<CURL, EasyDeleter> curl(curl_easy_init());
  if (!curl) {
    std::cerr << "lbmirror healthcheck: curl_easy_init failed\n";
    return 1;
  }
  curl_easy_setopt(curl.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl.get(), CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
  curl_easy_setopt(curl.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl.get(), CURLOPT_PROTOCOLS_STR, "http");
  curl_easy_setopt(curl.get(), CURLOPT_WRITEFUNCTION, Discard);
  CURLcode code = curl_easy_perform(curl.get());
  if (code != CURLE_OK) {
    std::cerr << "lbmirror healthcheck: " << url << ": " << curl_easy_strerror(code) << "\n";
    return 1;
  }
  long status = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &status);
  if (status != 200) {
    std::cerr << "lbmirror healthcheck: " << url << " answered " << status << "\n";
    return 1;
  }
  return 0;
}

}  // namespace lbmirror::cli
