// DATABASE_URL parsing. Accepted forms:
//   sqlite:PATH, sqlite://PATH, sqlite::memory:        (unset or empty = sqlite:lbmirror.db)
//   mysql://USER:PASS@HOST[:PORT]/DB[?PARAMS]           (mariadb:// is the same)
//   postgres://USER:PASS@HOST[:PORT]/DB[?PARAMS]        (postgresql:// is the same)
// MySQL PARAMS: sslmode / ssl-mode = disabled | preferred | required | verify_ca |
// verify_identity, sslaccept=strict, ssl={"rejectUnauthorized":true}, tls=true, sslca / ssl-ca
// = CA file, socket = unix socket path.
// Postgres PARAMS: libpq's (sslmode = disable | allow | prefer | require | verify-ca |
// verify-full, sslrootcert, host = a socket folder, port, dbname, user, password,
// connect_timeout, options, application_name, channel_binding, target_session_attrs, sslcert,
// sslkey, keepalives...), and prepared_statements = true | false (default: false for a host
// or port of a connection pooler, true otherwise; pgbouncer=true is taken as false).
// TLS defaults to full verification for every host that is not loopback, but for Supabase's
// (*.supabase.co, *.supabase.com) without sslrootcert: encrypted, unverified, with a warning,
// since its CA is in no system bundle. Pure functions; the password is never part of any
// message.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"

namespace lbmirror::store {

enum class TlsMode { kDisabled, kPreferred, kRequired, kVerifyCa, kVerifyIdentity };

struct DatabaseConfig {
  enum class Backend { kSqlite, kMysql, kPostgres } backend = Backend::kSqlite;
  std::string sqlite_path;  // sqlite
  std::string host;         // mysql and postgres
  uint16_t port = 3306;     // postgres: 5432
  std::string user;
  std::string password;
  std::string database;
  std::string unix_socket;
  TlsMode tls = TlsMode::kVerifyIdentity;
  std::string ca_file;
  // Postgres: libpq parameters of the URL passed on as they are, in order.
  std::vector<std::pair<std::string, std::string>> options;
  bool prepared_statements = true;  // postgres: named server-side prepared statements
  // Set when a default relaxed TLS verification (a Supabase host without sslrootcert or
  // sslmode): what to log at startup.
  std::string tls_warning;

  // The URL with the password replaced by "***" - the only form that may be logged.
  std::string Redacted() const;
};

std::string_view TlsModeName(TlsMode mode);
// libpq's name of the mode (sslmode=disable ... verify-full).
std::string_view LibpqSslMode(TlsMode mode);
bool IsLoopbackHost(const std::string& host);

Result<DatabaseConfig> ParseDatabaseUrl(const std::string& url);

}  // namespace lbmirror::store
