// Targets: the units of mirroring work. An event marks targets dirty; a worker claims a
// dirty target, re-reads it from the Liveblocks REST API and writes the rows it owns.
// Plain value types, no I/O.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace lbmirror::store {

// kInbox (a user's whole inbox), kGroups (every group of the project, scope "project") and the
// kinds after them are read by reconciliation passes; the others because a webhook,
// reconciliation or an operator marked them.
enum class TargetKind {
  kRoom,
  kStorage,
  kYdoc,
  kPresence,
  kThread,
  kNotification,
  kInbox,
  kGroups,
  kVersions,                  // a room's version history (every page)
  kVersionYdoc,               // one version's Yjs document, read once (object: the version id)
  kNotificationSettings,      // a user's notification settings (project-wide channels)
  kRoomSubscriptionSettings,  // a user's subscription settings in every room (every page)
  kThreadSubscriptions,       // who follows a thread (object: the thread id)
  kFeeds,                     // a room's feeds (every page)
  kFeedMessages               // one feed's messages (object: the feed id; every page)
};
// How many kinds there are (for tables indexed by kind).
inline constexpr size_t kTargetKindCount = static_cast<size_t>(TargetKind::kFeedMessages) + 1;

// Stable names used in the targets table and in logs ("storage", "thread", ...).
std::string_view TargetKindName(TargetKind kind);
std::optional<TargetKind> ParseTargetKind(std::string_view name);

// scope_id is the room id for room-scoped kinds and the user id for notifications and inboxes;
// object_id is the thread id (threads, their subscriptions), inbox notification id, version id
// or feed id, empty for the other kinds.
struct TargetKey {
  TargetKind kind;
  std::string scope_id;
  std::string object_id;

  friend bool operator==(const TargetKey&, const TargetKey&) = default;
  // "storage:room-1", "thread:room-1:th_1" - for logs and operators.
  std::string ToString() const;
  // The inverse of ToString (the object id of a thread or notification is after the last
  // ':', so room ids may hold ':'); nullopt for an unknown kind or a missing part.
  static std::optional<TargetKey> Parse(std::string_view text);
};

}  // namespace lbmirror::store
