// DATABASE_URL parsing. Accepted forms:
//   sqlite:PATH, sqlite://PATH, sqlite::memory:        (unset or empty = sqlite:lbmirror.db)
//   mysql://USER:PASS@HOST[:PORT]/DB[?PARAMS]           (mariadb:// is the same)
// PARAMS: sslmode / ssl-mode = disabled | preferred | required | verify_ca | verify_identity,
// sslaccept=strict, ssl={"rejectUnauthorized":true}, tls=true, sslca / ssl-ca = CA file,
// socket = unix socket path. TLS defaults to verify_identity for every host that is not
// loopback. Pure functions; the password is never part of any message.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.h"

namespace lbmirror::store {

enum class TlsMode { kDisabled, kPreferred, kRequired, kVerifyCa, kVerifyIdentity };

struct DatabaseConfig {
  enum class Backend { kSqlite, kMysql } backend = Backend::kSqlite;
  std::string sqlite_path;  // sqlite
  std::string host;         // mysql
  uint16_t port = 3306;
  std::string user;
  std::string password;
  std::string database;
  std::string unix_socket;
  TlsMode tls = TlsMode::kVerifyIdentity;
  std::string ca_file;

  // The URL with the password replaced by "***" - the only form that may be logged.
  std::string Redacted() const;
};

std::string_view TlsModeName(TlsMode mode);
bool IsLoopbackHost(const std::string& host);

Result<DatabaseConfig> ParseDatabaseUrl(const std::string& url);

}  // namespace lbmirror::store
