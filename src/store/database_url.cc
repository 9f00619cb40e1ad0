#include "store/database_url.h"

#include <optional>

#include "core/text.h"

namespace lbmirror::store {

std::string_view TlsModeName(TlsMode mode) {
  switch (mode) {
    case TlsMode::kDisabled:
      return "disabled";
    case TlsMode::kPreferred:
      return "preferred";
    case TlsMode::kRequired:
      return "required";
    case TlsMode::kVerifyCa:
      return "verify_ca";
    case TlsMode::kVerifyIdentity:
      return "verify_identity";
  }
  return "unknown";
}

std::string_view LibpqSslMode(TlsMode mode) {
  switch (mode) {
    case TlsMode::kDisabled:
      return "disable";
    case TlsMode::kPreferred:
      return "prefer";
    case TlsMode::kRequired:
      return "require";
    case TlsMode::kVerifyCa:
      return "verify-ca";
    case TlsMode::kVerifyIdentity:
      return "verify-full";
  }
  return "verify-full";
}

bool IsLoopbackHost(const std::string& host) {
  return host == "localhost" || host == "::1" || StartsWith(host, "127.");
}

std::string DatabaseConfig::Redacted() const {
  if (backend == Backend::kSqlite) return "sqlite:" + sqlite_path;
  std::string out = backend == Backend::kPostgres ? "postgres://" : "mysql://";
  if (!user.empty()) out += user + (password.empty() ? "" : ":***") + "@";
  out += (unix_socket.empty() ? host : unix_socket) + ":" + std::to_string(port) + "/" + database;
  out += "?sslmode=" +
         std::string(backend == Backend::kPostgres ? LibpqSslMode(tls) : TlsModeName(tls));
  return out;
}

namespace {
Result<TlsMode> ParseSslMode(const std::string& value) {
  std::string v = ToLower(value);
  if (v == "disabled" || v == "disable" || v == "false") return TlsMode::kDisabled;
  if (v == "preferred" || v == "prefer" || v == "allow") return TlsMode::kPreferred;
  if (v == "required" || v == "require") return TlsMode::kRequired;
  if (v == "verify_ca" || v == "verify-ca") return TlsMode::kVerifyCa;
  if (v == "verify_identity" || v == "verify-identity" || v == "verify-full") {
    return TlsMode::kVerifyIdentity;
  }
  return InvalidArgument("DATABASE_URL: unknown sslmode \"" + value + "\"");
}

Status ApplyParam(const std::string& name, const std::string& value, DatabaseConfig& config,
                  bool& tls_set) {
  std::string key = ToLower(name);
  if (key == "sslmode" || key == "ssl-mode" || key == "ssl_mode") {
    auto mode = ParseSslMode(value);
    if (!mode) return mode.error();
    config.tls = *mode;
    tls_set = true;
  } else if (key == "sslaccept") {
    if (value == "strict")
      config.tls = TlsMode::kVerifyIdentity;
    else if (value == "accept_invalid_certs")
      config.tls = TlsMode::kRequired;
    else
      return InvalidArgument("DATABASE_URL: unknown sslaccept \"" + value + "\"");
    tls_set = true;
  } else if (key == "ssl") {
    std::string compact;
    for (char c : value)
      if (c != ' ') compact += c;
    if (compact.find("\"rejectUnauthorized\":false") != std::string::npos) {
      config.tls = TlsMode::kRequired;
    } else {
      config.tls = TlsMode::kVerifyIdentity;
    }
    tls_set = true;
  } else if (key == "tls") {
    config.tls = (value == "false" || value == "0") ? TlsMode::kDisabled : TlsMode::kVerifyIdentity;
    tls_set = true;
  } else if (key == "sslca" || key == "ssl-ca" || key == "ssl_ca" || key == "sslrootcert") {
    config.ca_file = value;
  } else if (key == "socket") {
    config.unix_socket = value;
  } else {
    return InvalidArgument("DATABASE_URL: unknown parameter \"" + name + "\"");
  }
  return Ok();
}

Result<uint16_t> ParsePort(std::string_view port) {
  if (port.empty() || port.size() > 5 ||
      port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(std::string(port)) == 0 || std::stoi(std::string(port)) > 65535) {
    return InvalidArgument("DATABASE_URL: bad port");
  }
  return static_cast<uint16_t>(std::stoi(std::string(port)));
}

// HOST, HOST:PORT, [IPV6] or [IPV6]:PORT.
Status ParseHostAndPort(std::string_view host, DatabaseConfig& config) {
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos) return InvalidArgument("DATABASE_URL: bad IPv6 host");
    config.host = std::string(host.substr(1, close - 1));
    std::string_view rest = host.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return InvalidArgument("DATABASE_URL: bad host");
    if (!rest.empty()) port = rest.substr(1);
    if (rest == ":") return InvalidArgument("DATABASE_URL: bad port");
  } else if (size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    config.host = std::string(host.substr(0, colon));
    port = host.substr(colon + 1);
    if (port.empty()) return InvalidArgument("DATABASE_URL: bad port");
  } else {
    config.host = std::string(host);
  }
  if (!port.empty()) {
    auto number = ParsePort(port);
    if (!number) return number.error();
    config.port = *number;
  }
  return Ok();
}

