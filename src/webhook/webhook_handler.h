// WebhookHandler turns one HTTP request into one response: verify the signature over the
// raw body, parse the event, store it durably in the inbox (deduplicated on webhook-id,
// targets marked dirty), then answer. It never answers 2xx for an event that is not stored.
// Handle() is thread-safe if the Inbox is.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "core/clock.h"
#include "core/metrics.h"
#include "http/message.h"
#include "store/inbox.h"
#include "webhook/signature_verifier.h"

namespace lbmirror::webhook {

// Counters readable from any thread (for logs and, later, metrics).
struct WebhookCounters {
  std::atomic<int64_t> stored{0};
  std::atomic<int64_t> duplicates{0};
  std::atomic<int64_t> rejected{0};
  std::atomic<int64_t> unavailable{0};
  // By event type and outcome (stored, duplicate, rejected, unavailable); types outside the
  // 18 documented ones count as "other".
  metrics::LabeledCounter by_type;
};

class WebhookHandler {
 public:
  // `on_stored` runs after a new event was committed (for example to wake the workers).
  // The verifier, inbox and clock must outlive the handler.
  WebhookHandler(const SignatureVerifier& verifier, store::Inbox& inbox, const Clock& clock,
                 std::function<void()> on_stored);

  // 200 stored or duplicate; 400 malformed; 401 bad signature or timestamp; 503 when the
  // inbox is unavailable, 500 when it refused the event (Liveblocks retries both).
  http::Response Handle(const http::Request& request);

  const WebhookCounters& counters() const { return counters_; }

 private:
  const SignatureVerifier& verifier_;
  store::Inbox& inbox_;
  const Clock& clock_;
  std::function<void()> on_stored_;
  WebhookCounters counters_;
};

}  // namespace lbmirror::webhook
