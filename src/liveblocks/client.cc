#include "liveblocks/client.h"

#include <boost/json.hpp>

#include "core/text.h"

namespace lbmirror::liveblocks {

std::string RoomPath(std::string_view room_id) {
  return "/v2/rooms/" + EncodeUriComponent(room_id);
}
std::string StoragePath(std::string_view room_id) {
  return RoomPath(room_id) + "/storage?format=json";
}
std::string YdocBinaryPath(std::string_view room_id) { return RoomPath(room_id) + "/ydoc-binary"; }
std::string ActiveUsersPath(std::string_view room_id) {
  return RoomPath(room_id) + "/active_users";
}
std::string ThreadPath(std::string_view room_id, std::string_view thread_id) {
  return RoomPath(room_id) + "/threads/" + EncodeUriComponent(thread_id);
}
std::string RoomsPath(std::string_view starting_after, int limit) {
  std::string path = Cat("/v2/rooms?limit=", limit);
  if (!starting_after.empty()) path += "&startingAfter=" + EncodeUriComponent(starting_after);
  return path;
}
std::string ThreadsPath(std::string_view room_id) { return RoomPath(room_id) + "/threads"; }
std::string InboxNotificationPath(std::string_view user_id, std::string_view notification_id) {
  return "/v2/users/" + EncodeUriComponent(user_id) + "/inbox-notifications/" +
         EncodeUriComponent(notification_id);
}

std::string DescribeErrorResponse(const RestResponse& response) {
  std::string out = Cat("Liveblocks answered ", response.status);
  boost::system::error_code ec;
  auto value = boost::json::parse(response.body, ec);
  if (!ec && value.is_object()) {
    const auto& object = value.as_object();
    for (const char* field : {"error", "message", "reason"}) {
      if (const auto* v = object.if_contains(field); v != nullptr && v->is_string()) {
        out += " ";
        out += std::string_view(v->as_string()).substr(0, 300);
      }
    }
  } else if (!response.body.empty()) {
    out += " ";
    out += std::string_view(response.body).substr(0, 200);
  }
  return out;
}

}  // namespace lbmirror::liveblocks
