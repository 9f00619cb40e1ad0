#include "http/server.h"

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/beast.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>

#include "core/log.h"
#include "core/text.h"
#include "core/thread_name.h"

namespace lbmirror::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::experimental::as_tuple(asio::use_awaitable);

class BlockingPool {
 public:
  BlockingPool(int threads, size_t max_waiting) : max_waiting_(max_waiting) {
    for (int i = 0; i < threads; ++i) {
      threads_.emplace_back([this, i] {
        NameThisThread(Cat("lbm-blocking-", i));
        Loop();
      });
    }
  }
  ~BlockingPool() {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& thread : threads_) thread.join();
  }
  // False, with `task` not run, when as many tasks wait already.
  bool Post(std::function<void()> task) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_ || waiting_.size() >= max_waiting_) return false;
      waiting_.push_back(std::move(task));
    }
    wake_.notify_one();
    return true;
  }

 private:
  void Loop() {
    std::unique_lock lock(mutex_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
      if (stopping_) return;  // tasks still waiting were answered at their deadline
      std::function<void()> task = std::move(waiting_.front());
      waiting_.pop_front();
      lock.unlock();
      task();
      lock.lock();
    }
  }

  const size_t max_waiting_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> waiting_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

Router::Router() = default;
Router::~Router() = default;
Router::Router(Router&&) noexcept = default;
Router& Router::operator=(Router&&) noexcept = default;

void Router::Add(std::string method, std::string path, Handler handler) {
  AddAsync(std::move(method), std::move(path),
           [handler = std::move(handler)](const Request& request, const Responder& respond) {
             respond(handler(request));
           });
}

void Router::AddAsync(std::string method, std::string path, AsyncHandler handler,
                      TimeoutAnswer on_timeout, std::chrono::milliseconds timeout) {
  routes_.push_back(
      {std::move(method), std::move(path), std::move(handler), std::move(on_timeout), timeout});
}

void Router::AddBlocking(std::string method, std::string path, Handler handler,
                         std::chrono::milliseconds timeout) {
  if (!blocking_) blocking_ = std::make_shared<BlockingPool>(2, 32);
  auto shared = std::make_shared<Handler>(std::move(handler));
  AddAsync(
      std::move(method), std::move(path),
      [pool = blocking_.get(), shared](const Request& request, const Responder& respond) {
        // A copy: the server may answer at the deadline and drop the request meanwhile.
        bool queued = pool->Post([shared, request, respond] {
          // As Route() does for the server's threads: a throwing handler costs its request a
          // 500, never the process (an exception must not leave the pool's thread).
          try {
            respond((*shared)(request));
          } catch (const std::exception& e) {
            log::Error(
                Cat("handler of ", request.method, " ", request.path, " failed: ", e.what()));
            respond(Response::Error(500, "internal error"));
          }
        });
        if (!queued) {
          Response busy = Response::Error(503, "busy: too many requests wait; retry");
          busy.headers.emplace("Retry-After", "1");
          respond(std::move(busy));
        }
      },
      {}, timeout);
}

const Router::RouteEntry* Router::Find(const Request& request) const {
  for (const RouteEntry& route : routes_) {
    if (route.path == request.path && route.method == request.method) return &route;
  }
  return nullptr;
}

std::chrono::milliseconds Router::Timeout(const Request& request) const {
  const RouteEntry* route = Find(request);
  return route != nullptr ? route->timeout : std::chrono::milliseconds(0);
}

Response Router::TimedOut(const Request& request) const {
  const RouteEntry* route = Find(request);
  if (route != nullptr && route->on_timeout) {
    try {  // called on the server's thread, from its timer: nothing may escape
      return route->on_timeout(request);
    } catch (const std::exception& e) {
      log::Error(
          Cat("timeout answer of ", request.method, " ", request.path, " failed: ", e.what()));
    }
  }
  Response response = Response::Error(503, "not answered in time; retry");
  response.headers.emplace("Retry-After", "5");
  return response;
}

