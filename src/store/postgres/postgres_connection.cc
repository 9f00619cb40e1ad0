#include "store/postgres/postgres_connection.h"

#include <libpq-fe.h>

#include <atomic>
#include <charconv>
#include <cstring>
#include <deque>
#include <filesystem>
#include <random>

#include "core/log.h"
#include "core/text.h"

namespace lbmirror::store::postgres {

namespace {
constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";
// Type OIDs of PostgreSQL's catalog (pg_type.dat), fixed across versions.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kTimestampOid = 1114;
constexpr Oid kTimestamptzOid = 1184;

// Once a server session has lost a statement this process prepared (a transaction-mode pooler
// gave another session), every connection sends its statements unnamed.
std::atomic<bool> g_unnamed_only{false};

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using ResultPtr = std::unique_ptr<PGresult, ResultDeleter>;

std::string_view SqlState(const PGresult* result) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  return state != nullptr ? std::string_view(state) : std::string_view();
}

bool IsConnectionState(std::string_view state) {
  // 08: connection exceptions; 57P01-57P03: the server shuts down or is not ready.
  return StartsWith(state, "08") || state == "57P01" || state == "57P02" || state == "57P03";
}

bool IsRetryableState(std::string_view state) {
  // Serialization failures, deadlocks, lock timeouts, too many connections and other
  // insufficient resources, a statement cancelled (by a pooler's timeout, say).
  return IsConnectionState(state) || state == "40001" || state == "40P01" || state == "55P03" ||
         StartsWith(state, "53") || state == "57014";
}

// Which SQLSTATE a native error code stands for: its five characters in base 36.
int64_t NativeCode(std::string_view state) {
  int64_t code = 0;
  for (char c : state)
    code =
        code * 36 + (std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (c | 0x20) - 'a' + 10);
  return code;
}

// The first line of libpq's message (the rest repeats it with context).
std::string FirstLine(const char* message) {
  std::string text = message != nullptr ? message : "";
  if (size_t newline = text.find('\n'); newline != std::string::npos) text.resize(newline);
  return text;
}

std::string HexToBytes(std::string_view hex) {
  // bytea's output: "\x" then two hex digits per byte.
  if (hex.size() < 2 || hex[0] != '\\' || hex[1] != 'x') return std::string(hex);
  auto nibble = [](char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; };
  std::string bytes;
  bytes.reserve((hex.size() - 2) / 2);
  for (size_t i = 2; i + 1 < hex.size(); i += 2) {
    bytes.push_back(static_cast<char>(nibble(hex[i]) << 4 | nibble(hex[i + 1])));
  }
  return bytes;
}

// True when a timestamp's text names its zone ("Z", "+01", "-05:30", "UTC" after the time).
bool HasZone(std::string_view value) {
  if (value.size() <= 10) return false;
  return value.substr(10).find_first_of("+-Zz") != std::string_view::npos ||
         value.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYabcdefghijklmnopqrstuvwxy", 11) !=
             std::string_view::npos;
}

// A server's notice (NOTICE, WARNING, ...) goes to lbmirror's log instead of libpq's default,
// standard error: a WARNING as a warning, the rest (a search of stop words only, say) as debug.
void LogNotice(void* /*arg*/, const PGresult* result) {
  const char* severity = PQresultErrorField(result, PG_DIAG_SEVERITY_NONLOCALIZED);
  const char* primary = PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY);
  std::string_view level = severity != nullptr ? severity : "NOTICE";
  std::string text = Cat("PostgreSQL ", level, ": ",
                         primary != nullptr ? primary : FirstLine(PQresultErrorMessage(result)));
  if (level == "WARNING") {
    log::Warn(text);
  } else if (log::DebugEnabled()) {
    log::Debug(text);
  }
}

// A name no other statement of any process has: where a pooler hands a session that another
// client prepared statements on, a lost statement is an error, never somebody else's.
std::string StatementName() {
  static const std::string process = [] {
    std::random_device random;
    return Cat("lbm_", std::to_string(random()), "_", std::to_string(random()), "_");
  }();
  static std::atomic<uint64_t> counter{0};
  return process + std::to_string(++counter);
}

