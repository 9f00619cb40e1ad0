// Replay: after an outage or a fix, the targets of every stored webhook received in a time
// range are marked dirty again, so the workers read them anew. Events are hints: a replay is a
// re-read of the REST API, never a re-application of old payloads. Thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/result.h"
#include "store/store.h"

namespace lbmirror::sync {

struct ReplayOptions {
  int64_t since_ms = 0;             // received at or after (epoch ms)
  std::optional<int64_t> until_ms;  // received before (none: up to now)
  std::string type;                 // only this event type (empty: every type)
  std::string room_id;              // only this room (empty: every room)
};

struct ReplayCounts {
  int64_t webhooks = 0;         // stored webhooks in the range
  int64_t targets = 0;          // distinct targets marked dirty
  int64_t without_targets = 0;  // webhooks of unknown types, or that mark nothing
  int64_t unreadable = 0;       // payloads that no longer parse (kept, skipped)
};

// Marks dirty the targets of the stored webhooks the options select, a page at a time.
Result<ReplayCounts> Replay(store::EventLog& events, store::TargetQueue& queue,
                            const ReplayOptions& options);

}  // namespace lbmirror::sync