void Router::Route(const Request& request, Responder respond) const {
  std::string allow;
  for (const RouteEntry& route : routes_) {
    if (route.path != request.path) continue;
    if (route.method == request.method) {
      // Handlers answer errors as responses; a bug that throws costs this request a 500, not
      // the process (an exception must not cross the connection's coroutine).
      struct Pending {
        Responder respond;
        std::atomic<bool> answered{false};
      };
      auto pending = std::make_shared<Pending>();
      pending->respond = std::move(respond);
      try {
        return route.handler(request, [pending](Response response) {
          if (!pending->answered.exchange(true)) pending->respond(std::move(response));
        });
      } catch (const std::exception& e) {
        log::Error(Cat("handler of ", request.method, " ", request.path, " failed: ", e.what()));
        if (!pending->answered.exchange(true))
          pending->respond(Response::Error(500, "internal error"));
        return;
      }
    }
    if (!allow.empty()) allow += ", ";
    allow += route.method;
  }
  if (allow.empty()) return respond(Response::Error(404, "not found"));
  Response response = Response::Error(405, "method not allowed");
  response.headers.emplace("Allow", allow);
  respond(std::move(response));
}

Result<std::pair<std::string, uint16_t>> ParseListenAddress(const std::string& text) {
  size_t colon = text.rfind(':');
  if (colon == std::string::npos)
    return InvalidArgument(Cat("listen address \"", text, "\" has no :port"));
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  std::string port_text = text.substr(colon + 1);
  int port = 0;
  try {
    size_t used = 0;
    port = std::stoi(port_text, &used);
    if (used != port_text.size()) port = -1;
  } catch (const std::exception&) {
    port = -1;
  }
  if (port < 0 || port > 65535)
    return InvalidArgument(Cat("listen address \"", text, "\" has a bad port"));
  return std::make_pair(host, static_cast<uint16_t>(port));
}

namespace {
// Per-connection state shared with Stop() and the accept loop. `idle_since` (steady clock
// ticks; 0 while a request is being served) is written on the connection's thread and read
// by the others.
struct Connection {
  asio::io_context& ioc;  // the one of the thread serving it
  beast::tcp_stream stream;
  std::atomic<int64_t> idle_since{0};
  Connection(asio::io_context& context, tcp::socket socket)
      : ioc(context), stream(std::move(socket)) {}
  bool idle() const { return idle_since.load(std::memory_order_relaxed) != 0; }
  void SetIdle(bool idle) {
    idle_since.store(
        idle ? std::max<int64_t>(1, std::chrono::steady_clock::now().time_since_epoch().count())
             : 0,
        std::memory_order_relaxed);
  }
};

bool OutOfDescriptors(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors ||
         ec == beast::error_code(ENFILE, beast::system_category());
}
}  // namespace

// One io_context per thread, each connection served by one of them from start to end: no
// strands, and no hand-over of ready work between threads (each costs a wake-up).
struct HttpServer::Impl {
  using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;
  ServerOptions options;
  Router router;
  std::vector<std::unique_ptr<asio::io_context>> iocs;
  std::vector<WorkGuard> running;  // keeps idle threads serving until Stop()
  tcp::acceptor acceptor;
  asio::signal_set signals;
  std::atomic<bool> stopping{false};
  std::mutex mutex;
  std::unordered_set<std::shared_ptr<Connection>> connections;
  size_t next_ioc = 0;

  Impl(ServerOptions o, Router r)
      : options(std::move(o)),
        router(std::move(r)),
        iocs(MakeContexts(std::max(1, options.threads))),
        acceptor(*iocs[0]),
        signals(*iocs[0]) {}

  static std::vector<std::unique_ptr<asio::io_context>> MakeContexts(int count) {
    std::vector<std::unique_ptr<asio::io_context>> contexts;
    contexts.reserve(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i) contexts.push_back(std::make_unique<asio::io_context>(1));
    return contexts;
  }

  asio::awaitable<void> Accept();
  // Closes the connection idle the longest; false when none is idle. REQUIRES: mutex held.
  bool CloseLongestIdle();
  asio::awaitable<void> Serve(std::shared_ptr<Connection> connection);
  asio::awaitable<bool> WriteResponse(Connection& connection, const Response& response,
                                      unsigned version, bool keep_alive);
  asio::awaitable<void> RejectAndDrain(Connection& connection, const Response& response);
  // A connection past the cap: its request is read and answered 503, then it is closed.
  asio::awaitable<void> Refuse(std::shared_ptr<Connection> connection);
  std::atomic<size_t> refusing{0};
  void StopNow();
};