// A pooler in transaction mode gave this connection a session without its prepared
// statements (26000: no such statement; 42P05: the name is taken there).
bool LostPreparedStatement(std::string_view state) {
  if (state != "26000" && state != "42P05") return false;
  if (!g_unnamed_only.exchange(true)) {
    log::Warn(
        "the database session lost a prepared statement (a connection pooler in transaction "
        "mode?): statements are sent unnamed from now on");
  }
  return true;
}

// One statement of this connection: its text with $n placeholders, its name once prepared,
// and the types the server gave its parameters.
struct Statement {
  std::string text;
  std::string name;  // empty: sent unnamed
  int params = 0;
  std::vector<Oid> types;
};
using StatementPtr = std::unique_ptr<Statement>;

class PostgresConnection final : public sql::SqlConnection {
 public:
  PostgresConnection(PGconn* conn, bool prepared_statements)
      : conn_(conn), prepared_statements_(prepared_statements) {}
  ~PostgresConnection() override { PQfinish(conn_); }

  Result<int64_t> Execute(std::string_view sql, std::span<const sql::SqlValue> params) override {
    auto result = Run(sql, params);
    if (!result) return result.error();
    int64_t changed = 0;
    const char* tuples = PQcmdTuples(result->get());
    std::from_chars(tuples, tuples + std::strlen(tuples), changed);
    return changed;
  }

  Result<std::vector<sql::SqlRow>> Query(std::string_view sql,
                                         std::span<const sql::SqlValue> params) override {
    auto result = Run(sql, params);
    if (!result) return result.error();
    return Rows(result->get());
  }

  Status ExecuteDirect(std::string_view sql) override {
    ResultPtr result(PQexec(conn_, std::string(sql).c_str()));
    LBMIRROR_RETURN_IF_ERROR(Check(result.get(), "query", /*ddl=*/true));
    return Ok();
  }
  Status Begin() override { return ExecuteDirect("BEGIN"); }
  Status Commit() override {
    ResultPtr result(PQexec(conn_, "COMMIT"));
    LBMIRROR_RETURN_IF_ERROR(Check(result.get(), "commit", false));
    // COMMIT of a transaction that failed earlier answers ROLLBACK, without an error.
    if (std::strcmp(PQcmdStatus(result.get()), "ROLLBACK") == 0) {
      return Error(ErrorCode::kInternal, "commit: the transaction was rolled back by an error");
    }
    return Ok();
  }
  Status Rollback() override { return ExecuteDirect("ROLLBACK"); }
  Status Prepare(std::string_view sql) override {
    auto statement = Find(sql);
    if (!statement) return statement.error();
    return Ok();
  }
  bool broken() const override { return broken_ || PQstatus(conn_) == CONNECTION_BAD; }

 private:
  Error Fail(const PGresult* result, std::string_view context) {
    std::string_view state = SqlState(result);
    const char* message = result != nullptr ? PQresultErrorMessage(result) : "";
    if (message == nullptr || *message == '\0') message = PQerrorMessage(conn_);
    bool lost = PQstatus(conn_) == CONNECTION_BAD || IsConnectionState(state);
    if (lost) broken_ = true;
    bool retryable = lost || IsRetryableState(state);
    ErrorCode code = retryable                              ? ErrorCode::kUnavailable
                     : StartsWith(state, "28")              ? ErrorCode::kUnauthenticated
                     : state == "54000" || state == "54001" ? ErrorCode::kTooLarge
                                                            : ErrorCode::kInternal;
    return Error(code,
                 Cat(context, ": PostgreSQL error", state.empty() ? "" : " ", state, ": ",
                     FirstLine(message)),
                 retryable, NativeCode(state));
  }

  // An error unless `result` reports success. `ddl`: a concurrent creation of the same table,
  // index or column (another lbmirror migrating) is worth a retry.
  Status Check(const PGresult* result, std::string_view context, bool ddl) {
    ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Ok();
    Error error = Fail(result, context);
    std::string_view state = SqlState(result);
    if (ddl && (state == "23505" || state == "42P07" || state == "42701" || state == "42710")) {
      return Error(ErrorCode::kUnavailable, error.message(), true, error.native());
    }
    return error;
  }

