// Verifies Liveblocks (Standard Webhooks / Svix style) signatures over the raw body bytes:
// HMAC-SHA256 of "id.timestamp.body" with each configured secret, compared in constant time
// with every "version,signature" entry of the webhook-signature header, and a timestamp
// window. Pure computation; a SignatureVerifier is immutable and safe to share across threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace lbmirror::webhook {

struct SignedRequest {
  std::optional<std::string_view> id;         // webhook-id header
  std::optional<std::string_view> timestamp;  // webhook-timestamp header (seconds)
  std::optional<std::string_view> signature;  // webhook-signature header
  std::string_view body;                      // raw bytes as received
};

class SignatureVerifier {
 public:
  // `secrets` holds one or more "whsec_<base64>" secrets separated by spaces or commas
  // (several are accepted at once while a secret is rotated). Fails, without echoing the
  // secret, when none is given or one is malformed. `tolerance_seconds` bounds the clock
  // difference in both directions (inclusive).
  static Result<SignatureVerifier> Create(std::string_view secrets, int64_t tolerance_seconds);

  // Ok when a signature matches. kInvalidArgument when a header is missing or malformed,
  // kUnauthenticated when the timestamp is outside the window or no signature matches.
  // The error message is a short reason safe to return to the caller.
  Status Verify(const SignedRequest& request, int64_t now_ms) const;

  // The base64 signature for `id.timestamp.body` under the first secret (tests, tools).
  std::string Sign(std::string_view id, std::string_view timestamp, std::string_view body) const;

  size_t secret_count() const { return keys_.size(); }

 private:
  SignatureVerifier(std::vector<std::string> keys, int64_t tolerance_seconds)
      : keys_(std::move(keys)), tolerance_seconds_(tolerance_seconds) {}

  std::vector<std::string> keys_;  // decoded HMAC keys
  int64_t tolerance_seconds_;
};

}  // namespace lbmirror::webhook
