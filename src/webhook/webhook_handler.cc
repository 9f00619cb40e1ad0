#include "webhook/webhook_handler.h"

#include <algorithm>
#include <charconv>
#include <future>

#include "core/log.h"
#include "core/text.h"
#include "webhook/event.h"

namespace lbmirror::webhook {

int64_t WebhookCounters::Total(Outcome outcome) const {
  int64_t total = 0;
  for (int row = 0; row < kTypes; ++row) total += Get(row, outcome);
  return total;
}

std::string_view WebhookCounters::TypeLabel(int row) {
  if (row == kOther) return "other";
  if (row == kUnparsed) return "unparsed";
  return KnownEventTypes()[static_cast<size_t>(row)];
}

std::string_view WebhookCounters::OutcomeLabel(Outcome outcome) {
  static constexpr std::string_view kLabels[] = {"stored", "duplicate", "rejected", "unavailable"};
  return kLabels[outcome];
}

WebhookHandler::WebhookHandler(const SignatureVerifier& verifier, store::Inbox& inbox,
                               const Clock& clock, std::function<void()> on_stored)
    : verifier_(verifier), inbox_(inbox), clock_(clock), on_stored_(std::move(on_stored)) {}

http::Response WebhookHandler::Handle(const http::Request& request) {
  std::promise<http::Response> answer;
  std::future<http::Response> ready = answer.get_future();
  Handle(request, [&answer](http::Response response) { answer.set_value(std::move(response)); });
  return ready.get();
}

void WebhookHandler::Handle(const http::Request& request, http::Responder respond) {
  SignedRequest signed_request{request.SingleHeader("webhook-id"),
                               request.SingleHeader("webhook-timestamp"),
                               request.SingleHeader("webhook-signature"), request.body};
  int64_t now_ms = clock_.NowMs();
  if (Status verified = verifier_.Verify(signed_request, now_ms); !verified) {
    counters_.Add(WebhookCounters::kUnparsed, WebhookCounters::kRejected);
    const Error& error = verified.error();
    log::Warn(Cat("webhook rejected: ", error.message()));
    int status = error.code() == ErrorCode::kUnauthenticated ? 401
                 : error.code() == ErrorCode::kInternal      ? 500
                                                             : 400;
    return respond(http::Response::Error(status, error.message()));
  }
  std::string_view webhook_id = *signed_request.id;
  Result<Event> event = ParseEvent(request.body);
  if (!event) {
    counters_.Add(WebhookCounters::kUnparsed, WebhookCounters::kRejected);
    log::Warn(Cat("webhook ", webhook_id, " rejected: ", event.error().message()));
    return respond(http::Response::Error(400, event.error().message()));
  }
  store::InboxEvent record;
  record.webhook_id = std::string(webhook_id);
  record.type = event->type;
  record.room_id = event->room_id;
  record.received_at_ms = now_ms;
  // Verify() accepted it: it starts with at most 15 digits, a time within the window.
  std::string_view timestamp = *signed_request.timestamp;
  record.webhook_timestamp = 0;
  std::from_chars(timestamp.data(), timestamp.data() + std::min<size_t>(timestamp.size(), 15),
                  record.webhook_timestamp);
  record.payload = request.body;
  record.targets = std::move(event->targets);
  if (event->connection_id) {
    record.session = store::SessionChange{event->type == "userEntered",
                                          event->room_id,
                                          *event->connection_id,
                                          event->user_id,
                                          event->user_info,
                                          event->presence_at_ms};
  }
  inbox_.RecordAsync(std::move(record),
                     [this, type_index = event->type_index, respond = std::move(respond)](
                         const store::InboxEvent& recorded, const Result<bool>& stored) {
                       respond(Answer(recorded, type_index, stored));
                     });
}

http::Response WebhookHandler::TimedOut(const http::Request& request) {
  Result<Event> event = ParseEvent(request.body);
  counters_.Add(event ? event->type_index : WebhookCounters::kOther, WebhookCounters::kUnavailable);
  log::Warn(Cat("webhook ", request.SingleHeader("webhook-id").value_or("?"),
                " not acknowledged in time (the database is slow or unreachable), answering 503"));
  http::Response response = http::Response::Error(503, "event not stored in time; retry");
  response.headers.emplace("Retry-After", "5");
  return response;
}

http::Response WebhookHandler::Answer(const store::InboxEvent& recorded, int type_index,
                                      const Result<bool>& stored) {
  const std::string& webhook_id = recorded.webhook_id;
  const std::string& type = recorded.type;
  if (!stored) {
    counters_.Add(type_index, WebhookCounters::kUnavailable);
    // Either way the answer is not 2xx, so Liveblocks delivers the event again later.
    bool retryable = stored.error().retryable();
    log::Error(Cat("webhook ", webhook_id, " (", type, ") not stored, answering ",
                   retryable ? 503 : 500, ": ", stored.error().ToString()));
    if (!retryable) return http::Response::Error(500, "event could not be stored");
    http::Response response = http::Response::Error(503, "event could not be stored; retry");
    response.headers.emplace("Retry-After", "5");
    return response;
  }
  if (!*stored) {
    counters_.Add(type_index, WebhookCounters::kDuplicate);
    if (log::DebugEnabled()) log::Debug(Cat("webhook ", webhook_id, " is a duplicate"));
    return http::Response::Json(200, R"({"status":"duplicate"})");
  }
  counters_.Add(type_index, WebhookCounters::kStored);
  counters_.Stored(clock_.NowMs());
  if (type_index < 0) {
    log::Info(
        Cat("webhook ", webhook_id, ": unknown event type \"", type, "\" stored without targets"));
  }
  if (on_stored_) on_stored_();
  return http::Response::Json(200, R"({"status":"stored"})");
}

}  // namespace lbmirror::webhook