  // The statement for `sql`, prepared (or described, when sent unnamed) on first use.
  Result<Statement*> Find(std::string_view sql) {
    if (Statement* cached = statements_.Find(sql)) {
      if (cached->name.empty() || !g_unnamed_only.load(std::memory_order_relaxed)) return cached;
      statements_.Erase(sql);  // prepared before the switch to unnamed statements
    }
    auto statement = std::make_unique<Statement>();
    statement->text = NumberPlaceholders(sql, &statement->params);
    bool unnamed = g_unnamed_only.load(std::memory_order_relaxed) || !prepared_statements_;
    if (!unnamed) statement->name = StatementName();
    // Parse and describe in one transaction: a pooler keeps its session for that long.
    bool wrap = unnamed && PQtransactionStatus(conn_) == PQTRANS_IDLE;
    if (wrap) LBMIRROR_RETURN_IF_ERROR(ExecuteDirect("BEGIN"));
    Status described = Describe(*statement);
    if (wrap) {
      Status ended = ExecuteDirect(described ? "COMMIT" : "ROLLBACK");
      if (described && !ended) described = ended;
    }
    if (!described) return described.error();
    return statements_.Add(sql, std::move(statement));
  }

  Status Describe(Statement& statement) {
    ResultPtr prepared(
        PQprepare(conn_, statement.name.c_str(), statement.text.c_str(), 0, nullptr));
    LBMIRROR_RETURN_IF_ERROR(Check(prepared.get(), "prepare", false));
    ResultPtr described(PQdescribePrepared(conn_, statement.name.c_str()));
    if (!statement.name.empty() && LostPreparedStatement(SqlState(described.get()))) {
      return Error(ErrorCode::kUnavailable, "a prepared statement was lost; retrying unnamed",
                   true);
    }
    LBMIRROR_RETURN_IF_ERROR(Check(described.get(), "describe", false));
    int count = PQnparams(described.get());
    statement.types.resize(static_cast<size_t>(count));
    for (int i = 0; i < count; ++i)
      statement.types[static_cast<size_t>(i)] = PQparamtype(described.get(), i);
    return Ok();
  }

  Result<ResultPtr> Run(std::string_view sql, std::span<const sql::SqlValue> params) {
    auto found = Find(sql);
    if (!found) return found.error();
    Statement& statement = **found;
    if (static_cast<int>(params.size()) != statement.params) {
      return Internal(Cat("statement with ", statement.params, " placeholders given ",
                          params.size(), " values"));
    }
    std::deque<std::string> texts;  // text values, NUL-terminated, stable addresses
    std::vector<const char*> values(params.size(), nullptr);
    std::vector<int> lengths(params.size(), 0);
    std::vector<int> formats(params.size(), 0);
    for (size_t i = 0; i < params.size(); ++i) {
      Oid type = i < statement.types.size() ? statement.types[i] : 0;
      std::visit(
          [&](const auto& value) {
            using T = std::decay_t<decltype(value)>;
            if constexpr (std::is_same_v<T, std::nullptr_t>) {
              values[i] = nullptr;
            } else if constexpr (std::is_same_v<T, int64_t>) {
              values[i] = texts.emplace_back(std::to_string(value)).c_str();
            } else if constexpr (std::is_same_v<T, double>) {
              char buffer[32];
              auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
              values[i] = texts.emplace_back(buffer, end).c_str();
            } else if constexpr (std::is_same_v<T, std::string_view>) {
              std::string& text = texts.emplace_back(value);
              // A timestamp without a zone is UTC, whatever the session's time zone.
              if (type == kTimestamptzOid && !HasZone(text)) text += 'Z';
              values[i] = text.c_str();
            } else {  // sql::Blob: bytea in binary form
              values[i] = value.bytes.data();
              lengths[i] = static_cast<int>(value.bytes.size());
              formats[i] = 1;
            }
          },
          params[i]);
    }
    const int count = static_cast<int>(params.size());
    ResultPtr result(statement.name.empty()
                         ? PQexecParams(conn_, statement.text.c_str(), count, nullptr,
                                        values.data(), lengths.data(), formats.data(), 0)
                         : PQexecPrepared(conn_, statement.name.c_str(), count, values.data(),
                                          lengths.data(), formats.data(), 0));
    if (!statement.name.empty() && LostPreparedStatement(SqlState(result.get()))) {
      statements_.Erase(sql);
      return Error(ErrorCode::kUnavailable, "a prepared statement was lost; retrying unnamed",
                   true);
    }
    LBMIRROR_RETURN_IF_ERROR(Check(result.get(), "statement", false));
    return result;
  }

