// Plain HTTP request/response values passed between the server and request handlers, so
// handlers are ordinary functions with no sockets in them. Header names are stored
// lower-cased. Values are not thread-safe; each request is handled by one thread.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace lbmirror::http {

struct Request {
  std::string method;                               // "POST"
  std::string path;                                 // without the query string
  std::string query;                                // text after '?', may be empty
  std::multimap<std::string, std::string> headers;  // lower-cased names
  std::string body;

  // The value of a header that appears exactly once; nullopt when absent or repeated.
  std::optional<std::string_view> SingleHeader(std::string_view lower_name) const {
    auto [first, last] = headers.equal_range(std::string(lower_name));
    if (first == last || std::next(first) != last) return std::nullopt;
    return std::string_view(first->second);
  }
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::multimap<std::string, std::string> headers;

  static Response Json(int status, std::string body) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  // {"error": reason} with the given status; reason must not contain secrets.
  static Response Error(int status, std::string_view reason);
};

// Called exactly once with the answer to a request, from any thread.
using Responder = std::function<void(Response)>;

}  // namespace lbmirror::http
