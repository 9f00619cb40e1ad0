// NameThisThread: names the calling thread (Linux keeps 15 bytes), so that `top -H`, `ps -L`
// and debuggers tell the HTTP, recording and worker threads apart.
#pragma once

#include <string>

namespace lbmirror {
inline namespace core {

void NameThisThread(const std::string& name);

}  // namespace core
}  // namespace lbmirror
