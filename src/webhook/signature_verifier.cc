#include "webhook/signature_verifier.h"

#include <openssl/evp.h>

#include <cctype>

#include "core/text.h"

namespace lbmirror::webhook {

namespace {
constexpr std::string_view kSecretPrefix = "whsec_";
constexpr size_t kMaxIdLength = 255;

// HMAC-SHA256 over the three parts without concatenating the (possibly large) body.
std::string HmacSha256(const std::string& key, std::string_view id, std::string_view timestamp,
                       std::string_view body) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_len = 0;
  // The algorithm is fetched once: fetching is a provider lookup, and EVP_MAC is shareable.
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_new(mac);
  if (ctx == nullptr) return std::string();
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string("digest", const_cast<char*>("SHA256"), 0),
                         OSSL_PARAM_construct_end()};
  size_t len = 0;
  bool ok = EVP_MAC_init(ctx, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                         params) == 1 &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(id.data()), id.size()) &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>("."), 1) &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(timestamp.data()),
                           timestamp.size()) &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>("."), 1) &&
            EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(body.data()), body.size()) &&
            EVP_MAC_final(ctx, out, &len, sizeof out) == 1;
  EVP_MAC_CTX_free(ctx);
  out_len = ok ? static_cast<unsigned int>(len) : 0;
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(out), out_len));
}

// parseInt semantics: the leading decimal digits; nullopt when there are none.
std::optional<int64_t> LeadingInteger(std::string_view text) {
  int64_t value = 0;
  size_t digits = 0;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c))) break;
    if (++digits > 15) return std::nullopt;  // far outside any sane window
    value = value * 10 + (c - '0');
  }
  if (digits == 0) return std::nullopt;
  return value;
}
}  // namespace

Result<SignatureVerifier> SignatureVerifier::Create(std::string_view secrets,
                                                    int64_t tolerance_seconds) {
  std::vector<std::string> keys;
  int index = 0;
  for (const std::string& secret : SplitAny(secrets, " ,\t\n")) {
    ++index;
    if (!StartsWith(secret, kSecretPrefix)) {
      return InvalidArgument(Cat("webhook secret #", index, " does not start with whsec_"));
    }
    auto key = Base64Decode(std::string_view(secret).substr(kSecretPrefix.size()));
    if (!key || key->empty()) {
      return InvalidArgument(Cat("webhook secret #", index, " is not valid base64 after whsec_"));
    }
    keys.push_back(std::move(*key));
  }
  if (keys.empty()) return InvalidArgument("no webhook secret configured");
  if (tolerance_seconds < 0) return InvalidArgument("timestamp tolerance must not be negative");
  return SignatureVerifier(std::move(keys), tolerance_seconds);
}

Status SignatureVerifier::Verify(const SignedRequest& request, int64_t now_ms) const {
  if (!request.id) return InvalidArgument("missing webhook-id header");
  if (!request.timestamp) return InvalidArgument("missing webhook-timestamp header");
  if (!request.signature) return InvalidArgument("missing webhook-signature header");
  if (request.id->empty() || request.id->size() > kMaxIdLength) {
    return InvalidArgument("webhook-id header is empty or too long");
  }
  // Message ids are short ASCII tokens (msg_...); anything else cannot be a real delivery and
  // would not fit the id column.
  for (char c : *request.id) {
    if (c <= ' ' || c > '~')
      return InvalidArgument("webhook-id header has characters outside printable ASCII");
  }
  auto timestamp = LeadingInteger(*request.timestamp);
  if (!timestamp) return InvalidArgument("webhook-timestamp header is not a number");
  int64_t now = now_ms / 1000;
  if (*timestamp < now - tolerance_seconds_) {
    return Error(ErrorCode::kUnauthenticated, "webhook timestamp too old");
  }
  if (*timestamp > now + tolerance_seconds_) {
    return Error(ErrorCode::kUnauthenticated, "webhook timestamp in the future");
  }
  std::vector<std::string> candidates;
  for (const std::string& piece : SplitAny(*request.signature, " ")) {
    size_t comma = piece.find(',');
    if (comma == std::string::npos) continue;
    size_t end = piece.find(',', comma + 1);
    candidates.push_back(
        piece.substr(comma + 1, end == std::string::npos ? std::string::npos : end - comma - 1));
  }
  if (candidates.empty()) return InvalidArgument("webhook-signature header has no signature");
  bool match = false;
  for (const std::string& key : keys_) {
    std::string expected = HmacSha256(key, *request.id, *request.timestamp, request.body);
    if (expected.empty()) return Internal("HMAC computation failed");
    // Compare against every candidate so timing does not reveal which one matched.
    for (const std::string& candidate : candidates)
      match |= ConstantTimeEquals(expected, candidate);
  }
  if (!match) return Error(ErrorCode::kUnauthenticated, "webhook signature does not match");
  return Ok();
}

std::string SignatureVerifier::Sign(std::string_view id, std::string_view timestamp,
                                    std::string_view body) const {
  return HmacSha256(keys_.front(), id, timestamp, body);
}

}  // namespace lbmirror::webhook
