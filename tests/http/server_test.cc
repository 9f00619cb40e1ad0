#include "http/server.h"

#include <curl/curl.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>

#include "core/text.h"
#include "fakes/test_server.h"

namespace lbmirror::http {
namespace {

size_t Collect(char* data, size_t size, size_t count, void* user) {
  static_cast<std::string*>(user)->append(data, size * count);
  return size * count;
}

struct Reply {
  long status = 0;
  std::string body;
  std::string headers;
  long new_connections = 0;
};

// One request on `curl` (reused between calls for keep-alive).
Reply Send(CURL* curl, const std::string& url, const char* method, const std::string& body = "") {
  Reply reply;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  if (std::string(method) == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, long(body.size()));
  } else {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &reply.headers);
  EXPECT_EQ(curl_easy_perform(curl), CURLE_OK);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  curl_easy_getinfo(curl, CURLINFO_NUM_CONNECTS, &reply.new_connections);
  return reply;
}

class ServerTest : public ::testing::Test {
 protected:
  ServerTest() : curl_(curl_easy_init()) {}
  ~ServerTest() override { curl_easy_cleanup(curl_); }

  Router MakeRouter() {
    Router router;
    router.Add("POST", "/hook", [this](const Request& request) {
      ++calls_;
      last_body_ = request.body;
      last_query_ = request.query;
      return Response::Json(200, R"({"ok":true})");
    });
    return router;
  }

  CURL* curl_;
  std::atomic<int> calls_{0};
  std::string last_body_, last_query_;
};

TEST_F(ServerTest, RoutesByPathAndMethod) {
  TestServer server(MakeRouter());
  Reply ok = Send(curl_, server.url() + "/hook?x=1", "POST", R"({"a":1})");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, R"({"ok":true})");
  EXPECT_EQ(last_body_, R"({"a":1})");
  EXPECT_EQ(last_query_, "x=1");
  Reply wrong_method = Send(curl_, server.url() + "/hook", "GET");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_NE(ToLower(wrong_method.headers).find("allow: post"), std::string::npos);
  EXPECT_EQ(Send(curl_, server.url() + "/other", "POST", "{}").status, 404);
}

TEST_F(ServerTest, KeepsConnectionsAlive) {
  TestServer server(MakeRouter());
  EXPECT_EQ(Send(curl_, server.url() + "/hook", "POST", "{}").new_connections, 1);
  Reply second = Send(curl_, server.url() + "/hook", "POST", "{}");
  EXPECT_EQ(second.status, 200);
  EXPECT_EQ(second.new_connections, 0);
}

TEST_F(ServerTest, RejectsOversizedBodiesWith413WithoutCallingTheHandler) {
  ServerOptions options;
  options.max_body_bytes = 1024;
  TestServer server(MakeRouter(), options);
  Reply reply = Send(curl_, server.url() + "/hook", "POST", std::string(4096, 'x'));
  EXPECT_EQ(reply.status, 413);
  EXPECT_EQ(calls_.load(), 0);
  EXPECT_EQ(Send(curl_, server.url() + "/hook", "POST", std::string(1024, 'x')).status, 200);
}

TEST_F(ServerTest, StopsWithIdleKeepAliveConnectionsOpen) {
  TestServer server(MakeRouter());
  ASSERT_EQ(Send(curl_, server.url() + "/hook", "POST", "{}").status, 200);
  // curl_ keeps its connection open; Stop must not wait for the idle timeout.
  auto start = std::chrono::steady_clock::now();
  server.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(ServerTest, ClosesAConnectionThatSendsNothing) {
  ServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(200);
  TestServer server(MakeRouter(), options);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(std::stoi(server.url().substr(server.url().rfind(':') + 1))));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  timeval wait{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  auto start = std::chrono::steady_clock::now();
  char byte;
  EXPECT_EQ(recv(fd, &byte, 1, 0), 0) << "the server closes the idle connection";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  close(fd);
}

TEST(ListenAddressTest, ParsesHostAndPort) {
  EXPECT_EQ(*ParseListenAddress("0.0.0.0:8080"), std::make_pair(std::string("0.0.0.0"), uint16_t{8080}));
  EXPECT_EQ(ParseListenAddress("[::1]:9000")->first, "::1");
  EXPECT_EQ(ParseListenAddress(":81")->first, "0.0.0.0");
  EXPECT_FALSE(ParseListenAddress("localhost").has_value());
  EXPECT_FALSE(ParseListenAddress("h:70000").has_value());
  EXPECT_FALSE(ParseListenAddress("h:8x").has_value());
}

}  // namespace
}  // namespace lbmirror::http
