// WebhookHandler turns one HTTP request into one response: verify the signature over the
// raw body, parse the event, store it durably in the inbox (deduplicated on webhook-id,
// targets marked dirty), then answer. It never answers 2xx for an event that is not stored.
// Handle() is thread-safe if the Inbox is.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string_view>

#include "core/clock.h"
#include "http/message.h"
#include "store/inbox.h"
#include "webhook/signature_verifier.h"

namespace lbmirror::webhook {

// Webhook requests by event type and outcome, readable from any thread; lock-free, as they
// are counted on every request.
class WebhookCounters {
 public:
  enum Outcome { kStored, kDuplicate, kRejected, kUnavailable, kOutcomes };
  // Rows: the 19 known types in KnownEventTypes() order, then "other" (Event::type_index -1)
  // and "unparsed" (rejected before the type was known).
  static constexpr int kOther = 19, kUnparsed = 20, kTypes = 21;

  void Add(int type_index, Outcome outcome) {
    int row = type_index < 0 ? kOther : type_index;
    counts_[static_cast<size_t>(row)][outcome].fetch_add(1, std::memory_order_relaxed);
  }
  int64_t Get(int row, Outcome outcome) const {
    return counts_[static_cast<size_t>(row)][outcome].load(std::memory_order_relaxed);
  }
  int64_t Total(Outcome outcome) const;
  // When the last new webhook was stored (ms since the epoch), 0 when none was yet.
  void Stored(int64_t now_ms) { last_stored_ms_.store(now_ms, std::memory_order_relaxed); }
  int64_t LastStoredMs() const { return last_stored_ms_.load(std::memory_order_relaxed); }
  static std::string_view TypeLabel(int row);
  static std::string_view OutcomeLabel(Outcome outcome);

 private:
  std::array<std::array<std::atomic<int64_t>, kOutcomes>, kTypes> counts_{};
  std::atomic<int64_t> last_stored_ms_{0};
};

class WebhookHandler {
 public:
  // `on_stored` runs after a new event was committed (for example to wake the workers).
  // The verifier, inbox and clock must outlive the handler.
  WebhookHandler(const SignatureVerifier& verifier, store::Inbox& inbox, const Clock& clock,
                 std::function<void()> on_stored);

  // Answers through `respond` (on the inbox's thread once the event is committed, at once
  // when it is rejected): 200 stored or duplicate; 400 malformed; 401 bad signature or
  // timestamp; 503 when the inbox is unavailable, 500 when it refused the event (Liveblocks
  // retries both). The request must stay valid until `respond` is called.
  void Handle(const http::Request& request, http::Responder respond);
  // The same, waiting for the answer.
  http::Response Handle(const http::Request& request);
  // The answer when the event's commit has not finished within the acknowledgement deadline:
  // 503 with Retry-After (counted unavailable). If the commit lands after all, Liveblocks'
  // redelivery is a duplicate.
  http::Response TimedOut(const http::Request& request);

  const WebhookCounters& counters() const { return counters_; }

 private:
  // The answer once the inbox has recorded (or refused) the event; counts it.
  http::Response Answer(const store::InboxEvent& recorded, int type_index,
                        const Result<bool>& stored);

  const SignatureVerifier& verifier_;
  store::Inbox& inbox_;
  const Clock& clock_;
  std::function<void()> on_stored_;
  WebhookCounters counters_;
};

}  // namespace lbmirror::webhook
