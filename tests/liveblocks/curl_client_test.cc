#include "liveblocks/curl/curl_client.h"

#include <gtest/gtest.h>

#include <atomic>

#include "fakes/test_server.h"

namespace lbmirror::liveblocks::curl {
namespace {

ClientOptions Options(const std::string& url) {
  ClientOptions options;
  options.base_url = url + "/";
  options.secret_key = "sk_test_key";
  options.backoff_base = std::chrono::milliseconds(10);
  options.backoff_cap = std::chrono::milliseconds(2'000);
  options.max_attempts = 3;
  return options;
}

TEST(CurlClientTest, SendsTheBearerKeyAndReturnsTheBody) {
  std::string authorization, path;
  http::Router router;
  router.Add("GET", "/v2/rooms/my%20room", [&](const http::Request& request) {
    authorization = std::string(*request.SingleHeader("authorization"));
    path = request.path;
    return http::Response::Json(200, R"({"id":"my room"})");
  });
  http::TestServer server(std::move(router));
  Client client(Options(server.url()));
  auto response = client.Get(RoomPath("my room"));
  ASSERT_TRUE(response.has_value()) << response.error().message();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->body, R"({"id":"my room"})");
  EXPECT_EQ(authorization, "Bearer sk_test_key");
  EXPECT_EQ(path, "/v2/rooms/my%20room");
}

TEST(CurlClientTest, RetriesServerErrorsThenSucceeds) {
  std::atomic<int> calls{0};
  http::Router router;
  router.Add("GET", "/v2/rooms/r", [&](const http::Request&) {
    return ++calls < 3 ? http::Response::Error(502, "bad gateway")
                       : http::Response::Json(200, R"({"id":"r"})");
  });
  http::TestServer server(std::move(router));
  Client client(Options(server.url()));
  auto response = client.Get("/v2/rooms/r");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(calls.load(), 3);
  EXPECT_EQ(client.counters().retries.load(), 2);
}

TEST(CurlClientTest, HonoursRetryAfterOn429) {
  std::atomic<int> calls{0};
  http::Router router;
  router.Add("GET", "/v2/rooms/r", [&](const http::Request&) {
    if (++calls == 1) {
      http::Response busy = http::Response::Error(429, "slow down");
      busy.headers.emplace("retry-after", "1");
      return busy;
    }
    return http::Response::Json(200, "{}");
  });
  http::TestServer server(std::move(router));
  Client client(Options(server.url()));
  auto start = std::chrono::steady_clock::now();
  auto response = client.Get("/v2/rooms/r");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1'000));
}

TEST(CurlClientTest, DoesNotRetryClientErrorsOrNotImplemented) {
  for (int status : {404, 501}) {
    std::atomic<int> calls{0};
    http::Router router;
    router.Add("GET", "/v2/rooms/r", [&](const http::Request&) {
      ++calls;
      return http::Response::Error(status, "no");
    });
    http::TestServer server(std::move(router));
    Client client(Options(server.url()));
    auto response = client.Get("/v2/rooms/r");
    ASSERT_TRUE(response.has_value());
    EXPECT_EQ(response->status, status);
    EXPECT_EQ(calls.load(), 1) << status;
    // Final outcomes: "404" (index 1) or "5xx" (index 4), once.
    EXPECT_EQ(client.counters().by_outcome[status == 404 ? 1 : 4].load(), 1) << status;
  }
}

TEST(CurlClientTest, ANetworkFailureIsARetryableError) {
  std::string url;
  {
    http::TestServer server{http::Router{}};
    url = server.url();
  }  // the port is closed now
  Client client(Options(url));
  auto response = client.Get("/v2/rooms/r");
  ASSERT_FALSE(response.has_value());
  EXPECT_TRUE(response.error().retryable());
  EXPECT_EQ(response.error().message().find("sk_test_key"), std::string::npos);
  EXPECT_EQ(client.counters().requests.load(), 3);
}

TEST(CurlClientTest, AnInterruptedWaitEndsTheRetries) {
  std::atomic<int> calls{0};
  http::Router router;
  router.Add("GET", "/v2/rooms/r", [&](const http::Request&) {
    ++calls;
    return http::Response::Error(503, "unavailable");
  });
  http::TestServer server(std::move(router));
  ClientOptions options = Options(server.url());
  options.sleep = [](std::chrono::milliseconds) { return false; };
  Client client(options);
  auto response = client.Get("/v2/rooms/r");
  ASSERT_TRUE(response.has_value());
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(calls.load(), 1);
}

}  // namespace
}  // namespace lbmirror::liveblocks::curl
