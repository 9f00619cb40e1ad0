#include "store/target.h"

#include <array>

namespace lbmirror::store {

namespace {
constexpr std::array<std::pair<TargetKind, std::string_view>, 6> kNames = {{
    {TargetKind::kRoom, "room"},
    {TargetKind::kStorage, "storage"},
    {TargetKind::kYdoc, "ydoc"},
    {TargetKind::kPresence, "presence"},
    {TargetKind::kThread, "thread"},
    {TargetKind::kNotification, "notification"},
}};
}  // namespace

std::string_view TargetKindName(TargetKind kind) {
  for (const auto& [k, name] : kNames) {
    if (k == kind) return name;
  }
  return "unknown";
}

std::optional<TargetKind> ParseTargetKind(std::string_view name) {
  for (const auto& [k, n] : kNames) {
    if (n == name) return k;
  }
  return std::nullopt;
}

std::string TargetKey::ToString() const {
  std::string out(TargetKindName(kind));
  out += ':';
  out += scope_id;
  if (!object_id.empty()) {
    out += ':';
    out += object_id;
  }
  return out;
}

}  // namespace lbmirror::store
