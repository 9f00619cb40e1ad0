#include "webhook/webhook_handler.h"

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "fakes/fake_inbox.h"

namespace lbmirror::webhook {
namespace {

constexpr const char* kSecret = "whsec_bGl2ZWJsb2Nrcy1taXJyb3ItdGVzdC1zZWNyZXQtMDE=";
constexpr int64_t kNowSeconds = 1767225600;

class WebhookHandlerTest : public ::testing::Test {
 protected:
  WebhookHandlerTest()
      : clock_(kNowSeconds * 1000),
        verifier_(*SignatureVerifier::Create(kSecret, 300)),
        handler_(verifier_, inbox_, clock_, [this] { ++notified_; }) {}

  http::Request Signed(const std::string& id, const std::string& body) {
    http::Request request;
    request.method = "POST";
    request.path = "/api/liveblocks-webhook";
    std::string timestamp = std::to_string(kNowSeconds);
    request.headers.emplace("webhook-id", id);
    request.headers.emplace("webhook-timestamp", timestamp);
    request.headers.emplace("webhook-signature", "v1," + verifier_.Sign(id, timestamp, body));
    request.body = body;
    return request;
  }

  FakeClock clock_;
  SignatureVerifier verifier_;
  store::FakeInbox inbox_;
  int notified_ = 0;
  WebhookHandler handler_;
};

const std::string kStorageEvent =
    R"({"type":"storageUpdated","data":{"roomId":"room-1","projectId":"p","updatedAt":"2026-01-01T00:00:00.000Z"}})";

TEST_F(WebhookHandlerTest, StoresAVerifiedEventWithItsTargetsAndRawBody) {
  http::Response response = handler_.Handle(Signed("msg_1", kStorageEvent));
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(response.body, R"({"status":"stored"})");
  auto events = inbox_.events();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events["msg_1"].type, "storageUpdated");
  EXPECT_EQ(events["msg_1"].payload, kStorageEvent);
  ASSERT_EQ(events["msg_1"].targets.size(), 1u);
  EXPECT_EQ(events["msg_1"].targets[0].ToString(), "storage:room-1");
  EXPECT_EQ(notified_, 1);
}

TEST_F(WebhookHandlerTest, ARedeliveryIsAcknowledgedAndChangesNothing) {
  ASSERT_EQ(handler_.Handle(Signed("msg_1", kStorageEvent)).status, 200);
  http::Response again = handler_.Handle(Signed("msg_1", kStorageEvent));
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body, R"({"status":"duplicate"})");
  EXPECT_EQ(inbox_.events().size(), 1u);
  EXPECT_EQ(notified_, 1);
  const auto& counters = handler_.counters();
  EXPECT_EQ(counters.Total(WebhookCounters::kDuplicate), 1);
  EXPECT_EQ(counters.Get(0, WebhookCounters::kDuplicate), 1) << "counted as storageUpdated";
  EXPECT_EQ(counters.Total(WebhookCounters::kStored), 1);
}

TEST_F(WebhookHandlerTest, AForgedSignatureIs401AndNothingIsStored) {
  http::Request request = Signed("msg_1", kStorageEvent);
  request.body = R"({"type":"storageUpdated","data":{"roomId":"evil"}})";
  http::Response response = handler_.Handle(request);
  EXPECT_EQ(response.status, 401);
  EXPECT_EQ(response.body, R"({"error":"webhook signature does not match"})");
  EXPECT_TRUE(inbox_.events().empty());
  EXPECT_EQ(notified_, 0);
}

TEST_F(WebhookHandlerTest, MissingHeadersAre400) {
  http::Request request = Signed("msg_1", kStorageEvent);
  request.headers.erase("webhook-signature");
  EXPECT_EQ(handler_.Handle(request).status, 400);
  EXPECT_TRUE(inbox_.events().empty());
}

TEST_F(WebhookHandlerTest, RepeatedHeadersAreRejected) {
  http::Request request = Signed("msg_1", kStorageEvent);
  request.headers.emplace("webhook-id", "msg_2");
  EXPECT_EQ(handler_.Handle(request).status, 400);
}

TEST_F(WebhookHandlerTest, AStaleTimestampIs401) {
  clock_.Advance(301'000);
  EXPECT_EQ(handler_.Handle(Signed("msg_1", kStorageEvent)).status, 401);
  EXPECT_TRUE(inbox_.events().empty());
}

TEST_F(WebhookHandlerTest, ASignedButMalformedBodyIs400) {
  http::Response response = handler_.Handle(Signed("msg_1", "{not json"));
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(response.body, R"({"error":"body is not valid JSON"})");
  EXPECT_TRUE(inbox_.events().empty());
}

TEST_F(WebhookHandlerTest, AnUnknownTypeIsStoredAndAcknowledged) {
  http::Response response =
      handler_.Handle(Signed("msg_9", R"({"type":"roomArchived","data":{"roomId":"r"}})"));
  EXPECT_EQ(response.status, 200);
  auto events = inbox_.events();
  ASSERT_EQ(events.count("msg_9"), 1u);
  EXPECT_TRUE(events["msg_9"].targets.empty());
}

TEST_F(WebhookHandlerTest, AnswersRetryable503WhenTheInboxIsDown) {
  inbox_.SetFailing(true);
  http::Response response = handler_.Handle(Signed("msg_1", kStorageEvent));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.headers.count("Retry-After"), 1u);
  EXPECT_EQ(notified_, 0);
  inbox_.SetFailing(false);
  EXPECT_EQ(handler_.Handle(Signed("msg_1", kStorageEvent)).status, 200);
  EXPECT_EQ(inbox_.events().size(), 1u);
}

TEST_F(WebhookHandlerTest, AWebhookNotStoredInTimeIsAnsweredARetryable503AndCounted) {
  http::Response response = handler_.TimedOut(Signed("msg_1", kStorageEvent));
  EXPECT_EQ(response.status, 503);
  EXPECT_EQ(response.headers.count("Retry-After"), 1u);
  const auto& counters = handler_.counters();
  EXPECT_EQ(counters.Get(0, WebhookCounters::kUnavailable), 1) << "counted as storageUpdated";
  // A body that does not parse is counted too, as another type.
  EXPECT_EQ(handler_.TimedOut(Signed("msg_2", "not json")).status, 503);
  EXPECT_EQ(counters.Get(WebhookCounters::kOther, WebhookCounters::kUnavailable), 1);
}

TEST_F(WebhookHandlerTest, AnswersNon2xxWhenTheInboxRefusesTheEvent) {
  inbox_.SetFailing(true, /*retryable=*/false);
  http::Response response = handler_.Handle(Signed("msg_1", kStorageEvent));
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(notified_, 0);
}

TEST_F(WebhookHandlerTest, AWebhookIdWithControlCharactersIs400) {
  http::Response response = handler_.Handle(Signed(std::string("msg_\x01") + "bad", kStorageEvent));
  EXPECT_EQ(response.status, 400);
  EXPECT_TRUE(inbox_.events().empty());
}

}  // namespace
}  // namespace lbmirror::webhook
