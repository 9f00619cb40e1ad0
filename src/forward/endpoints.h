// Forwarding's endpoints, as the operator configures them (serve --forward-config FILE): a JSON
// array of {"name", "url", "secret", "kinds", "room_prefix"}. Each endpoint gets the changes its
// filter lets through, signed with its own secret. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/store.h"

namespace lbmirror::forward {

struct Endpoint {
  std::string name;    // [A-Za-z0-9_.-], at most 64: the cursor's key and the metrics' label
  std::string url;     // http:// or https://
  std::string secret;  // whsec_… (Standard Webhooks); never logged
  store::ChangeFilter filter;
};

// The endpoints a configuration file holds. kInvalidArgument names the entry and the field at
// fault (never a secret's value).
Result<std::vector<Endpoint>> ParseEndpoints(std::string_view json);

}  // namespace lbmirror::forward
