// A webhook load generator for the benchmark: sends pre-signed requests from a file over N
// keep-alive connections (one thread each, taking the next request from a shared index) and
// prints one JSON object: requests, 2xx, other statuses, errors, seconds, rate, latency
// percentiles. Cheap per request, so that the system under test is what is measured.
// With --rate R the requests are sent on a fixed schedule (request k at k/R seconds) and each
// latency counts from the scheduled time, so a slow answer is not hidden by sending less.
//   lbmirror_loadgen --url http://127.0.0.1:8080/api/liveblocks-webhook --connections 16
//                    [--rate R] FILE
// FILE holds one JSON object per line: {"id","timestamp","signature","body"}.
#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = boost::asio::ip::tcp;

namespace {
struct Signed {
  std::string id, timestamp, signature, body;
};

struct Result {
  std::vector<double> latencies_ms;
  int64_t ok = 0, other = 0, errors = 0;
};

using Clock = std::chrono::steady_clock;

void Run(const std::string& host, const std::string& port, const std::string& target,
         const std::vector<Signed>& requests, std::atomic<size_t>& next, double rate,
         Clock::time_point begin, Result& result) {
  boost::asio::io_context ioc;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(host, port);
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
  for (size_t i; (i = next.fetch_add(1)) < requests.size();) {
    const Signed& r = requests[i];
    http::request<http::string_body> request{http::verb::post, target, 11};
    request.set(http::field::host, host);
    request.set(http::field::content_type, "application/json");
    request.set("webhook-id", r.id);
    request.set("webhook-timestamp", r.timestamp);
    request.set("webhook-signature", r.signature);
    request.keep_alive(true);
    request.body() = r.body;
    request.prepare_payload();
    auto start = Clock::now();
    if (rate > 0) {
      auto scheduled = begin + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(static_cast<double>(i) / rate));
      std::this_thread::sleep_until(scheduled);
      start = scheduled;
    }
    beast::error_code ec;
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!stream) {
        stream.emplace(ioc);
        stream->connect(endpoints, ec);
        if (ec) {
          stream.reset();
          continue;
        }
      }
      http::write(*stream, request, ec);
      http::response<http::string_body> response;
      if (!ec) http::read(*stream, buffer, response, ec);
      if (ec) {  // the server closed an idle keep-alive connection: reconnect once
        stream.reset();
        buffer.clear();
        continue;
      }
      double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
      result.latencies_ms.push_back(ms);
      if (response.result_int() / 100 == 2)
        ++result.ok;
      else
        ++result.other;
      if (!response.keep_alive()) stream.reset();
      break;
    }
    if (ec) ++result.errors;
  }
}

double Percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  size_t k = std::min(values.size() - 1, static_cast<size_t>(p * values.size()));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(k), values.end());
  return values[k];
}
}  // namespace

int main(int argc, char** argv) {
  std::string url, file;
  int connections = 16;
  double rate = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--url" && i + 1 < argc)
      url = argv[++i];
    else if (a == "--connections" && i + 1 < argc)
      connections = std::max(1, std::atoi(argv[++i]));
    else if (a == "--rate" && i + 1 < argc)
      rate = std::atof(argv[++i]);
    else
      file = a;
  }
  if (url.rfind("http://", 0) != 0 || file.empty()) {
    std::cerr << "usage: lbmirror_loadgen --url http://HOST:PORT/PATH [--connections N] [--rate R] "
                 "FILE\n";
    return 2;
  }
  std::string rest = url.substr(7);
  std::string authority = rest.substr(0, rest.find('/'));
  std::string target = rest.find('/') == std::string::npos ? "/" : rest.substr(rest.find('/'));
  std::string host = authority.substr(0, authority.find(':'));
  std::string port =
      authority.find(':') == std::string::npos ? "80" : authority.substr(authority.find(':') + 1);

  std::vector<Signed> requests;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    json::object o = json::parse(line).as_object();
    requests.push_back(
        {std::string(o.at("id").as_string()), std::string(o.at("timestamp").as_string()),
         std::string(o.at("signature").as_string()), std::string(o.at("body").as_string())});
  }
  std::atomic<size_t> next{0};
  std::vector<Result> results(static_cast<size_t>(connections));
  std::vector<std::thread> threads;
  auto start = Clock::now();
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      Run(host, port, target, requests, next, rate, start, results[static_cast<size_t>(c)]);
    });
  }
  for (auto& t : threads) t.join();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  Result all;
  for (Result& r : results) {
    all.ok += r.ok;
    all.other += r.other;
    all.errors += r.errors;
    all.latencies_ms.insert(all.latencies_ms.end(), r.latencies_ms.begin(), r.latencies_ms.end());
  }
  double p50 = Percentile(all.latencies_ms, 0.50), p99 = Percentile(all.latencies_ms, 0.99);
  double max = all.latencies_ms.empty()
                   ? 0
                   : *std::max_element(all.latencies_ms.begin(), all.latencies_ms.end());
  std::printf(
      "{\"requests\":%zu,\"ok\":%lld,\"other\":%lld,\"errors\":%lld,\"seconds\":%.4f,"
      "\"rate\":%.1f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f}\n",
      requests.size(), static_cast<long long>(all.ok), static_cast<long long>(all.other),
      static_cast<long long>(all.errors), seconds, all.ok / seconds, p50, p99, max);
  return all.errors > 0 ? 1 : 0;
}
