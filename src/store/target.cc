#include "store/target.h"

#include <array>

#include "store/store.h"

namespace lbmirror::store {

const std::vector<std::string_view>& ChangeKinds() {
  static const std::vector<std::string_view> kKinds = {"room",
                                                       "document",
                                                       "ydoc",
                                                       "flow_node",
                                                       "flow_edge",
                                                       "thread",
                                                       "comment",
                                                       "reaction",
                                                       "attachment",
                                                       "notification",
                                                       "active_user",
                                                       "session",
                                                       "group",
                                                       "group_member",
                                                       "version",
                                                       "version_ydoc",
                                                       "notification_settings",
                                                       "room_subscription_settings",
                                                       "thread_subscription",
                                                       "feed",
                                                       "feed_message"};
  return kKinds;
}

namespace {
constexpr std::array<std::pair<TargetKind, std::string_view>, kTargetKindCount> kNames = {{
    {TargetKind::kRoom, "room"},
    {TargetKind::kStorage, "storage"},
    {TargetKind::kYdoc, "ydoc"},
    {TargetKind::kPresence, "presence"},
    {TargetKind::kThread, "thread"},
    {TargetKind::kNotification, "notification"},
    {TargetKind::kInbox, "inbox"},
    {TargetKind::kGroups, "groups"},
    {TargetKind::kVersions, "versions"},
    {TargetKind::kVersionYdoc, "version_ydoc"},
    {TargetKind::kNotificationSettings, "user_settings"},
    {TargetKind::kRoomSubscriptionSettings, "room_settings"},
    {TargetKind::kThreadSubscriptions, "thread_subs"},
    {TargetKind::kFeeds, "feeds"},
    {TargetKind::kFeedMessages, "feed_messages"},
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

std::optional<TargetKey> TargetKey::Parse(std::string_view text) {
  size_t colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto kind = ParseTargetKind(text.substr(0, colon));
  if (!kind) return std::nullopt;
  std::string_view rest = text.substr(colon + 1);
  std::string_view object;
  if (*kind == TargetKind::kThread || *kind == TargetKind::kNotification ||
      *kind == TargetKind::kVersionYdoc) {
    size_t last = rest.rfind(':');
    if (last == std::string_view::npos) return std::nullopt;
    object = rest.substr(last + 1);
    rest = rest.substr(0, last);
    if (object.empty()) return std::nullopt;
  }
  if (rest.empty()) return std::nullopt;
  return TargetKey{*kind, std::string(rest), std::string(object)};
}

}  // namespace lbmirror::store
