// Fuzzes what a webhook request brings: the three signature headers and the body. The input is
// "webhook-id\nwebhook-timestamp\nwebhook-signature\nbody". Verification and event parsing must
// give a value or an error with a reason, never a crash; a body signed with the verifier's own
// secret must not fail on its signature, and a parsed event's targets name a room or user.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/text.h"
#include "webhook/event.h"
#include "webhook/signature_verifier.h"

namespace {
std::string_view NextLine(std::string_view& input) {
  size_t end = input.find('\n');
  std::string_view line = input.substr(0, end);
  input = end == std::string_view::npos ? std::string_view() : input.substr(end + 1);
  return line;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lbmirror;
  using namespace lbmirror::webhook;
  static const SignatureVerifier verifier =
      *SignatureVerifier::Create("whsec_" + Base64Encode("lbmirror-fuzzing-secret-00000001"), 300);
  std::string_view input(reinterpret_cast<const char*>(data), size);
  SignedRequest request;
  request.id = NextLine(input);
  request.timestamp = NextLine(input);
  request.signature = NextLine(input);
  request.body = input;
  constexpr int64_t kNowMs = 1'767'225'600'000;  // 2026-01-01
  Status verified = verifier.Verify(request, kNowMs);
  if (!verified && verified.error().message().empty()) std::abort();

  std::string signature = "v1," + verifier.Sign(*request.id, "1767225600", request.body);
  SignedRequest signed_request{request.id, std::string_view("1767225600"),
                               std::string_view(signature), request.body};
  // Signed with the secret: accepted, or refused for its id alone (empty, long or not ASCII).
  Status own = verifier.Verify(signed_request, kNowMs);
  if (!own && own.error().code() != ErrorCode::kInvalidArgument) std::abort();

  auto event = ParseEvent(request.body);
  if (!event) {
    if (event.error().message().empty()) std::abort();
    return 0;
  }
  for (const auto& target : event->targets) {
    if (target.scope_id.empty() || target.ToString().empty()) std::abort();
  }
  return 0;
}