namespace {
// Routes the request and resumes the awaiting coroutine on its connection's thread once the
// handler has answered, possibly on another thread, or once `deadline` (when not 0) has passed
// with the route's timeout answer; whichever comes second is dropped. The answer is posted to
// the connection's io_context together with a work guard, which keeps a stopping server
// running until the answer is sent. A responder keeps nothing once it has been called, so it
// may outlive the server.
auto AwaitRoute(asio::io_context& ioc, const Router& router, const Request& request,
                std::chrono::milliseconds deadline) {
  return asio::async_initiate<decltype(asio::use_awaitable), void(Response)>(
      [&ioc, &router, &request, deadline](auto handler) {
        using Handler = decltype(handler);
        // Shared with the responder, which may outlive the server: nothing in it belongs to
        // the io_context once answered (the work guard is given up then).
        struct Waiting {
          std::optional<Handler> resume;
          std::atomic<bool> answered{false};
          std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
          std::weak_ptr<asio::steady_timer> timer;
        };
        auto waiting = std::make_shared<Waiting>();
        waiting->resume.emplace(std::move(handler));
        waiting->work.emplace(asio::make_work_guard(ioc));
        if (deadline.count() > 0) {
          // Owned by its own wait, so it ends on the connection's thread.
          auto timer = std::make_shared<asio::steady_timer>(ioc, deadline);
          waiting->timer = timer;
          // The coroutine waits until resumed, so `request` is still there.
          timer->async_wait([timer, waiting, &router, &request](const beast::error_code& ec) {
            if (ec || waiting->answered.exchange(true)) return;
            Handler resume = std::move(*waiting->resume);
            waiting->resume.reset();
            resume(router.TimedOut(request));
            waiting->work.reset();
          });
        }
        router.Route(request, [waiting](Response response) {
          if (waiting->answered.exchange(true)) return;  // answered at the deadline
          asio::post(waiting->work->get_executor(),
                     [waiting, response = std::move(response)]() mutable {
                       if (auto timer = waiting->timer.lock()) timer->cancel();
                       Handler resume = std::move(*waiting->resume);
                       waiting->resume.reset();
                       resume(std::move(response));
                       waiting->work.reset();
                     });
        });
      },
      asio::use_awaitable);
}

Request ToRequest(bhttp::request<bhttp::string_body>& message) {
  Request request;
  request.method = std::string(message.method_string());
  std::string_view target = message.target();
  size_t question = target.find('?');
  request.path = std::string(target.substr(0, question));
  if (question != std::string_view::npos) request.query = std::string(target.substr(question + 1));
  for (const auto& field : message) {
    request.headers.emplace(ToLower(field.name_string()), std::string(field.value()));
  }
  request.body = std::move(message.body());
  return request;
}
}  // namespace

asio::awaitable<bool> HttpServer::Impl::WriteResponse(Connection& connection,
                                                      const Response& response, unsigned version,
                                                      bool keep_alive) {
  bhttp::response<bhttp::string_body> message{static_cast<bhttp::status>(response.status), version};
  message.set(bhttp::field::server, "lbmirror");
  if (!response.body.empty()) message.set(bhttp::field::content_type, response.content_type);
  for (const auto& [name, value] : response.headers) message.set(name, value);
  message.body() = response.body;
  message.keep_alive(keep_alive);
  message.prepare_payload();
  connection.stream.expires_after(options.body_timeout);
  auto [ec, bytes] = co_await bhttp::async_write(connection.stream, message, kTuple);
  co_return !ec;
}

// Answers an error before the request was read completely, then discards what the client is
// still sending (bounded in time and bytes): closing with unread data would reset the
// connection and the client might never see the answer.
asio::awaitable<void> HttpServer::Impl::RejectAndDrain(Connection& connection,
                                                       const Response& response) {
  if (!co_await WriteResponse(connection, response, 11, false)) co_return;
  beast::error_code ec;
  connection.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  connection.stream.expires_after(std::chrono::seconds(2));
  std::array<char, 16 * 1024> scratch;
  size_t drained = 0;
  while (drained < 64 * options.max_body_bytes) {
    auto [read_ec, n] = co_await connection.stream.async_read_some(asio::buffer(scratch), kTuple);
    if (read_ec) break;
    drained += n;
  }
}

