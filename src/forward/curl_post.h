// Forwarding's POST over libcurl: one easy handle per thread (connections reused), 5 s to
// connect, 10 s in all, the answer's body read and dropped (at most 64 KiB kept). An error's
// message is curl's, which names the host but never the URL's user or password.
#pragma once

#include "forward/forwarder.h"

namespace lbmirror::forward {

Result<int> CurlPost(const std::string& url, const Headers& headers, const std::string& body);

}  // namespace lbmirror::forward
