#include "webhook/event.h"

#include <boost/json.hpp>

#include "core/json_fields.h"
#include "core/text.h"

namespace lbmirror::webhook {

namespace json = boost::json;
using store::TargetKey;
using store::TargetKind;

namespace {
constexpr size_t kMaxIdChars = 255;

bool IsThreadEvent(std::string_view type) {
  return type == "threadCreated" || type == "threadDeleted" || type == "threadMetadataUpdated" ||
         type == "threadMarkedAsResolved" || type == "threadMarkedAsUnresolved" ||
         type == "commentCreated" || type == "commentEdited" || type == "commentDeleted" ||
         type == "commentMetadataUpdated" || type == "commentReactionAdded" ||
         type == "commentReactionRemoved";
}

size_t Utf8Length(std::string_view text) {
  size_t count = 0;
  for (char c : text) count += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return count;
}

// Reads data[field] as a non-empty id string of at most 255 characters.
Result<std::string> RequiredId(const json::object& data, std::string_view type,
                               std::string_view field) {
  const json::value* v = data.if_contains(field);
  if (v == nullptr || !v->is_string() || v->as_string().empty()) {
    return InvalidArgument(Cat(type, " event without data.", field));
  }
  std::string id(v->as_string());
  if (Utf8Length(id) > kMaxIdChars) {
    return InvalidArgument(Cat(type, " event with data.", field, " longer than 255 characters"));
  }
  return id;
}

bool IsKnownNotificationKind(std::string_view kind) {
  return kind == "thread" || kind == "textMention" || (kind.size() > 1 && kind[0] == '$');
}

Status FillKnown(const json::object& data, Event& event) {
  const std::string& type = event.type;
  if (type == "notification") {
    event.notification_kind = StringField(data, "kind").value_or("");
    if (!IsKnownNotificationKind(event.notification_kind)) {
      event.type_index = -1;  // stored and acknowledged, like an unknown type
      return Ok();
    }
    auto user = RequiredId(data, type, "userId");
    if (!user) return user.error();
    auto id = RequiredId(data, type, "inboxNotificationId");
    if (!id) return id.error();
    event.user_id = *user;
    event.inbox_notification_id = *id;
    event.room_id = StringField(data, "roomId").value_or("");
    event.targets.push_back({TargetKind::kNotification, *user, *id});
    return Ok();
  }
  if (type == "roomUpdated") {
    // Named by Liveblocks' integration pages, not by its SDK: a hint to read the room, when
    // it names one; otherwise only stored.
    event.room_id = StringField(data, "roomId").value_or("");
    if (event.room_id.empty())
      event.type_index = -1;
    else
      event.targets.push_back({TargetKind::kRoom, event.room_id, ""});
    return Ok();
  }
  auto room = RequiredId(data, type, "roomId");
  if (!room) return room.error();
  event.room_id = *room;
  if (IsThreadEvent(type)) {
    auto thread = RequiredId(data, type, "threadId");
    if (!thread) return thread.error();
    event.thread_id = *thread;
    event.targets.push_back({TargetKind::kThread, event.room_id, event.thread_id});
    // No webhook announces (un)subscribing; a thread's activity is the likely moment.
    event.targets.push_back({TargetKind::kThreadSubscriptions, event.room_id, event.thread_id});
  } else if (type == "storageUpdated") {
    event.targets.push_back({TargetKind::kStorage, event.room_id, ""});
  } else if (type == "ydocUpdated") {
    event.targets.push_back({TargetKind::kYdoc, event.room_id, ""});
  } else if (type == "roomCreated" || type == "roomDeleted") {
    event.targets.push_back({TargetKind::kRoom, event.room_id, ""});
  } else if (type == "userEntered" || type == "userLeft") {
    const json::value* connection = data.if_contains("connectionId");
    if (connection == nullptr || !connection->is_number()) {
      return InvalidArgument(Cat(type, " event without a numeric data.connectionId"));
    }
    boost::system::error_code ec;
    int64_t id = connection->to_number<int64_t>(ec);
    if (ec) return InvalidArgument(Cat(type, " event with a non-integer data.connectionId"));
    event.connection_id = id;
    event.user_id = StringField(data, "userId").value_or("");
    const json::value* info = data.if_contains("userInfo");
    if (info != nullptr && !info->is_null()) event.user_info = json::serialize(*info);
    std::string at = StringField(data, type == "userEntered" ? "enteredAt" : "leftAt").value_or("");
    auto at_ms = ParseIsoTimestampMs(at);
    if (!at_ms) {
      return InvalidArgument(Cat(type, " event without a valid data.",
                                 type == "userEntered" ? "enteredAt" : "leftAt"));
    }
    event.presence_at_ms = *at_ms;
    event.targets.push_back({TargetKind::kPresence, event.room_id, ""});
  }
  return Ok();
}
}  // namespace

const std::vector<std::string_view>& KnownEventTypes() {
  static const std::vector<std::string_view> kTypes = {"storageUpdated",
                                                       "userEntered",
                                                       "userLeft",
                                                       "roomCreated",
                                                       "roomDeleted",
                                                       "commentCreated",
                                                       "commentEdited",
                                                       "commentDeleted",
                                                       "commentReactionAdded",
                                                       "commentReactionRemoved",
                                                       "commentMetadataUpdated",
                                                       "threadMetadataUpdated",
                                                       "threadCreated",
                                                       "threadDeleted",
                                                       "ydocUpdated",
                                                       "notification",
                                                       "threadMarkedAsResolved",
                                                       "threadMarkedAsUnresolved",
                                                       "roomUpdated"};
  return kTypes;
}

Result<Event> ParseEvent(std::string_view body) {
  boost::system::error_code ec;
  json::value root = json::parse(json::string_view(body.data(), body.size()), ec);
  if (ec) return InvalidArgument("body is not valid JSON");
  const json::object* object = root.if_object();
  if (object == nullptr) return InvalidArgument("body is not a JSON object");
  const json::value* type = object->if_contains("type");
  if (type == nullptr || !type->is_string() || type->as_string().empty()) {
    return InvalidArgument("body has no string \"type\"");
  }
  Event event;
  event.type = std::string(type->as_string());
  if (event.type.size() > 64) return InvalidArgument("event type longer than 64 characters");
  const json::value* data = object->if_contains("data");
  const auto& known = KnownEventTypes();
  auto found = std::find(known.begin(), known.end(), event.type);
  if (found != known.end()) event.type_index = static_cast<int>(found - known.begin());
  if (!event.known()) {
    if (data != nullptr && data->is_object())
      event.room_id = StringField(data->as_object(), "roomId").value_or("");
    if (Utf8Length(event.room_id) > kMaxIdChars) event.room_id.clear();
    return event;
  }
  if (data == nullptr || !data->is_object()) return InvalidArgument("body has no object \"data\"");
  LBMIRROR_RETURN_IF_ERROR(FillKnown(data->as_object(), event));
  return event;
}

}  // namespace lbmirror::webhook