asio::awaitable<void> HttpServer::Impl::Serve(std::shared_ptr<Connection> connection) {
  beast::flat_buffer buffer;
  while (!stopping.load()) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
    parser.body_limit(options.max_body_bytes);
    connection->SetIdle(true);
    // The idle timeout covers the wait for a new request; a started request gets the
    // header timeout once its first bytes are buffered.
    connection->stream.expires_after(buffer.size() > 0 ? options.header_timeout
                                                       : options.idle_timeout);
    auto [ec, n] = co_await bhttp::async_read_header(connection->stream, buffer, parser, kTuple);
    connection->SetIdle(false);
    if (ec == bhttp::error::body_limit) {
      co_await RejectAndDrain(*connection, Response::Error(413, "request body too large"));
      break;
    }
    if (ec == bhttp::error::header_limit) {
      co_await RejectAndDrain(*connection, Response::Error(431, "request headers too large"));
      break;
    }
    if (ec == bhttp::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::connection_reset) {
      break;
    }
    if (ec) {
      co_await WriteResponse(*connection, Response::Error(400, "malformed HTTP request"), 11,
                             false);
      break;
    }
    connection->stream.expires_after(options.body_timeout);
    if (!parser.is_done()) {
      auto [body_ec, m] = co_await bhttp::async_read(connection->stream, buffer, parser, kTuple);
      if (body_ec == bhttp::error::body_limit) {
        co_await RejectAndDrain(*connection, Response::Error(413, "request body too large"));
        break;
      }
      if (body_ec) break;  // timeout or disconnect mid-body: nothing was accepted
    }
    auto& message = parser.get();
    Request request = ToRequest(message);
    std::chrono::milliseconds deadline = router.Timeout(request);
    if (deadline.count() == 0) deadline = options.answer_timeout;
    Response response = co_await AwaitRoute(connection->ioc, router, request, deadline);
    bool keep_alive = message.keep_alive() && !stopping.load();
    if (!co_await WriteResponse(*connection, response, message.version(), keep_alive)) break;
    if (!keep_alive) break;
  }
  beast::error_code ignored;
  connection->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  connection->stream.close();
  std::lock_guard lock(mutex);
  connections.erase(connection);
}

asio::awaitable<void> HttpServer::Impl::Refuse(std::shared_ptr<Connection> connection) {
  beast::flat_buffer buffer;
  bhttp::request_parser<bhttp::empty_body> parser;
  parser.header_limit(static_cast<uint32_t>(options.max_header_bytes));
  connection->stream.expires_after(
      std::min<std::chrono::milliseconds>(options.header_timeout, std::chrono::seconds(5)));
  auto [ec, n] = co_await bhttp::async_read_header(connection->stream, buffer, parser, kTuple);
  if (!ec) {
    Response busy = Response::Error(503, "too many connections are busy; retry");
    busy.headers.emplace("Retry-After", "1");
    co_await RejectAndDrain(*connection, busy);
  }
  beast::error_code ignored;
  connection->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  connection->stream.close();
  refusing.fetch_sub(1);
}

bool HttpServer::Impl::CloseLongestIdle() {
  std::shared_ptr<Connection> oldest;
  int64_t oldest_since = 0;
  for (const auto& connection : connections) {
    int64_t since = connection->idle_since.load(std::memory_order_relaxed);
    if (since != 0 && (oldest == nullptr || since < oldest_since)) {
      oldest = connection;
      oldest_since = since;
    }
  }
  if (oldest == nullptr) return false;
  oldest->SetIdle(false);  // not chosen twice; its coroutine ends on the cancelled read
  asio::post(oldest->stream.get_executor(), [oldest] {
    beast::error_code ignored;
    oldest->stream.socket().cancel(ignored);
  });
  return true;
}

