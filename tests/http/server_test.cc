#include "http/server.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

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

// A connected socket that has sent one POST to `path`.
int PostOnNewConnection(const std::string& url, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(std::stoi(url.substr(url.rfind(':') + 1))));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  std::string request = "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
  EXPECT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  timeval wait{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  return fd;
}

std::string ReadAll(int fd) {
  std::string text;
  char buffer[4096];
  for (ssize_t n; (n = recv(fd, buffer, sizeof buffer, 0)) > 0;) {
    text.append(buffer, static_cast<size_t>(n));
    if (text.find("\r\n\r\n") != std::string::npos && text.find("done") != std::string::npos) break;
  }
  return text;
}

// An asynchronous route on /later whose requests wait until the test answers them.
class HeldRequests {
 public:
  Router MakeRouter() {
    Router router;
    router.AddAsync("POST", "/later", [this](const Request&, Responder respond) {
      std::lock_guard lock(mutex_);
      held_.push_back(std::move(respond));
    });
    return router;
  }
  // Waits (up to 5 s) until `count` requests are held.
  bool WaitFor(size_t count) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard lock(mutex_);
        if (held_.size() >= count) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }
  void Hold(Responder respond) {
    std::lock_guard lock(mutex_);
    held_.push_back(std::move(respond));
  }
  // Answers every held request, numbering the answers.
  void AnswerAll() {
    std::lock_guard lock(mutex_);
    for (size_t i = 0; i < held_.size(); ++i) {
      held_[i](Response::Json(200, R"({"done":)" + std::to_string(i) + "}"));
    }
  }

 private:
  std::mutex mutex_;
  std::vector<Responder> held_;
};

TEST_F(ServerTest, AsyncHandlersAnswerLaterWithoutHoldingAThread) {
  HeldRequests held;
  TestServer server(held.MakeRouter());  // 2 threads
  std::vector<int> sockets;
  for (int i = 0; i < 6; ++i) sockets.push_back(PostOnNewConnection(server.url(), "/later"));
  ASSERT_TRUE(held.WaitFor(6)) << "six requests wait on two threads";
  std::thread answerer([&] { held.AnswerAll(); });  // from a thread of its own
  answerer.join();
  for (int fd : sockets) {
    std::string reply = ReadAll(fd);
    EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
    EXPECT_NE(reply.find(R"({"done":)"), std::string::npos) << reply;
    close(fd);
  }
}

TEST_F(ServerTest, EachConnectionStaysOnOneThreadAndConnectionsTakeTheThreadsInTurn) {
  std::mutex mutex;
  std::map<std::string, std::set<std::thread::id>> threads;  // by connection
  Router router;
  router.Add("POST", "/who", [&](const Request& request) {
    std::lock_guard lock(mutex);
    threads[request.query].insert(std::this_thread::get_id());
    return Response::Json(200, "{}");
  });
  TestServer server(std::move(router));  // 2 threads
  CURL* second = curl_easy_init();
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(Send(curl_, server.url() + "/who?first", "POST", "{}").status, 200);
    EXPECT_EQ(Send(second, server.url() + "/who?second", "POST", "{}").status, 200);
  }
  curl_easy_cleanup(second);
  ASSERT_EQ(threads["first"].size(), 1u);
  ASSERT_EQ(threads["second"].size(), 1u);
  EXPECT_NE(*threads["first"].begin(), *threads["second"].begin());
}

TEST_F(ServerTest, StoppingWaitsForAnAsyncAnswerAndSendsIt) {
  HeldRequests held;  // outlives the server: a responder may
  TestServer server(held.MakeRouter());
  int fd = PostOnNewConnection(server.url(), "/later");
  ASSERT_TRUE(held.WaitFor(1));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    server.Stop();
    stopped = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(stopped.load()) << "the server waits for the answer in flight";
  held.AnswerAll();
  std::string reply = ReadAll(fd);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200", 0), 0u) << reply;
  stopper.join();
  EXPECT_TRUE(stopped.load());
  close(fd);
}

// A raw TCP connection to the test server that sends nothing until asked.
int ConnectIdle(const TestServer& server) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port =
      htons(static_cast<uint16_t>(std::stoi(server.url().substr(server.url().rfind(':') + 1))));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  timeval wait{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait);
  return fd;
}

TEST_F(ServerTest, ClosesAConnectionThatSendsNothing) {
  ServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(200);
  TestServer server(MakeRouter(), options);
  int fd = ConnectIdle(server);
  auto start = std::chrono::steady_clock::now();
  char byte;
  EXPECT_EQ(recv(fd, &byte, 1, 0), 0) << "the server closes the idle connection";
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  close(fd);
}

TEST_F(ServerTest, PastMaxConnectionsTheLongestIdleConnectionIsClosed) {
  ServerOptions options;
  options.max_connections = 3;
  TestServer server(MakeRouter(), options);
  std::vector<int> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(ConnectIdle(server));
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // distinct idle times
  }
  // A fourth connection is served; the oldest idle one is closed to make room.
  Reply reply = Send(curl_, server.url() + "/hook", "POST", "x");
  EXPECT_EQ(reply.status, 200);
  char byte;
  EXPECT_EQ(recv(idle[0], &byte, 1, 0), 0) << "the longest idle connection is closed";
  // The others are still open: a request on one is answered.
  const char request[] = "POST /hook HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  ASSERT_EQ(send(idle[2], request, sizeof request - 1, 0),
            static_cast<ssize_t>(sizeof request - 1));
  char answer[64] = {};
  ASSERT_GT(recv(idle[2], answer, sizeof answer - 1, 0), 0);
  EXPECT_EQ(std::string(answer).substr(0, 12), "HTTP/1.1 200");
  for (int fd : idle) close(fd);
}

