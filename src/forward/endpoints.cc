#include "forward/endpoints.h"

#include <boost/json.hpp>
#include <set>

#include "admin/actions.h"
#include "core/text.h"
#include "webhook/signature_verifier.h"

namespace lbmirror::forward {

namespace {
namespace json = boost::json;

bool IsValidName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-') {
      return false;
    }
  }
  return true;
}

std::string Field(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  return value != nullptr && value->is_string() ? std::string(value->as_string()) : std::string();
}

// "kinds": ["thread", "comment"] or "thread,comment".
std::string Kinds(const json::object& object) {
  const json::value* value = object.if_contains("kinds");
  if (value == nullptr || !value->is_array()) return Field(object, "kinds");
  std::string kinds;
  for (const json::value& kind : value->as_array()) {
    if (!kind.is_string()) return "(not a string)";
    kinds += kinds.empty() ? std::string(kind.as_string()) : Cat(",", kind.as_string().c_str());
  }
  return kinds;
}

Result<Endpoint> ParseEndpoint(const json::value& entry, size_t index) {
  const std::string where = Cat("forwarding endpoint ", index + 1);
  if (!entry.is_object()) return InvalidArgument(Cat(where, " is not an object"));
  const json::object& object = entry.as_object();
  Endpoint endpoint;
  endpoint.name = Field(object, "name");
  if (!IsValidName(endpoint.name)) {
    return InvalidArgument(
        Cat(where, ": \"name\" must be 1 to 64 letters, digits, '_', '.' or '-'"));
  }
  const std::string named = Cat("forwarding endpoint ", endpoint.name);
  endpoint.url = Field(object, "url");
  if (!StartsWith(endpoint.url, "http://") && !StartsWith(endpoint.url, "https://")) {
    return InvalidArgument(Cat(named, ": \"url\" must start with http:// or https://"));
  }
  endpoint.secret = Field(object, "secret");
  if (auto verifier = webhook::SignatureVerifier::Create(endpoint.secret, 300);
      !verifier || verifier->secret_count() != 1) {
    return InvalidArgument(Cat(named, ": \"secret\" must be one whsec_… secret (base64)"));
  }
  auto filter = admin::CheckChangeFilter(Kinds(object), Field(object, "room_prefix"), "");
  if (!filter) return InvalidArgument(Cat(named, ": ", filter.error().message()));
  endpoint.filter = std::move(*filter);
  return endpoint;
}
}  // namespace

Result<std::vector<Endpoint>> ParseEndpoints(std::string_view text) {
  boost::system::error_code ec;
  json::value root = json::parse(text, ec);
  if (ec || !root.is_array()) {
    return InvalidArgument("the forwarding configuration must be a JSON array of endpoints");
  }
  std::vector<Endpoint> endpoints;
  std::set<std::string> names;
  for (size_t i = 0; i < root.as_array().size(); ++i) {
    auto endpoint = ParseEndpoint(root.as_array()[i], i);
    if (!endpoint) return endpoint.error();
    if (!names.insert(endpoint->name).second) {
      return InvalidArgument(Cat("two forwarding endpoints are named ", endpoint->name));
    }
    endpoints.push_back(std::move(*endpoint));
  }
  return endpoints;
}

}  // namespace lbmirror::forward