asio::awaitable<void> HttpServer::Impl::Accept() {
  // Out of file descriptors, accept fails at once for as long as it lasts: wait (10 ms,
  // doubling to 1 s) instead of spinning, and free a descriptor by closing an idle connection.
  std::chrono::milliseconds pause{10};
  asio::steady_timer timer(acceptor.get_executor());
  while (!stopping.load()) {
    // Connections go to the threads in turn.
    asio::io_context& ioc = *iocs[next_ioc++ % iocs.size()];
    auto [ec, socket] = co_await acceptor.async_accept(ioc, kTuple);
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) break;
      log::Warn(Cat("accept failed: ", ec.message(),
                    OutOfDescriptors(ec) ? " (pausing; lower --max-connections or raise the"
                                           " descriptor limit)"
                                         : ""));
      if (OutOfDescriptors(ec)) {
        {
          std::lock_guard lock(mutex);
          CloseLongestIdle();
        }
        timer.expires_after(pause);
        co_await timer.async_wait(kTuple);
        pause = std::min<std::chrono::milliseconds>(pause * 2, std::chrono::seconds(1));
      }
      continue;
    }
    pause = std::chrono::milliseconds(10);
    socket.set_option(tcp::no_delay(true), ec);
    auto connection = std::make_shared<Connection>(ioc, std::move(socket));
    {
      std::lock_guard lock(mutex);
      if (connections.size() >= options.max_connections && !CloseLongestIdle()) {
        // Every connection is busy with a request: this one's request is answered 503 (a
        // reset would tell its client nothing), as long as not too many wait for that too.
        // (The log folds the identical lines of a flood into one.)
        size_t overflow = std::max<size_t>(16, options.max_connections / 4);
        if (refusing.fetch_add(1) < overflow) {
          log::Warn(Cat("answering 503 to a new connection: ", connections.size(),
                        " are open and busy (--max-connections)"));
          asio::co_spawn(connection->stream.get_executor(), Refuse(connection), asio::detached);
        } else {
          refusing.fetch_sub(1);
          log::Warn(Cat("closing a new connection: ", connections.size(),
                        " are open and busy (--max-connections)"));
          beast::error_code ignored;
          connection->stream.socket().close(ignored);
        }
        continue;
      }
      connections.insert(connection);
    }
    asio::co_spawn(connection->stream.get_executor(), Serve(connection), asio::detached);
  }
}

void HttpServer::Impl::StopNow() {
  if (stopping.exchange(true)) return;
  log::Info("HTTP server stopping: no new connections, finishing requests in flight");
  asio::post(acceptor.get_executor(), [this] {
    beast::error_code ignored;
    acceptor.close(ignored);
    signals.cancel(ignored);
    // Each thread stops once its connections are done (and its answers sent).
    for (WorkGuard& guard : running) guard.reset();
  });
  std::lock_guard lock(mutex);
  for (const auto& connection : connections) {
    asio::post(connection->stream.get_executor(), [connection] {
      // The error_code overload: the socket may be closed already (a timed-out read closes
      // it before the coroutine sees the timeout), and the throwing one would end the process.
      beast::error_code ignored;
      if (connection->idle()) connection->stream.socket().cancel(ignored);
    });
  }
}

HttpServer::HttpServer(ServerOptions options, Router router)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(router))) {}

HttpServer::~HttpServer() = default;

Status HttpServer::Listen() {
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->options.host, ec);
  if (ec) return InvalidArgument(Cat("bad listen host \"", impl_->options.host, "\""));
  tcp::endpoint endpoint(address, impl_->options.port);
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Error(ErrorCode::kUnavailable, Cat("cannot listen on ", impl_->options.host, ":",
                                              impl_->options.port, ": ", ec.message()));
  }
  return Ok();
}

uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void HttpServer::Run() {
  if (impl_->options.handle_signals) {
    impl_->signals.add(SIGINT);
    impl_->signals.add(SIGTERM);
    impl_->signals.async_wait([this](const beast::error_code& ec, int signal) {
      if (ec) return;
      log::Info(Cat("received signal ", signal, ", shutting down"));
      impl_->StopNow();
    });
  }
  asio::co_spawn(*impl_->iocs[0], impl_->Accept(), asio::detached);
  for (auto& ioc : impl_->iocs) impl_->running.push_back(asio::make_work_guard(*ioc));
  std::vector<std::thread> threads;
  for (size_t i = 1; i < impl_->iocs.size(); ++i) {
    threads.emplace_back([this, i] {
      NameThisThread(Cat("lbm-http-", i));
      impl_->iocs[i]->run();
    });
  }
  impl_->iocs[0]->run();  // the main thread keeps the process name
  for (auto& thread : threads) thread.join();
}

void HttpServer::Stop() { impl_->StopNow(); }

}  // namespace lbmirror::http
