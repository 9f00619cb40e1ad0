// Pieces shared by the subcommands that talk to the Liveblocks API and the database.
#pragma once

#include <string>

#include "cli/options.h"
#include "liveblocks/curl/curl_client.h"
#include "store/store.h"

namespace lbmirror::cli {

// Logs `message` and returns exit code 2 (bad configuration).
int ConfigError(const std::string& message);
// An error message for unusable API settings, or empty when they are fine.
std::string CheckApiOptions(const ApiOptions& api);
liveblocks::CurlClientOptions ClientOptions(const ApiOptions& api);
// Applies the schema, or with no_migrate checks that someone else did. Returns an exit code.
int PrepareSchema(store::Store& store, bool no_migrate);

}  // namespace lbmirror::cli