  std::vector<sql::SqlRow> Rows(const PGresult* result) const {
    const int rows = PQntuples(result);
    const int columns = PQnfields(result);
    std::vector<sql::SqlRow> out(static_cast<size_t>(rows),
                                 sql::SqlRow(static_cast<size_t>(columns)));
    for (int c = 0; c < columns; ++c) {
      const Oid type = PQftype(result, c);
      for (int r = 0; r < rows; ++r) {
        if (PQgetisnull(result, r, c) != 0) continue;
        std::string_view value(PQgetvalue(result, r, c),
                               static_cast<size_t>(PQgetlength(result, r, c)));
        std::optional<std::string>& field = out[static_cast<size_t>(r)][static_cast<size_t>(c)];
        if (type == kByteaOid) {
          field = HexToBytes(value);
        } else if (type == kTimestamptzOid) {
          field = UtcTimestampText(value).value_or(std::string(value));
        } else if (type == kTimestampOid) {
          field = UtcTimestampText(Cat(value, "+00")).value_or(std::string(value));
        } else if (type == kBoolOid) {
          // One character, built in place: assigning a literal to the empty string here makes
          // GCC 12 at -O3 see an overlapping copy that cannot happen (-Wrestrict).
          field.emplace(1, value == "t" ? '1' : '0');
        } else {
          field = std::string(value);
        }
      }
    }
    return out;
  }

 private:
  PGconn* conn_;
  bool prepared_statements_;
  bool broken_ = false;
  sql::StatementCache<StatementPtr> statements_;
};

// Whether a failed connection may succeed later (the server is down or busy) or not (a wrong
// password, database or certificate), from libpq's message: there is no SQLSTATE to read.
bool ConnectFailureIsRetryable(const std::string& message) {
  for (const char* permanent :
       {"password authentication failed", "no password supplied", "does not exist", "certificate",
        "SSL", "sslmode", "no pg_hba.conf entry", "permission denied", "invalid connection option",
        "invalid sslmode"}) {
    if (message.find(permanent) != std::string::npos) return false;
  }
  return true;
}
}  // namespace

std::string NumberPlaceholders(std::string_view sql, int* count) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  char quote = 0;  // inside '...' or "..."
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (quote != 0) {
      out += c;
      if (c == quote) quote = 0;  // a doubled quote re-opens at once: same result
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      size_t end = sql.find('\n', i);
      if (end == std::string_view::npos) end = sql.size();
      out.append(sql.substr(i, end - i));
      i = end - 1;
    } else if (c == '?') {
      out += Cat("$", ++n);
    } else {
      out += c;
    }
  }
  if (count != nullptr) *count = n;
  return out;
}

std::optional<std::string> UtcTimestampText(std::string_view value) {
  // YYYY-MM-DD HH:MM:SS[.f...](+|-)HH[:MM[:SS]]
  auto digits = [&](size_t at, size_t n, int& out) {
    if (at + n > value.size()) return false;
    out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(value[i]))) return false;
      out = out * 10 + (value[i] - '0');
    }
    return true;
  };
  int year, month, day, hour, minute, second;
  if (value.size() < 22 || !digits(0, 4, year) || value[4] != '-' || !digits(5, 2, month) ||
      value[7] != '-' || !digits(8, 2, day) || value[10] != ' ' || !digits(11, 2, hour) ||
      value[13] != ':' || !digits(14, 2, minute) || value[16] != ':' || !digits(17, 2, second)) {
    return std::nullopt;
  }
  size_t at = 19;
  int millis = 0;
  if (value[at] == '.') {
    size_t start = ++at;
    while (at < value.size() && std::isdigit(static_cast<unsigned char>(value[at]))) ++at;
    std::string fraction(value.substr(start, at - start));
    fraction.resize(3, '0');
    millis = std::stoi(fraction);
  }
  if (at >= value.size() || (value[at] != '+' && value[at] != '-')) return std::nullopt;
  int sign = value[at] == '-' ? -1 : 1;
  int zone_hours = 0, zone_minutes = 0, zone_seconds = 0;
  if (!digits(at + 1, 2, zone_hours)) return std::nullopt;
  at += 3;
  if (at < value.size() && value[at] == ':') {
    if (!digits(at + 1, 2, zone_minutes)) return std::nullopt;
    at += 3;
    if (at < value.size() && value[at] == ':') {
      if (!digits(at + 1, 2, zone_seconds)) return std::nullopt;
      at += 3;
    }
  }
  if (at != value.size()) return std::nullopt;
  // Days from the civil date (proleptic Gregorian), as in H. Hinnant's days_from_civil.
  int y = year - (month <= 2 ? 1 : 0);
  int era = (y >= 0 ? y : y - 399) / 400;
  int yoe = y - era * 400;
  int doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = int64_t{era} * 146097 + doe - 719468;
  int64_t ms = ((days * 24 + hour) * 60 + minute) * 60'000 + int64_t{second} * 1000 + millis;
  ms -= sign * (int64_t{zone_hours} * 3'600'000 + int64_t{zone_minutes} * 60'000 +
                int64_t{zone_seconds} * 1000);
  return FormatSqlTimestamp(ms);
}

