#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <string>

namespace lbmirror::log {

namespace {
std::shared_ptr<spdlog::logger>& Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_color_mt("lbmirror");
    l->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ %v", spdlog::pattern_time_type::utc);
    return l;
  }();
  return logger;
}

bool g_json = false;

std::string JsonEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

void Write(spdlog::level::level_enum level, std::string_view message) {
  if (g_json) {
    Logger()->log(level, "\"msg\":\"{}\"}}", JsonEscape(message));
  } else {
    Logger()->log(level, "{}", message);
  }
}
}  // namespace

void Configure(Level level, bool json) {
  g_json = json;
  if (json) {
    Logger()->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v)",
                          spdlog::pattern_time_type::utc);
  }
  static constexpr spdlog::level::level_enum kLevels[] = {
      spdlog::level::debug, spdlog::level::info, spdlog::level::warn, spdlog::level::err};
  Logger()->set_level(kLevels[static_cast<int>(level)]);
}

bool ParseLevel(std::string_view name, Level* level) {
  if (name == "debug") *level = Level::kDebug;
  else if (name == "info") *level = Level::kInfo;
  else if (name == "warn") *level = Level::kWarn;
  else if (name == "error") *level = Level::kError;
  else return false;
  return true;
}

bool DebugEnabled() { return Logger()->should_log(spdlog::level::debug); }
void Debug(std::string_view message) { Write(spdlog::level::debug, message); }
void Info(std::string_view message) { Write(spdlog::level::info, message); }
void Warn(std::string_view message) { Write(spdlog::level::warn, message); }
void Error(std::string_view message) { Write(spdlog::level::err, message); }

}  // namespace lbmirror::log
