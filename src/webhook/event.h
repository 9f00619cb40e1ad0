// Typed view of a Liveblocks webhook body ({"type": ..., "data": {...}}) and the targets it
// marks dirty (docs/architecture.md: the table of event types and targets). Parsing is pure and
// thread-safe. Unknown event types parse successfully with known() == false and no targets, so they
// are stored and acknowledged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/target.h"

namespace lbmirror::webhook {

// The 18 event types of the Liveblocks SDK, in spec order, then roomUpdated, which only its
// integration pages name (a hint for the room target).
const std::vector<std::string_view>& KnownEventTypes();

struct Event {
  std::string type;
  // Position in KnownEventTypes(); -1 for any other type, and for a notification of a kind
  // outside the documented ones (both are stored and acknowledged without targets).
  int type_index = -1;
  bool known() const { return type_index >= 0; }
  std::string room_id;    // empty when the event has none
  std::string thread_id;  // thread and comment events
  std::string user_id;    // notification recipient; userEntered/userLeft user (may be "")
  std::string inbox_notification_id;
  std::string notification_kind;         // "thread", "textMention" or "$custom"
  std::optional<int64_t> connection_id;  // userEntered/userLeft
  std::string user_info;                 // userEntered/userLeft: JSON, empty when null
  int64_t presence_at_ms = 0;            // userEntered: enteredAt, userLeft: leftAt
  std::vector<store::TargetKey> targets;
};

// Parses a webhook body. kInvalidArgument (with a short reason) when the body is not a JSON
// object with a string "type" and an object "data", or when a known type lacks a field the
// mirror needs (for example data.roomId).
Result<Event> ParseEvent(std::string_view body);

}  // namespace lbmirror::webhook
