// Runs an HttpServer on a free loopback port in a background thread, for tests.
#pragma once

#include <thread>

#include "http/server.h"

namespace lbmirror::http {

class TestServer {
 public:
  explicit TestServer(Router router, ServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 2;
    server_ = std::make_unique<HttpServer>(options, std::move(router));
    Status listening = server_->Listen();
    if (!listening) throw std::runtime_error(listening.error().message());
    thread_ = std::thread([this] { server_->Run(); });
  }
  ~TestServer() { Stop(); }
  void Stop() {
    if (!thread_.joinable()) return;
    server_->Stop();
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(server_->port()); }

 private:
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
};

}  // namespace lbmirror::http
