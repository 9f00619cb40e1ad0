#include "sync/pass_kinds.h"

#include <algorithm>
#include <boost/json.hpp>

#include "core/json_fields.h"
#include "core/text.h"

namespace lbmirror::sync {

namespace json = boost::json;
using store::TargetKey;
using store::TargetKind;

namespace {

// The data array of a listing (or of the one-page subscriptions answer).
Result<const json::array*> DataArray(const json::value& body, std::string_view what) {
  const json::object* object = body.if_object();
  const json::value* data = object != nullptr ? object->if_contains("data") : nullptr;
  if (data == nullptr || !data->is_array())
    return Internal(Cat(what, ": response has no data array"));
  return &data->as_array();
}

// A user's whole inbox ({"data": [...]}, every page of the listing).
Result<Projection> ProjectInbox(const TargetKey& target, const json::value& body,
                                int64_t read_started_ms) {
  auto data = DataArray(body, "inbox");
  if (!data) return data.error();
  store::InboxSnapshot inbox{target.scope_id, {}, FormatSqlTimestamp(read_started_ms)};
  for (const json::value& entry : **data) {
    const json::object* n = entry.if_object();
    if (n == nullptr || !StringField(*n, "id") || StringField(*n, "id")->empty()) {
      return Internal("inbox: a notification has no id");
    }
    inbox.notifications.push_back(NotificationFromJson(target.scope_id, *n, json::serialize(*n)));
  }
  return Projection{{std::move(inbox)}, {}};
}

// The project's groups; organizationId, or tenantId in the older contract.
Result<Projection> ProjectGroups(const json::value& body, int64_t read_started_ms) {
  auto data = DataArray(body, "groups");
  if (!data) return data.error();
  store::GroupsSnapshot snapshot{{}, FormatSqlTimestamp(read_started_ms)};
  for (const json::value& entry : **data) {
    const json::object* g = entry.if_object();
    auto id = g != nullptr ? StringField(*g, "id") : std::nullopt;
    if (!id || id->empty()) return Internal("groups: a group has no id");
    store::GroupRow row;
    row.group_id = *id;
    row.organization_id =
        StringField(*g, "organizationId").value_or(StringField(*g, "tenantId").value_or(""));
    const json::value* scopes = g->if_contains("scopes");
    row.scopes = scopes != nullptr && scopes->is_object() ? json::serialize(*scopes) : "{}";
    row.created_at = TimestampField(*g, "createdAt");
    row.updated_at = TimestampField(*g, "updatedAt");
    row.data = json::serialize(*g);
    if (const json::value* members = g->if_contains("members"); members != nullptr) {
      if (!members->is_array())
        return Internal(Cat("groups: the members of ", *id, " are not a list"));
      for (const json::value& m : members->as_array()) {
        auto user = m.is_object() ? StringField(m.as_object(), "id") : std::nullopt;
        if (!user || user->empty()) return Internal(Cat("groups: a member of ", *id, " has no id"));
        row.members.push_back({*user, TimestampField(m.as_object(), "addedAt")});
      }
    }
    snapshot.groups.push_back(std::move(row));
  }
  return Projection{{std::move(snapshot)}, {}};
}

// A room's versions, newest first; the older contract adds "type" and "kind" (ignored) and
// may leave "authors" out.
Result<Projection> ProjectVersions(const TargetKey& target, const json::value& body,
                                   int64_t read_started_ms) {
  auto data = DataArray(body, "versions");
  if (!data) return data.error();
  store::VersionsSnapshot snapshot{target.scope_id, {}, FormatSqlTimestamp(read_started_ms)};
  for (const json::value& entry : **data) {
    const json::object* v = entry.if_object();
    auto id = v != nullptr ? StringField(*v, "id") : std::nullopt;
    if (!id || id->empty()) return Internal("versions: a version has no id");
    json::array authors;
    if (const json::value* list = v->if_contains("authors"); list != nullptr && !list->is_null()) {
      if (!list->is_array())
        return Internal(Cat("versions: the authors of ", *id, " are not a list"));
      for (const json::value& a : list->as_array()) {
        auto user = a.is_object() ? StringField(a.as_object(), "id") : std::nullopt;
        if (!user) return Internal(Cat("versions: an author of ", *id, " has no id"));
        authors.push_back(json::value(*user));
      }
    }
    snapshot.versions.push_back(
        {*id, TimestampField(*v, "createdAt"), json::serialize(authors), json::serialize(*v)});
  }
  return Projection{{std::move(snapshot)}, {}};
}

// A user's subscription settings in each room: threads and textMentions, each a known value.
Result<Projection> ProjectRoomSubscriptionSettings(const TargetKey& target, const json::value& body,
                                                   int64_t read_started_ms) {
  auto data = DataArray(body, "room subscription settings");
  if (!data) return data.error();
  store::RoomSubscriptionSettingsSnapshot snapshot{
      target.scope_id, {}, FormatSqlTimestamp(read_started_ms)};
  for (const json::value& entry : **data) {
    const json::object* s = entry.if_object();
    auto room = s != nullptr ? StringField(*s, "roomId") : std::nullopt;
    if (!room || room->empty())
      return Internal("room subscription settings: an entry has no roomId");
    auto threads = StringField(*s, "threads");
    auto mentions = StringField(*s, "textMentions");
    if (!threads || !mentions) {
      return Internal(Cat("room subscription settings of ", *room,
                          ": threads and textMentions must be strings"));
    }
    snapshot.settings.push_back({*room, *threads, *mentions});
  }
  return Projection{{std::move(snapshot)}, {}};
}

// Who follows a thread (one page: the endpoint is not paginated).
Result<Projection> ProjectThreadSubscriptions(const TargetKey& target, const json::value& body,
                                              int64_t read_started_ms) {
  auto data = DataArray(body, "thread subscriptions");
  if (!data) return data.error();
  store::ThreadSubscriptionsSnapshot snapshot{
      target.scope_id, target.object_id, {}, FormatSqlTimestamp(read_started_ms)};
  for (const json::value& entry : **data) {
    const json::object* s = entry.if_object();
    auto user = s != nullptr ? StringField(*s, "userId") : std::nullopt;
    if (!user || user->empty()) return Internal("thread subscriptions: an entry has no userId");
    snapshot.subscriptions.push_back(
        {*user, StringField(*s, "kind").value_or("thread"), TimestampField(*s, "createdAt")});
  }
  return Projection{{std::move(snapshot)}, {}};
}

// A room's feeds; createdAt and updatedAt are numbers (ms since the epoch).
Result<Projection> ProjectFeeds(const TargetKey& target, const json::value& body,
                                int64_t read_started_ms) {
  auto data = DataArray(body, "feeds");
  if (!data) return data.error();
  store::FeedsSnapshot snapshot{target.scope_id, {}, FormatSqlTimestamp(read_started_ms)};
  for (const json::value& entry : **data) {
    const json::object* f = entry.if_object();
    auto id = f != nullptr ? StringField(*f, "feedId") : std::nullopt;
    if (!id || id->empty()) return Internal("feeds: a feed has no feedId");
    const json::value* metadata = f->if_contains("metadata");
    if (metadata != nullptr && !metadata->is_object() && !metadata->is_null()) {
      return Internal(Cat("feeds: the metadata of ", *id, " is not an object"));
    }
    snapshot.feeds.push_back(
        {*id,
         metadata != nullptr && metadata->is_object() ? json::serialize(*metadata)
                                                      : std::string("{}"),
         MillisField(*f, "createdAt"), MillisField(*f, "updatedAt"), json::serialize(*f)});
  }
  return Projection{{std::move(snapshot)}, {}};
}

// One feed's messages: id, customer-defined data, times in ms.
Result<Projection> ProjectFeedMessages(const TargetKey& target, const json::value& body,
                                       int64_t read_started_ms) {
  auto data = DataArray(body, "feed messages");
  if (!data) return data.error();
  store::FeedMessagesSnapshot snapshot{
      target.scope_id, target.object_id, {}, FormatSqlTimestamp(read_started_ms)};
  for (const json::value& entry : **data) {
    const json::object* m = entry.if_object();
    auto id = m != nullptr ? StringField(*m, "id") : std::nullopt;
    if (!id || id->empty()) return Internal("feed messages: a message has no id");
    const json::value* content = m->if_contains("data");
    snapshot.messages.push_back({*id, content != nullptr ? json::serialize(*content) : "null",
                                 MillisField(*m, "createdAt"), MillisField(*m, "updatedAt")});
  }
  return Projection{{std::move(snapshot)}, {}};
}

}  // namespace

const std::vector<TargetKind>& PassKinds() {
  static const std::vector<TargetKind> kKinds = {TargetKind::kInbox,
                                                 TargetKind::kGroups,
                                                 TargetKind::kVersions,
                                                 TargetKind::kVersionYdoc,
                                                 TargetKind::kNotificationSettings,
                                                 TargetKind::kRoomSubscriptionSettings,
                                                 TargetKind::kThreadSubscriptions,
                                                 TargetKind::kFeeds,
                                                 TargetKind::kFeedMessages};
  return kKinds;
}

bool IsPassKind(TargetKind kind) {
  const auto& kinds = PassKinds();
  return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

std::optional<liveblocks::Listing> ListingOf(const TargetKey& target) {
  switch (target.kind) {
    case TargetKind::kInbox:
      return liveblocks::InboxNotificationsListing(target.scope_id);
    case TargetKind::kGroups:
      return liveblocks::Listing{"/v2/groups", liveblocks::Paging::kStartingAfter, 100};
    case TargetKind::kVersions:
      return liveblocks::Listing{liveblocks::RoomPath(target.scope_id) + "/versions",
                                 liveblocks::Paging::kCursor, 100};
    case TargetKind::kRoomSubscriptionSettings:
      return liveblocks::Listing{
          "/v2/users/" + EncodeUriComponent(target.scope_id) + "/room-subscription-settings",
          liveblocks::Paging::kStartingAfter, 50};
    case TargetKind::kFeeds:
      return liveblocks::Listing{liveblocks::RoomPath(target.scope_id) + "/feeds",
                                 liveblocks::Paging::kCursor, 20};
    case TargetKind::kFeedMessages:
      return liveblocks::Listing{liveblocks::RoomPath(target.scope_id) + "/feeds/" +
                                     EncodeUriComponent(target.object_id) + "/messages",
                                 liveblocks::Paging::kCursor, 20};
    default:
      return std::nullopt;
  }
}

Result<Projection> ProjectListing(const TargetKey& target, const json::value& body,
                                  int64_t read_started_ms) {
  switch (target.kind) {
    case TargetKind::kInbox:
      return ProjectInbox(target, body, read_started_ms);
    case TargetKind::kGroups:
      return ProjectGroups(body, read_started_ms);
    case TargetKind::kVersions:
      return ProjectVersions(target, body, read_started_ms);
    case TargetKind::kRoomSubscriptionSettings:
      return ProjectRoomSubscriptionSettings(target, body, read_started_ms);
    case TargetKind::kThreadSubscriptions:
      return ProjectThreadSubscriptions(target, body, read_started_ms);
    case TargetKind::kFeeds:
      return ProjectFeeds(target, body, read_started_ms);
    case TargetKind::kFeedMessages:
      return ProjectFeedMessages(target, body, read_started_ms);
    default:
      return Internal(Cat(store::TargetKindName(target.kind), " is not a pass kind"));
  }
}

Result<Projection> ProjectNotificationSettings(const TargetKey& target, const json::value& body) {
  const json::object* settings = body.if_object();
  if (settings == nullptr) return Internal("notification settings: response is not an object");
  for (const auto& channel : *settings) {
    if (!channel.value().is_object()) {
      return Internal(
          Cat("notification settings: channel ", std::string(channel.key()), " is not an object"));
    }
  }
  return Projection{{store::NotificationSettingsRow{target.scope_id, json::serialize(body)}}, {}};
}

Result<Projection> ProjectVersionYdoc(const TargetKey& target,
                                      const liveblocks::RestResponse& response) {
  auto row = DecodeYdoc(target.scope_id, response.body, "version Yjs document");
  if (!row) return row.error();
  return Projection{
      {store::VersionYdocRow{target.scope_id, target.object_id, std::move(row->data),
                             std::move(row->text), std::move(row->state), row->depth}},
      {}};
}

Result<Projection> ProjectPassGone(const TargetKey& target, int64_t read_started_ms) {
  switch (target.kind) {
    case TargetKind::kInbox:
      return Projection{
          {store::InboxSnapshot{target.scope_id, {}, FormatSqlTimestamp(read_started_ms)}}, {}};
    case TargetKind::kVersions:  // the room is gone: so are its versions; the room is re-read
      return Projection{
          {store::VersionsSnapshot{target.scope_id, {}, FormatSqlTimestamp(read_started_ms)}},
          {{TargetKind::kRoom, target.scope_id, ""}}};
    case TargetKind::kVersionYdoc:
      return Projection{{store::VersionYdocGone{target.scope_id, target.object_id}}, {}};
    case TargetKind::kNotificationSettings:  // a user without settings (or unknown)
      return Projection{{store::NotificationSettingsGone{target.scope_id}}, {}};
    case TargetKind::kRoomSubscriptionSettings:
      return Projection{{store::RoomSubscriptionSettingsSnapshot{
                            target.scope_id, {}, FormatSqlTimestamp(read_started_ms)}},
                        {}};
    case TargetKind::kThreadSubscriptions:  // the thread is gone: so are its subscriptions
      return Projection{
          {store::ThreadSubscriptionsSnapshot{
              target.scope_id, target.object_id, {}, FormatSqlTimestamp(read_started_ms)}},
          {}};
    case TargetKind::kFeeds:  // the room is gone: so are its feeds; the room is re-read
      return Projection{
          {store::FeedsSnapshot{target.scope_id, {}, FormatSqlTimestamp(read_started_ms)}},
          {{TargetKind::kRoom, target.scope_id, ""}}};
    case TargetKind::kFeedMessages:
      return Projection{
          {store::FeedMessagesSnapshot{
              target.scope_id, target.object_id, {}, FormatSqlTimestamp(read_started_ms)}},
          {}};
    default:
      return Internal(Cat(store::TargetKindName(target.kind), ": Liveblocks answered 404"));
  }
}

}  // namespace lbmirror::sync