TEST_F(ServerTest, PastMaxConnectionsWithNoneIdleANewConnectionsRequestIsAnswered503) {
  HeldRequests held;
  ServerOptions options;
  options.max_connections = 2;
  TestServer server(held.MakeRouter(), options);
  std::vector<int> busy;
  for (int i = 0; i < 2; ++i) busy.push_back(PostOnNewConnection(server.url(), "/later"));
  ASSERT_TRUE(held.WaitFor(2)) << "both connections are busy";
  int third = PostOnNewConnection(server.url(), "/later");
  std::string reply = ReadAll(third);
  EXPECT_EQ(reply.rfind("HTTP/1.1 503", 0), 0u) << "an answer, not a reset: " << reply;
  EXPECT_NE(reply.find("Retry-After: 1"), std::string::npos) << reply;
  close(third);
  held.AnswerAll();
  for (int fd : busy) {
    EXPECT_EQ(ReadAll(fd).rfind("HTTP/1.1 200", 0), 0u);
    close(fd);
  }
}

TEST_F(ServerTest, AnAnswerNotGivenByTheDeadlineIsA503AndTheLateOneIsDropped) {
  HeldRequests held;
  Router router = held.MakeRouter();
  router.AddAsync(
      "POST", "/custom",
      [&held](const Request& request, Responder respond) {
        held.Hold(std::move(respond));
        (void)request;
      },
      [](const Request& request) {
        return Response::Json(503, "{\"late\":\"" + request.path + "\"}");
      });
  ServerOptions options;
  options.answer_timeout = std::chrono::milliseconds(200);
  TestServer server(std::move(router), options);
  auto start = std::chrono::steady_clock::now();
  Reply reply = Send(curl_, server.url() + "/later", "POST", "{}");
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(reply.status, 503);
  EXPECT_NE(reply.headers.find("Retry-After: 5"), std::string::npos) << reply.headers;
  EXPECT_LT(took, std::chrono::seconds(3));
  EXPECT_EQ(Send(curl_, server.url() + "/custom", "POST", "{}").body, R"({"late":"/custom"})")
      << "a route's own answer at the deadline";
  // The late answers go nowhere, and the connection serves the next request.
  held.AnswerAll();
  EXPECT_EQ(Send(curl_, server.url() + "/custom", "POST", "{}").status, 503);
  EXPECT_EQ(reply.new_connections, 1);
}

TEST_F(ServerTest, ABlockingHandlerHoldsNoneOfTheServersThreads) {
  std::atomic<bool> release{false};
  Router router;
  router.AddBlocking(
      "GET", "/slow",
      [&release](const Request&) {
        while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        return Response::Json(200, R"({"slow":true})");
      },
      std::chrono::milliseconds(300));
  router.Add("GET", "/fast", [](const Request&) { return Response::Json(200, "{}"); });
  ServerOptions options;
  TestServer server(std::move(router), options);  // 2 threads
  // Four requests wait on the blocking handler, more than the server has threads.
  std::vector<std::thread> slow;
  std::vector<long> statuses(4);
  for (int i = 0; i < 4; ++i) {
    slow.emplace_back([&, i] {
      CURL* curl = curl_easy_init();
      statuses[static_cast<size_t>(i)] = Send(curl, server.url() + "/slow", "GET").status;
      curl_easy_cleanup(curl);
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(Send(curl_, server.url() + "/fast", "GET").status, 200) << "served meanwhile";
  for (std::thread& thread : slow) thread.join();
  for (long status : statuses) EXPECT_EQ(status, 503) << "answered at the route's deadline";
  release = true;
}

TEST_F(ServerTest, AHandlerThatThrowsCostsItsRequestA500AndNothingElse) {
  Router router = MakeRouter();
  router.Add("GET", "/throws", [](const Request&) -> Response { throw std::runtime_error("bug"); });
  router.AddBlocking("GET", "/blocking-throws",
                     [](const Request&) -> Response { throw std::runtime_error("bug"); });
  router.AddAsync(
      "GET", "/late-throws", [](const Request&, Responder) {},
      [](const Request&) -> Response { throw std::runtime_error("bug"); },
      std::chrono::milliseconds(50));
  TestServer server(std::move(router));
  EXPECT_EQ(Send(curl_, server.url() + "/throws", "GET").status, 500);
  EXPECT_EQ(Send(curl_, server.url() + "/blocking-throws", "GET").status, 500)
      << "on the blocking pool's thread too";
  EXPECT_EQ(Send(curl_, server.url() + "/late-throws", "GET").status, 503)
      << "a throwing timeout answer falls back to the plain 503";
  EXPECT_EQ(Send(curl_, server.url() + "/hook", "POST", "x").status, 200) << "the server lives on";
}

TEST(ListenAddressTest, ParsesHostAndPort) {
  EXPECT_EQ(*ParseListenAddress("0.0.0.0:8080"),
            std::make_pair(std::string("0.0.0.0"), uint16_t{8080}));
  EXPECT_EQ(ParseListenAddress("[::1]:9000")->first, "::1");
  EXPECT_EQ(ParseListenAddress(":81")->first, "0.0.0.0");
  EXPECT_FALSE(ParseListenAddress("localhost").has_value());
  EXPECT_FALSE(ParseListenAddress("h:70000").has_value());
  EXPECT_FALSE(ParseListenAddress("h:8x").has_value());
}

}  // namespace
}  // namespace lbmirror::http
