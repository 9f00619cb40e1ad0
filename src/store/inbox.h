// Inbox: the durable record of accepted webhooks. RecordAsync() stores the event and marks
// its targets dirty in one transaction and reports the outcome only after the commit.
// Implementations are thread-safe: the HTTP layer records from several threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/target.h"

namespace lbmirror::store {

// A userEntered/userLeft event, applied to liveblocks_room_sessions when the event is stored
// (the payload is the only record of it: sessions cannot be re-read later).
struct SessionChange {
  bool entered = true;  // userEntered, else userLeft
  std::string room_id;
  int64_t connection_id = 0;
  std::string user_id;    // empty for anonymous connections
  std::string user_info;  // JSON, empty when absent
  int64_t at_ms = 0;      // enteredAt / leftAt
};

struct InboxEvent {
  std::string webhook_id;  // dedupe key (webhook-id header)
  std::string type;        // event type as sent, known or not
  std::string room_id;     // empty when the event has none
  int64_t received_at_ms = 0;
  int64_t webhook_timestamp = 0;  // seconds, from the webhook-timestamp header
  std::string_view payload;       // the raw body bytes, stored verbatim
  std::vector<TargetKey> targets;
  std::optional<SessionChange> session;
};

class Inbox {
 public:
  // The event recorded, and the outcome: true when the event is new, false when an event
  // with the same webhook_id was already stored (nothing is changed then). An error means
  // nothing was stored; a retryable error means the database is unavailable (answer 503).
  using RecordDone = std::function<void(const InboxEvent& event, Result<bool> outcome)>;

  virtual ~Inbox() = default;
  // Stores the event and marks its targets dirty, atomically, then calls `done` once, on
  // any thread (possibly before returning). event.payload must stay valid until then.
  virtual void RecordAsync(InboxEvent event, RecordDone done) = 0;

  // Opens connections and prepares statements ahead of the first webhooks, so that the first
  // burst is as fast as the next ones. Optional: recording works without it.
  virtual Status WarmUp() { return Ok(); }

  // RecordAsync, waiting for the outcome.
  Result<bool> Record(const InboxEvent& event) {
    std::promise<Result<bool>> outcome;
    std::future<Result<bool>> ready = outcome.get_future();
    RecordAsync(event, [&outcome](const InboxEvent&, Result<bool> result) {
      outcome.set_value(std::move(result));
    });
    return ready.get();
  }
};

}  // namespace lbmirror::store
