// HTTP/1.1 server (Boost.Beast on Asio, C++20 coroutines) that routes requests to plain
// handler functions. Keep-alive, header and body size limits, per-phase timeouts, and a
// graceful stop: stop accepting, close idle connections, let requests in flight finish.
// Handlers run on the server's threads: a Handler answers at once and should not block; an
// AsyncHandler answers later, from any thread (for example after a database commit), and
// the connection waits without holding a thread. Beast and Asio stay inside this layer's
// .cc files.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "http/message.h"

namespace lbmirror::http {

using Handler = std::function<Response(const Request&)>;
// The request stays valid until `respond` has been called.
using AsyncHandler = std::function<void(const Request&, Responder respond)>;

// Answers a request whose handler did not answer in time (ServerOptions::answer_timeout).
using TimeoutAnswer = std::function<Response(const Request&)>;

// Threads for handlers that block (on a database, say), so that the server's threads never
// wait: at most `queue` requests wait for one of `threads`, further ones are answered 503 at
// once. A handler stuck past the answer deadline keeps its thread; the server answers for it.
class BlockingPool;

// Exact-path routing; a known path with another method answers 405 with an Allow header,
// an unknown path 404.
class Router {
 public:
  Router();
  ~Router();
  Router(Router&&) noexcept;
  Router& operator=(Router&&) noexcept;

  void Add(std::string method, std::string path, Handler handler);
  // `on_timeout`: the answer when the handler has not answered within the deadline (503 with
  // Retry-After when unset); `timeout` overrides the server's deadline for this route.
  void AddAsync(std::string method, std::string path, AsyncHandler handler,
                TimeoutAnswer on_timeout = {},
                std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // A handler that may block, run on the router's blocking pool (2 threads, 32 waiting).
  void AddBlocking(std::string method, std::string path, Handler handler,
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // Calls `respond` with the answer (at once, unless the route's handler is asynchronous).
  void Route(const Request& request, Responder respond) const;
  // The deadline of the request's route (0: the server's) and the answer when it passes.
  std::chrono::milliseconds Timeout(const Request& request) const;
  Response TimedOut(const Request& request) const;

 private:
  struct RouteEntry {
    std::string method;
    std::string path;
    AsyncHandler handler;
    TimeoutAnswer on_timeout;
    std::chrono::milliseconds timeout{0};
  };
  const RouteEntry* Find(const Request& request) const;

  std::vector<RouteEntry> routes_;
  std::shared_ptr<BlockingPool> blocking_;
};

struct ServerOptions {
  std::string host = "0.0.0.0";
  uint16_t port = 8080;                              // 0 binds a free port (tests)
  size_t max_body_bytes = 1 << 20;                   // larger bodies get 413
  size_t max_header_bytes = 16 * 1024;               // larger headers get 431
  std::chrono::milliseconds idle_timeout{60'000};    // keep-alive wait for the next request
  std::chrono::milliseconds header_timeout{10'000};  // from first byte to end of headers
  std::chrono::milliseconds body_timeout{30'000};    // to receive the body
  int threads = 4;
  // Open connections at most; a new one past it closes the longest-idle connection, or, when
  // none is idle, has its request read and answered 503 with Retry-After (up to a quarter of
  // this many at once; beyond, it is closed). Keep it well under the descriptor limit.
  size_t max_connections = 512;
  // A request whose handler has not answered within this is answered for it (503 with
  // Retry-After, or its route's answer); a late answer is dropped. 0: no deadline.
  std::chrono::milliseconds answer_timeout{0};
  bool handle_signals = false;  // stop gracefully on SIGINT/SIGTERM
};

// Parses "host:port" ("0.0.0.0:8080", "[::1]:9000", ":8080").
Result<std::pair<std::string, uint16_t>> ParseListenAddress(const std::string& text);

class HttpServer {
 public:
  HttpServer(ServerOptions options, Router router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and listens. Errors: address in use, bad address, permission.
  Status Listen();
  // The bound port (after Listen).
  uint16_t port() const;
  // Serves on `threads` threads until Stop() (or a signal) and every connection has closed.
  void Run();
  // Thread-safe and idempotent. Returns at once; Run() returns when draining is done.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace lbmirror::http
