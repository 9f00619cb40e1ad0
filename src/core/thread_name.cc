#include "core/thread_name.h"

#include <pthread.h>

namespace lbmirror {
inline namespace core {

void NameThisThread(const std::string& name) {
  pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
}

}  // namespace core
}  // namespace lbmirror
