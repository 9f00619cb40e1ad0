#include "http/message.h"

#include <cstdio>

namespace lbmirror::http {

Response Response::Error(int status, std::string_view reason) {
  std::string body = "{\"error\":\"";
  for (char c : reason) {
    if (c == '"' || c == '\\') {
      body += '\\';
      body += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      body += buf;
    } else {
      body += c;
    }
  }
  body += "\"}";
  return Json(status, std::move(body));
}

}  // namespace lbmirror::http
