// Inbox: the durable record of accepted webhooks. Record() stores the event and marks its
// targets dirty in one transaction; it returns only after the commit. Implementations are
// thread-safe: the HTTP layer calls Record() from many threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/target.h"

namespace lbmirror::store {

struct InboxEvent {
  std::string webhook_id;       // dedupe key (webhook-id header)
  std::string type;             // event type as sent, known or not
  std::string room_id;          // empty when the event has none
  int64_t received_at_ms = 0;
  int64_t webhook_timestamp = 0;  // seconds, from the webhook-timestamp header
  std::string_view payload;     // the raw body bytes, stored verbatim
  std::vector<TargetKey> targets;
};

class Inbox {
 public:
  virtual ~Inbox() = default;
  // Stores the event and marks its targets dirty, atomically. Returns true when the event
  // is new, false when an event with the same webhook_id was already stored (nothing is
  // changed then). An error means nothing was stored; a retryable error means the database
  // is unavailable (answer 503).
  virtual Result<bool> Record(const InboxEvent& event) = 0;
};

}  // namespace lbmirror::store
