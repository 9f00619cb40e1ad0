#include "webhook/signature_verifier.h"

#include <gtest/gtest.h>

namespace lbmirror::webhook {
namespace {

// Three signed requests and their signatures as Liveblocks documents them.
struct Vector {
  const char* secret;
  const char* id;
  const char* timestamp;
  const char* body;
  const char* signature;
};

const Vector kVector1{
    "whsec_bGl2ZWJsb2Nrcy1taXJyb3ItdGVzdC1zZWNyZXQtMDE=", "msg_2hGZ1tQ0b3xYw9nQk5v7sR8aJ4c",
    "1767225600",
    R"({"type":"storageUpdated","data":{"roomId":"my-room","projectId":"605a50b01a36d5ea7a2e9104","updatedAt":"2026-01-01T00:00:00.000Z"}})",
    "v1,Kv/zYylrEa8q+EWnPg1omC3l14PUej9fn7xGLtCG4FU="};
const Vector kVector2{
    "whsec_AwoRGB8mLTQ7QklQV15lbHN6gYiPlp2kq7K5wMfO1dw=", "msg_p5jXN8AQM9LWM0D4loKWxJek",
    "1767225900",
    R"({"type":"userEntered","data":{"projectId":"605a50b01a36d5ea7a2e9104","roomId":"room-42","connectionId":7,"userId":null,"userInfo":null,"enteredAt":"2026-01-01T00:04:59.123Z","numActiveUsers":1}})",
    "v1,wVkLbTwcJg/hKml827DLWm275udAt4y9i8z5kksHQLM= "
    "v1,DcBFhQqIJmye7HuatjELw6kFtm35W+LXnoxrhA+qDXA="};
const Vector kVector3{
    "whsec_czNjcjN0w6ktYnl0ZXMt4piDLXg=", "msg_31q2ZsUEV6J9fM0u8hDkYtWc", "1767229200",
    "{\"type\":\"commentReactionAdded\",\"data\":{\"projectId\":\"605a50b01a36d5ea7a2e9104\","
    "\"roomId\":\"caf\xC3\xA9-room\",\"threadId\":\"th_abc\",\"commentId\":\"cm_def\",\"emoji\":"
    "\"\xF0\x9F\x91\x8D\",\"addedAt\":\"2026-01-01T01:00:00.000Z\",\"addedBy\":\"Jos\xC3\xA9\"}}",
    "v1,ZpWAEMxhmdoBtzhY/mv/vHwC0V5LRwcyJF1/4RO56no="};

int64_t Ms(const Vector& v, int64_t offset_ms = 1234) {
  return std::stoll(v.timestamp) * 1000 + offset_ms;
}

SignedRequest RequestOf(const Vector& v) { return {v.id, v.timestamp, v.signature, v.body}; }

Status VerifyWith(const Vector& v, const SignedRequest& request, int64_t now_ms) {
  auto verifier = SignatureVerifier::Create(v.secret, 300);
  EXPECT_TRUE(verifier.has_value());
  return verifier->Verify(request, now_ms);
}

class SpecVectorTest : public ::testing::TestWithParam<Vector> {};

TEST_P(SpecVectorTest, AcceptsTheSpecVector) {
  const Vector& v = GetParam();
  Status status = VerifyWith(v, RequestOf(v), Ms(v));
  EXPECT_TRUE(status.has_value()) << status.error().message();
}

TEST_P(SpecVectorTest, AcceptsBothEndsOfTheWindowAndRejectsBeyond) {
  const Vector& v = GetParam();
  EXPECT_TRUE(VerifyWith(v, RequestOf(v), Ms(v, 300'000)).has_value());
  EXPECT_TRUE(VerifyWith(v, RequestOf(v), Ms(v, 300'999)).has_value());
  EXPECT_TRUE(VerifyWith(v, RequestOf(v), Ms(v, -300'000)).has_value());
  Status too_old = VerifyWith(v, RequestOf(v), Ms(v, 301'000));
  ASSERT_FALSE(too_old.has_value());
  EXPECT_EQ(too_old.error().message(), "webhook timestamp too old");
  Status future = VerifyWith(v, RequestOf(v), Ms(v, -301'000));
  ASSERT_FALSE(future.has_value());
  EXPECT_EQ(future.error().message(), "webhook timestamp in the future");
}

TEST_P(SpecVectorTest, RejectsABodyWithATrailingNewline) {
  const Vector& v = GetParam();
  std::string body = std::string(v.body) + "\n";
  SignedRequest request = RequestOf(v);
  request.body = body;
  Status status = VerifyWith(v, request, Ms(v));
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code(), ErrorCode::kUnauthenticated);
}

TEST_P(SpecVectorTest, IgnoresTheVersionLabel) {
  const Vector& v = GetParam();
  std::string signature(v.signature);
  for (size_t pos; (pos = signature.find("v1,")) != std::string::npos;)
    signature.replace(pos, 3, "v2,");
  SignedRequest request = RequestOf(v);
  request.signature = signature;
  EXPECT_TRUE(VerifyWith(v, request, Ms(v)).has_value());
}

TEST_P(SpecVectorTest, RejectsASignatureWithoutVersion) {
  const Vector& v = GetParam();
  std::string signature(v.signature);
  signature = signature.substr(signature.rfind(',') + 1);
  SignedRequest request = RequestOf(v);
  request.signature = signature;
  EXPECT_FALSE(VerifyWith(v, request, Ms(v)).has_value());
}

INSTANTIATE_TEST_SUITE_P(Spec, SpecVectorTest, ::testing::Values(kVector1, kVector2, kVector3));

TEST(SignatureVerifierTest, AcceptsAnyOfSeveralSecretsDuringRotation) {
  std::string secrets = std::string("whsec_AAAAAAAAAAAAAAAAAAAAAAAA, ") + kVector1.secret;
  auto verifier = SignatureVerifier::Create(secrets, 300);
  ASSERT_TRUE(verifier.has_value());
  EXPECT_EQ(verifier->secret_count(), 2u);
  EXPECT_TRUE(verifier->Verify(RequestOf(kVector1), Ms(kVector1)).has_value());
  auto space_separated =
      SignatureVerifier::Create(std::string(kVector3.secret) + " " + kVector1.secret, 300);
  ASSERT_TRUE(space_separated.has_value());
  EXPECT_TRUE(space_separated->Verify(RequestOf(kVector1), Ms(kVector1)).has_value());
  EXPECT_TRUE(space_separated->Verify(RequestOf(kVector3), Ms(kVector3)).has_value());
}

TEST(SignatureVerifierTest, RejectsAnotherSecret) {
  auto verifier = SignatureVerifier::Create(kVector2.secret, 300);
  ASSERT_TRUE(verifier.has_value());
  Status status = verifier->Verify(RequestOf(kVector1), Ms(kVector1));
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().message(), "webhook signature does not match");
}

TEST(SignatureVerifierTest, ReportsEachMissingHeader) {
  auto verifier = SignatureVerifier::Create(kVector1.secret, 300);
  ASSERT_TRUE(verifier.has_value());
  SignedRequest no_id = RequestOf(kVector1);
  no_id.id.reset();
  EXPECT_EQ(verifier->Verify(no_id, Ms(kVector1)).error().message(), "missing webhook-id header");
  SignedRequest no_ts = RequestOf(kVector1);
  no_ts.timestamp.reset();
  EXPECT_EQ(verifier->Verify(no_ts, Ms(kVector1)).error().message(),
            "missing webhook-timestamp header");
  SignedRequest no_sig = RequestOf(kVector1);
  no_sig.signature.reset();
  EXPECT_EQ(verifier->Verify(no_sig, Ms(kVector1)).error().code(), ErrorCode::kInvalidArgument);
}

TEST(SignatureVerifierTest, RejectsMalformedTimestampAndSignatureHeaders) {
  auto verifier = SignatureVerifier::Create(kVector1.secret, 300);
  ASSERT_TRUE(verifier.has_value());
  SignedRequest request = RequestOf(kVector1);
  request.timestamp = "abc";
  EXPECT_EQ(verifier->Verify(request, Ms(kVector1)).error().code(), ErrorCode::kInvalidArgument);
  request = RequestOf(kVector1);
  request.signature = "v1,not-base64!!";
  EXPECT_EQ(verifier->Verify(request, Ms(kVector1)).error().code(), ErrorCode::kUnauthenticated);
  request.signature = "v1,";
  EXPECT_FALSE(verifier->Verify(request, Ms(kVector1)).has_value());
}

TEST(SignatureVerifierTest, MillisecondTimestampIsOutsideTheWindow) {
  // The SDK's stale example sends milliseconds; the real header is seconds.
  auto verifier = SignatureVerifier::Create(kVector1.secret, 300);
  ASSERT_TRUE(verifier.has_value());
  SignedRequest request = RequestOf(kVector1);
  std::string ms = std::string(kVector1.timestamp) + "000";
  request.timestamp = ms;
  EXPECT_FALSE(verifier->Verify(request, Ms(kVector1)).has_value());
}

TEST(SignatureVerifierTest, RefusesMalformedSecretsWithoutEchoingThem) {
  for (const char* secret : {"", "   ", "sk_notawebhooksecret", "whsec_", "whsec_@@@@"}) {
    auto verifier = SignatureVerifier::Create(secret, 300);
    ASSERT_FALSE(verifier.has_value()) << secret;
    if (std::string(secret).size() > 6) {
      EXPECT_EQ(verifier.error().message().find(secret), std::string::npos);
    }
  }
}

TEST(SignatureVerifierTest, SignProducesWhatVerifyAccepts) {
  auto verifier = SignatureVerifier::Create(kVector1.secret, 300);
  ASSERT_TRUE(verifier.has_value());
  EXPECT_EQ("v1," + verifier->Sign(kVector1.id, kVector1.timestamp, kVector1.body),
            kVector1.signature);
}

}  // namespace
}  // namespace lbmirror::webhook
