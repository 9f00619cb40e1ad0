// What this build is: the project's version and the commit it was built from.
#pragma once

#include <string_view>

namespace lbmirror {
inline namespace core {

std::string_view Version();  // "0.1.0"
std::string_view Commit();   // 12 hex digits ("-dirty" for a changed tree), or "unknown"

}  // namespace core
}  // namespace lbmirror