// libpq's connection parameters that a URL may carry and lbmirror passes on unchanged.
bool IsLibpqPassThrough(const std::string& key) {
  for (const char* name : {"connect_timeout",
                           "options",
                           "application_name",
                           "fallback_application_name",
                           "channel_binding",
                           "target_session_attrs",
                           "sslcert",
                           "sslkey",
                           "sslpassword",
                           "sslcrl",
                           "sslcrldir",
                           "sslsni",
                           "sslcompression",
                           "ssl_min_protocol_version",
                           "ssl_max_protocol_version",
                           "gssencmode",
                           "keepalives",
                           "keepalives_idle",
                           "keepalives_interval",
                           "keepalives_count",
                           "tcp_user_timeout",
                           "hostaddr",
                           "service",
                           "requirepeer",
                           "krbsrvname",
                           "gsslib",
                           "passfile"}) {
    if (key == name) return true;
  }
  return false;
}

Result<bool> ParseFlag(const std::string& name, const std::string& value) {
  std::string v = ToLower(value);
  if (v == "true" || v == "on" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "off" || v == "0" || v == "no") return false;
  return InvalidArgument("DATABASE_URL: " + name + " must be true or false");
}

Status ApplyPostgresParam(const std::string& name, const std::string& value, DatabaseConfig& config,
                          bool& tls_set, std::optional<bool>& prepared) {
  if (name == "sslmode") {
    auto mode = ParseSslMode(value);
    if (!mode) return mode.error();
    config.tls = *mode;
    tls_set = true;
  } else if (name == "sslrootcert") {
    config.ca_file = value;
  } else if (name == "host") {
    (StartsWith(value, "/") ? config.unix_socket : config.host) = value;
  } else if (name == "port") {
    auto port = ParsePort(value);
    if (!port) return port.error();
    config.port = *port;
  } else if (name == "dbname") {
    config.database = value;
  } else if (name == "user") {
    config.user = value;
  } else if (name == "password") {
    config.password = value;
  } else if (name == "prepared_statements") {
    auto flag = ParseFlag(name, value);
    if (!flag) return flag.error();
    prepared = *flag;
  } else if (name == "pgbouncer") {  // the Prisma convention for a pooled URL
    auto flag = ParseFlag(name, value);
    if (!flag) return flag.error();
    if (*flag) prepared = false;
  } else if (IsLibpqPassThrough(name)) {
    config.options.emplace_back(name, value);
  } else {
    return InvalidArgument("DATABASE_URL: unknown parameter \"" + name + "\"");
  }
  return Ok();
}

// Connection poolers in transaction mode that do not keep prepared statements: Supabase's
// (port 6543, *.pooler.supabase.com), Neon's (*-pooler.*), PgBouncer's usual port 6432.
bool LooksLikePooler(const DatabaseConfig& config) {
  return config.port == 6543 || config.port == 6432 ||
         ToLower(config.host).find("pooler") != std::string::npos;
}

// Supabase signs its database certificates with a CA of its own, which is in no system bundle.
bool IsSupabaseHost(const std::string& host) {
  std::string h = ToLower(host);
  for (std::string_view domain : {".supabase.co", ".supabase.com"}) {
    if (h.size() > domain.size() && h.ends_with(domain)) return true;
  }
  return false;
}

