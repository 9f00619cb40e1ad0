#include "core/log.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/text.h"

namespace lbmirror {
inline namespace core {
namespace log {

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

void Emit(spdlog::level::level_enum level, std::string_view message) {
  if (g_json) {
    Logger()->log(level, "\"msg\":\"{}\"}}", JsonEscape(message));
  } else {
    Logger()->log(level, "{}", message);
  }
}

// Repeated identical lines: the first of each interval is written, the others are counted
// and reported with the next one written after the interval (or by any later line once it
// has passed), so a fault that repeats thousands of times a second cannot fill the disk.
class Repeats {
 public:
  static constexpr std::chrono::milliseconds kInterval{10'000};
  static constexpr size_t kTracked = 512;  // distinct recent lines remembered

  // Whether to write `message` now; also hands back the summaries that are due.
  bool Admit(spdlog::level::level_enum level, std::string_view message,
             std::vector<std::pair<spdlog::level::level_enum, std::string>>& due) {
    auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mutex_);
    if (now - last_sweep_ >= kInterval) {
      last_sweep_ = now;
      for (auto it = lines_.begin(); it != lines_.end();) {
        if (now - it->second.since < kInterval) {
          ++it;
          continue;
        }
        if (it->second.suppressed > 0)
          due.emplace_back(it->second.level, Summary(it->first, it->second));
        it = lines_.erase(it);
      }
    }
    auto it = lines_.find(std::string(message));
    if (it == lines_.end()) {
      if (lines_.size() < kTracked) lines_.emplace(std::string(message), Line{level, now, 0});
      return true;
    }
    if (now - it->second.since < kInterval) {
      ++it->second.suppressed;
      return false;
    }
    if (it->second.suppressed > 0) due.emplace_back(level, Summary(it->first, it->second));
    it->second = Line{level, now, 0};
    return true;
  }

 private:
  struct Line {
    spdlog::level::level_enum level;
    std::chrono::steady_clock::time_point since;
    int64_t suppressed;
  };
  static std::string Summary(const std::string& message, const Line& line) {
    return message + " (repeated " + std::to_string(line.suppressed) + " more times in " +
           std::to_string(kInterval.count() / 1000) + " s)";
  }

  std::mutex mutex_;
  std::unordered_map<std::string, Line> lines_;
  std::chrono::steady_clock::time_point last_sweep_{};
};

void Write(spdlog::level::level_enum level, std::string_view message) {
  static Repeats* repeats = new Repeats;     // never destroyed: threads may log at exit
  if (!Logger()->should_log(level)) return;  // lines below the level cost no lookup
  std::vector<std::pair<spdlog::level::level_enum, std::string>> due;
  bool admitted = repeats->Admit(level, message, due);
  for (const auto& [due_level, summary] : due) Emit(due_level, summary);
  if (admitted) Emit(level, message);
}
}  // namespace

void Configure(Level level, bool json) {
  g_json = json;
  if (json) {
    Logger()->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v)",
                          spdlog::pattern_time_type::utc);
  }
  static constexpr spdlog::level::level_enum kLevels[] = {spdlog::level::debug, spdlog::level::info,
                                                          spdlog::level::warn, spdlog::level::err};
  Logger()->set_level(kLevels[static_cast<int>(level)]);
}

bool ParseLevel(std::string_view name, Level* level) {
  if (name == "debug")
    *level = Level::kDebug;
  else if (name == "info")
    *level = Level::kInfo;
  else if (name == "warn")
    *level = Level::kWarn;
  else if (name == "error")
    *level = Level::kError;
  else
    return false;
  return true;
}

bool DebugEnabled() { return Logger()->should_log(spdlog::level::debug); }
void Debug(std::string_view message) { Write(spdlog::level::debug, message); }
void Info(std::string_view message) { Write(spdlog::level::info, message); }
void Warn(std::string_view message) { Write(spdlog::level::warn, message); }
void Error(std::string_view message) { Write(spdlog::level::err, message); }

}  // namespace log
}  // namespace core
}  // namespace lbmirror
