// Process-wide logging. Messages are plain strings built with Cat(); callers must never
// pass secrets (keys, webhook secrets, passwords). Thread-safe. The backend (spdlog) stays
// behind this header so no other layer sees it.
#pragma once

#include <string_view>

namespace lbmirror {
inline namespace core {
namespace log {

enum class Level { kDebug, kInfo, kWarn, kError };

// Configures the level and format ("text" or "json"). Call once from main before threads.
void Configure(Level level, bool json);
bool ParseLevel(std::string_view name, Level* level);

// Whether debug lines are written: check it before building a debug message on a hot path.
bool DebugEnabled();
void Debug(std::string_view message);
void Info(std::string_view message);
void Warn(std::string_view message);
void Error(std::string_view message);

}  // namespace log
}  // namespace core
}  // namespace lbmirror