Result<std::unique_ptr<sql::SqlConnection>> OpenPostgresConnection(const DatabaseConfig& config) {
  std::vector<std::pair<std::string, std::string>> settings = {
      {"dbname", config.database},
      {"user", config.user},
      {"password", config.password},
      {"port", std::to_string(config.port)},
      {"sslmode", std::string(LibpqSslMode(config.tls))},
      {"connect_timeout", "5"},
      {"application_name", "lbmirror"},
      {"client_encoding", "UTF8"},
      {"keepalives", "1"},
      {"keepalives_idle", std::to_string(sql::kKeepaliveIdleSeconds)},
      {"keepalives_interval", std::to_string(sql::kKeepaliveIntervalSeconds)},
      {"keepalives_count", std::to_string(sql::kKeepaliveProbes)},
      {"tcp_user_timeout", std::to_string(sql::kUnacknowledgedTimeoutMs)},
  };
  settings.emplace_back("host", config.unix_socket.empty() ? config.host : config.unix_socket);
  bool verify = config.tls == TlsMode::kVerifyIdentity || config.tls == TlsMode::kVerifyCa;
  std::string ca = config.ca_file;
  if (verify && ca.empty() && std::filesystem::exists(kSystemCaBundle)) ca = kSystemCaBundle;
  if (!ca.empty()) settings.emplace_back("sslrootcert", ca);
  // The URL's own libpq parameters come last and win.
  for (const auto& option : config.options) {
    std::erase_if(settings, [&option](const auto& entry) { return entry.first == option.first; });
    settings.push_back(option);
  }
  std::vector<const char*> keys, values;
  for (const auto& [key, value] : settings) {
    if (value.empty() && key != "password") continue;
    keys.push_back(key.c_str());
    values.push_back(value.c_str());
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 0);
  if (conn == nullptr) return Internal("PQconnectdbParams failed (out of memory)");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = FirstLine(PQerrorMessage(conn));
    PQfinish(conn);
    std::string text = Cat("connecting to ", config.Redacted(), ": ", message);
    if (message.find("certificate verify failed") != std::string::npos ||
        message.find("does not match host name") != std::string::npos) {
      text +=
          " (sslrootcert=FILE names the CA to trust, such as your provider's; sslmode=require "
          "encrypts without verifying)";
    }
    if (ConnectFailureIsRetryable(message)) return Error(ErrorCode::kUnavailable, text, true);
    bool auth = message.find("password") != std::string::npos ||
                message.find("pg_hba") != std::string::npos;
    return Error(auth ? ErrorCode::kUnauthenticated : ErrorCode::kInvalidArgument, text);
  }
  PQsetNoticeReceiver(conn, LogNotice, nullptr);
  if (config.tls != TlsMode::kDisabled && config.tls != TlsMode::kPreferred &&
      PQsslInUse(conn) != 1) {
    PQfinish(conn);
    return InvalidArgument(Cat("connecting to ", config.Redacted(),
                               ": TLS was required but the session is not encrypted"));
  }
  return std::unique_ptr<sql::SqlConnection>(
      std::make_unique<PostgresConnection>(conn, config.prepared_statements));
}

}  // namespace lbmirror::store::postgres
