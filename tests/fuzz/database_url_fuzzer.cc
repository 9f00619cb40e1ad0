// Fuzzes DATABASE_URL parsing: any text gives a configuration or an error with a reason,
// and the redacted form of a parsed URL never depends on its password.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "store/database_url.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string url(reinterpret_cast<const char*>(data), size);
  auto config = lbmirror::store::ParseDatabaseUrl(url);
  if (!config) {
    if (config.error().message().empty()) std::abort();
    return 0;
  }
  // The redacted form does not depend on the password's value: it is never shown.
  lbmirror::store::DatabaseConfig other = *config;
  if (!other.password.empty()) other.password = "x";
  if (config->Redacted() != other.Redacted()) std::abort();
  return 0;
}
