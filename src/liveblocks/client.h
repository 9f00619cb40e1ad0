// The liveblocks layer's front header: a minimal Liveblocks REST client. Get() performs one
// logical read, retrying network errors, 429 and 5xx with exponential backoff and jitter
// (honouring Retry-After), and returns the final HTTP status and body. Only network failures
// that outlast the retries are errors. Implementations are thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace lbmirror::liveblocks {

struct RestResponse {
  int status = 0;
  std::string body;
  std::optional<int64_t> retry_after_ms;  // from a Retry-After header, if any
  bool dummy = false;  // an X-LB-Warn header calls the body a dummy response (the dev server)
};

// What a client counts of its REST requests (for /metrics and the console); read from any
// thread.
struct RestCounters {
  std::atomic<int64_t> requests{0};  // HTTP requests sent, retries included
  std::atomic<int64_t> retries{0};
  std::atomic<int64_t> failures{0};  // Get() calls that ended in a network error
  // Get() calls by final outcome, in the order of kOutcomeLabels.
  static constexpr const char* kOutcomeLabels[] = {"200", "404", "429", "4xx", "5xx", "network"};
  std::array<std::atomic<int64_t>, 6> by_outcome{};
};

class LiveblocksClient {
 public:
  virtual ~LiveblocksClient() = default;
  // GET base_url + path (path starts with "/v2/", already percent-encoded).
  virtual Result<RestResponse> Get(std::string_view path) = 0;
  // The same for a reconciliation pass: waits behind webhook-driven reads for the REST budget
  // (RestBudget). Clients without a budget read at once.
  virtual Result<RestResponse> GetBackground(std::string_view path) { return Get(path); }
};

// Paths of the reads the mirror makes; ids are percent-encoded like the SDK does.
std::string RoomPath(std::string_view room_id);
std::string StoragePath(std::string_view room_id);  // ?format=json
std::string YdocBinaryPath(std::string_view room_id);
std::string ActiveUsersPath(std::string_view room_id);
std::string ThreadPath(std::string_view room_id, std::string_view thread_id);
// One page of GET /v2/rooms (limit 1-100); starting_after is the previous page's nextCursor.
std::string RoomsPath(std::string_view starting_after, int limit);
// Every thread of a room (GET /v2/rooms/{room}/threads is not paginated).
std::string ThreadsPath(std::string_view room_id);
std::string InboxNotificationPath(std::string_view user_id, std::string_view notification_id);

// "Liveblocks answered 404 ROOM_NOT_FOUND: Room not found." from an error body, tolerant of
// non-JSON bodies and bodies using "reason" instead of "message" (no secrets involved).
std::string DescribeErrorResponse(const RestResponse& response);

}  // namespace lbmirror::liveblocks