Result<DatabaseConfig> ParseServerUrl(std::string_view rest, DatabaseConfig::Backend backend) {
  const bool postgres = backend == DatabaseConfig::Backend::kPostgres;
  DatabaseConfig config;
  config.backend = backend;
  if (postgres) config.port = 5432;
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest;
  std::string_view path;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash + 1);
  }
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view credentials = authority.substr(0, at);
    authority = authority.substr(at + 1);
    std::string_view user = credentials, password;
    if (size_t colon = credentials.find(':'); colon != std::string_view::npos) {
      user = credentials.substr(0, colon);
      password = credentials.substr(colon + 1);
    }
    auto u = PercentDecode(user);
    auto p = PercentDecode(password);
    if (!u || !p) return InvalidArgument("DATABASE_URL: bad percent-encoding in credentials");
    config.user = *u;
    config.password = *p;
  }
  LBMIRROR_RETURN_IF_ERROR(ParseHostAndPort(authority, config));
  auto database = PercentDecode(path);
  if (!database) return InvalidArgument("DATABASE_URL: bad percent-encoding in database name");
  config.database = *database;
  bool tls_set = false;
  std::optional<bool> prepared;
  for (const std::string& pair : SplitAny(query, "&")) {
    size_t eq = pair.find('=');
    auto name = PercentDecode(pair.substr(0, eq));
    auto value = PercentDecode(eq == std::string::npos ? "" : pair.substr(eq + 1));
    if (!name || !value) return InvalidArgument("DATABASE_URL: bad percent-encoding in parameters");
    LBMIRROR_RETURN_IF_ERROR(postgres ? ApplyPostgresParam(*name, *value, config, tls_set, prepared)
                                      : ApplyParam(*name, *value, config, tls_set));
  }
  const char* scheme = postgres ? "postgres" : "mysql";
  if (config.host.empty() && config.unix_socket.empty()) {
    return InvalidArgument(Cat("DATABASE_URL: ", scheme, " URL without a host"));
  }
  if (config.database.empty()) {
    return InvalidArgument(Cat("DATABASE_URL: ", scheme, " URL without a database name"));
  }
  config.prepared_statements = prepared.value_or(!(postgres && LooksLikePooler(config)));
  // A Supabase URL as copied names no CA: encrypted, unverified, and said at startup. With
  // sslrootcert= (its CA from the dashboard) the default, verify-full, holds.
  if (postgres && !tls_set && config.ca_file.empty() && IsSupabaseHost(config.host)) {
    config.tls = TlsMode::kRequired;
    config.tls_warning =
        Cat("TLS to ", config.host,
            " is encrypted but its certificate is not verified: Supabase signs it with its own CA. "
            "To verify it, download the CA from the dashboard (Database settings, SSL) and add "
            "sslrootcert=FILE to DATABASE_URL (or sslmode=require to keep this and silence this "
            "warning)");
  }
  // Loopback and unix sockets are local test servers: plaintext unless asked otherwise.
  if (!tls_set && (!config.unix_socket.empty() || IsLoopbackHost(config.host))) {
    config.tls = TlsMode::kDisabled;
  }
  return config;
}
}  // namespace

Result<DatabaseConfig> ParseDatabaseUrl(const std::string& url) {
  std::string_view text = Trim(url);
  if (text.empty()) text = "sqlite:lbmirror.db";
  if (StartsWith(text, "sqlite:")) {
    DatabaseConfig config;
    std::string_view path = text.substr(7);
    if (StartsWith(path, "//")) path = path.substr(2);
    if (path.empty()) return InvalidArgument("DATABASE_URL: sqlite URL without a path");
    config.sqlite_path = std::string(path);
    return config;
  }
  using Backend = DatabaseConfig::Backend;
  if (StartsWith(text, "mysql://")) return ParseServerUrl(text.substr(8), Backend::kMysql);
  if (StartsWith(text, "mariadb://")) return ParseServerUrl(text.substr(10), Backend::kMysql);
  if (StartsWith(text, "postgres://")) return ParseServerUrl(text.substr(11), Backend::kPostgres);
  if (StartsWith(text, "postgresql://")) {
    return ParseServerUrl(text.substr(13), Backend::kPostgres);
  }
  return InvalidArgument("DATABASE_URL must start with sqlite:, mysql:// or postgres://");
}

}  // namespace lbmirror::store
