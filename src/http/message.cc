#include "http/message.h"

#include "core/text.h"

namespace lbmirror::http {

Response Response::Error(int status, std::string_view reason) {
  return Json(status, "{\"error\":\"" + JsonEscape(reason) + "\"}");
}

}  // namespace lbmirror::http
