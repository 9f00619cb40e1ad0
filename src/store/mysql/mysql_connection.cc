#include "store/mysql/mysql_connection.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <unordered_map>

#include "core/text.h"

namespace lbmirror::store::mysql {

namespace {
constexpr const char* kSystemCaBundle = "/etc/ssl/certs/ca-certificates.crt";
// String and blob parameters of this size or more are sent in chunks of this size.
constexpr size_t kLongDataBytes = 1 << 20;

bool IsConnectionError(unsigned code) {
  return code == CR_SERVER_GONE_ERROR || code == CR_SERVER_LOST || code == CR_CONNECTION_ERROR ||
         code == CR_CONN_HOST_ERROR || code == CR_UNKNOWN_HOST || code == 2055 /*lost ext*/ ||
         code == ER_SERVER_SHUTDOWN || code == ER_QUERY_INTERRUPTED || code == 1927 /*killed*/;
}

bool IsRetryable(unsigned code) {
  return IsConnectionError(code) || code == ER_LOCK_DEADLOCK || code == ER_LOCK_WAIT_TIMEOUT ||
         code == ER_CON_COUNT_ERROR || code == ER_TOO_MANY_USER_CONNECTIONS ||
         code == ER_OUT_OF_RESOURCES || code == 1874 || code == ER_OPTION_PREVENTS_STATEMENT ||
         code == 1836;
}

Error MysqlError(unsigned code, const char* message, std::string_view context) {
  ErrorCode kind = IsRetryable(code) ? ErrorCode::kUnavailable
                   : code == ER_ACCESS_DENIED_ERROR || code == ER_DBACCESS_DENIED_ERROR
                       ? ErrorCode::kUnauthenticated
                   : code == ER_NET_PACKET_TOO_LARGE ? ErrorCode::kTooLarge
                                                     : ErrorCode::kInternal;
  return Error(kind, Cat(context, ": MySQL error ", code, ": ", message), IsRetryable(code), code);
}

struct StmtCloser {
  void operator()(MYSQL_STMT* stmt) const { mysql_stmt_close(stmt); }
};
using StmtPtr = std::unique_ptr<MYSQL_STMT, StmtCloser>;

class MysqlConnection final : public sql::SqlConnection {
 public:
  explicit MysqlConnection(MYSQL* mysql) : mysql_(mysql) {}
  ~MysqlConnection() override {
    statements_.Clear();
    mysql_close(mysql_);
  }

  Result<int64_t> Execute(std::string_view sql, std::span<const sql::SqlValue> params) override {
    auto stmt = Run(sql, params);
    if (!stmt) return stmt.error();
    return static_cast<int64_t>(mysql_stmt_affected_rows(*stmt));
  }

  Result<std::vector<sql::SqlRow>> Query(std::string_view sql,
                                         std::span<const sql::SqlValue> params) override {
    auto stmt = Run(sql, params);
    if (!stmt) return stmt.error();
    return FetchAll(*stmt);
  }

  Status ExecuteDirect(std::string_view sql) override {
    if (mysql_real_query(mysql_, sql.data(), sql.size()) != 0) return Fail("query");
    if (MYSQL_RES* result = mysql_store_result(mysql_)) mysql_free_result(result);
    return Ok();
  }
  Status Begin() override {
    if (!only_transactions_) return ExecuteDirect("START TRANSACTION");
    if (autocommit_) {
      if (mysql_autocommit(mysql_, 0) != 0) return Fail("autocommit off");
      autocommit_ = false;
    }
    return Ok();  // the transaction starts with the next statement
  }
  void OnlyTransactions() override { only_transactions_ = true; }
  Status Prepare(std::string_view sql) override {
    auto prepared = PrepareCached(sql);
    if (!prepared) return prepared.error();
    return Ok();
  }
  Status Commit() override { return ExecuteDirect("COMMIT"); }
  Status Rollback() override { return ExecuteDirect("ROLLBACK"); }
  bool broken() const override { return broken_; }

 private:
  bool only_transactions_ = false;
  bool autocommit_ = true;
  Error Fail(std::string_view context) {
    unsigned code = mysql_errno(mysql_);
    if (IsConnectionError(code) || code == ER_NET_PACKET_TOO_LARGE) broken_ = true;
    return MysqlError(code, mysql_error(mysql_), context);
  }
  Error FailStmt(MYSQL_STMT* stmt, std::string_view context) {
    unsigned code = mysql_stmt_errno(stmt);
    if (IsConnectionError(code) || code == ER_NET_PACKET_TOO_LARGE || code == CR_SERVER_LOST) {
      broken_ = true;
    }
    return MysqlError(code, mysql_stmt_error(stmt), context);
  }

  Result<MYSQL_STMT*> PrepareCached(std::string_view sql) {
    if (MYSQL_STMT* cached = statements_.Find(sql)) return cached;
    StmtPtr stmt(mysql_stmt_init(mysql_));
    if (!stmt) return Fail("mysql_stmt_init");
    if (mysql_stmt_prepare(stmt.get(), sql.data(), sql.size()) != 0)
      return FailStmt(stmt.get(), "prepare");
    return statements_.Add(sql, std::move(stmt));
  }

  // Prepares (or reuses), binds and executes; the statement is dropped from the cache on error
  // so a re-prepare happens next time.
  Result<MYSQL_STMT*> Run(std::string_view sql, std::span<const sql::SqlValue> params) {
    auto prepared = PrepareCached(sql);
    if (!prepared) return prepared.error();
    MYSQL_STMT* stmt = *prepared;
    if (mysql_stmt_param_count(stmt) != params.size()) {
      return Internal(Cat("statement expects ", mysql_stmt_param_count(stmt), " parameters, got ",
                          params.size()));
    }
    std::vector<MYSQL_BIND> binds(params.size());
    std::vector<long long> numbers(params.size());
    std::vector<double> reals(params.size());
    std::vector<unsigned long> lengths(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      MYSQL_BIND& bind = binds[i];
      std::memset(&bind, 0, sizeof bind);
      if (std::holds_alternative<std::nullptr_t>(params[i])) {
        bind.buffer_type = MYSQL_TYPE_NULL;
      } else if (auto* number = std::get_if<int64_t>(&params[i])) {
        numbers[i] = *number;
        bind.buffer_type = MYSQL_TYPE_LONGLONG;
        bind.buffer = &numbers[i];
      } else if (auto* real = std::get_if<double>(&params[i])) {
        reals[i] = *real;
        bind.buffer_type = MYSQL_TYPE_DOUBLE;
        bind.buffer = &reals[i];
      } else {
        auto* blob = std::get_if<sql::Blob>(&params[i]);
        std::string_view text = blob ? blob->bytes : std::get<std::string_view>(params[i]);
        lengths[i] = text.size();
        bind.buffer_type = blob ? MYSQL_TYPE_BLOB : MYSQL_TYPE_STRING;
        bind.buffer = const_cast<char*>(text.data());
        bind.buffer_length = text.size();
        bind.length = &lengths[i];
      }
    }
    Error error = Internal("");
    bool ok = (params.empty() || mysql_stmt_bind_param(stmt, binds.data()) == 0);
    if (!ok) error = FailStmt(stmt, "bind");
    // Large values go in chunks: the client then needs no packet buffer as large as the
    // value (a 10 MB Storage document would otherwise be copied whole into one).
    for (size_t i = 0; ok && i < params.size(); ++i) {
      if (lengths[i] < kLongDataBytes) continue;
      const char* data = static_cast<const char*>(binds[i].buffer);
      for (size_t sent = 0; ok && sent < lengths[i]; sent += kLongDataBytes) {
        size_t chunk = std::min<size_t>(kLongDataBytes, lengths[i] - sent);
        if (mysql_stmt_send_long_data(stmt, static_cast<unsigned>(i), data + sent, chunk) != 0) {
          ok = false;
          error = FailStmt(stmt, "send long data");
        }
      }
    }
    if (ok && mysql_stmt_execute(stmt) != 0) {
      ok = false;
      error = FailStmt(stmt, "execute");
    }
    if (!ok) {
      statements_.Erase(sql);
      return error;
    }
    return stmt;
  }

  Result<std::vector<sql::SqlRow>> FetchAll(MYSQL_STMT* stmt) {
    std::vector<sql::SqlRow> rows;
    MYSQL_RES* meta = mysql_stmt_result_metadata(stmt);
    if (meta == nullptr) return rows;
    unsigned columns = mysql_num_fields(meta);
    mysql_free_result(meta);
    std::vector<MYSQL_BIND> binds(columns);
    std::vector<std::string> buffers(columns, std::string(256, '\0'));
    std::vector<unsigned long> lengths(columns);
    std::vector<my_bool> nulls(columns);
    for (unsigned i = 0; i < columns; ++i) {
      std::memset(&binds[i], 0, sizeof binds[i]);
      binds[i].buffer_type = MYSQL_TYPE_STRING;
      binds[i].buffer = buffers[i].data();
      binds[i].buffer_length = buffers[i].size();
      binds[i].length = &lengths[i];
      binds[i].is_null = &nulls[i];
    }
    if (mysql_stmt_bind_result(stmt, binds.data()) != 0) return FailStmt(stmt, "bind result");
    if (mysql_stmt_store_result(stmt) != 0) return FailStmt(stmt, "store result");
    for (;;) {
      int status = mysql_stmt_fetch(stmt);
      if (status == MYSQL_NO_DATA) break;
      if (status == 1) {
        Error error = FailStmt(stmt, "fetch");
        mysql_stmt_free_result(stmt);
        return error;
      }
      sql::SqlRow row(columns);
      for (unsigned i = 0; i < columns; ++i) {
        if (nulls[i]) continue;
        if (lengths[i] <= buffers[i].size()) {
          row[i] = buffers[i].substr(0, lengths[i]);
          continue;
        }
        // Truncated: fetch this column again into a buffer of the right size.
        std::string value(lengths[i], '\0');
        MYSQL_BIND bind;
        std::memset(&bind, 0, sizeof bind);
        bind.buffer_type = MYSQL_TYPE_STRING;
        bind.buffer = value.data();
        bind.buffer_length = value.size();
        unsigned long length = 0;
        bind.length = &length;
        if (mysql_stmt_fetch_column(stmt, &bind, i, 0) != 0) {
          Error error = FailStmt(stmt, "fetch column");
          mysql_stmt_free_result(stmt);
          return error;
        }
        row[i] = std::move(value);
      }
      rows.push_back(std::move(row));
    }
    mysql_stmt_free_result(stmt);
    return rows;
  }

  MYSQL* mysql_;
  bool broken_ = false;
  sql::StatementCache<StmtPtr> statements_;
};
}  // namespace

void MysqlLibraryInit() { mysql_library_init(0, nullptr, nullptr); }

Result<std::unique_ptr<sql::SqlConnection>> OpenMysqlConnection(const DatabaseConfig& config,
                                                                bool found_rows) {
  MYSQL* mysql = mysql_init(nullptr);
  if (mysql == nullptr) return Internal("mysql_init failed");
  unsigned timeout = 5;
  unsigned io_timeout = 30;
  mysql_optionsv(mysql, MYSQL_SET_CHARSET_NAME, "utf8mb4");
  mysql_optionsv(mysql, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
  mysql_optionsv(mysql, MYSQL_OPT_READ_TIMEOUT, &io_timeout);
  mysql_optionsv(mysql, MYSQL_OPT_WRITE_TIMEOUT, &io_timeout);
  my_bool reconnect = 0;
  mysql_optionsv(mysql, MYSQL_OPT_RECONNECT, &reconnect);
  bool verify = config.tls == TlsMode::kVerifyIdentity || config.tls == TlsMode::kVerifyCa;
  std::string ca = config.ca_file;
  if (verify && ca.empty() && std::filesystem::exists(kSystemCaBundle)) ca = kSystemCaBundle;
  if (config.tls != TlsMode::kDisabled) {
    if (!ca.empty()) mysql_optionsv(mysql, MYSQL_OPT_SSL_CA, ca.c_str());
    if (config.tls == TlsMode::kVerifyIdentity) {
      my_bool on = 1;
      mysql_optionsv(mysql, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
    } else {
      my_bool on = 1;
      mysql_optionsv(mysql, MYSQL_OPT_SSL_ENFORCE, &on);
    }
  }
  const char* host = config.unix_socket.empty() ? config.host.c_str() : nullptr;
  const char* socket = config.unix_socket.empty() ? nullptr : config.unix_socket.c_str();
  if (mysql_real_connect(mysql, host, config.user.c_str(), config.password.c_str(),
                         config.database.c_str(), config.port, socket,
                         found_rows ? CLIENT_FOUND_ROWS : 0) == nullptr) {
    unsigned code = mysql_errno(mysql);
    Error error = MysqlError(code, mysql_error(mysql), Cat("connecting to ", config.Redacted()));
    mysql_close(mysql);
    // A refused or unreachable server may come back; a bad password or certificate will not.
    if (code == CR_CONNECTION_ERROR || code == CR_CONN_HOST_ERROR || code == CR_SERVER_LOST ||
        code == CR_SERVER_GONE_ERROR || code == ER_CON_COUNT_ERROR || code == ER_SERVER_SHUTDOWN) {
      return Error(ErrorCode::kUnavailable, error.message(), true, code);
    }
    return Error(
        code == ER_ACCESS_DENIED_ERROR ? ErrorCode::kUnauthenticated : ErrorCode::kInvalidArgument,
        error.message(), false, code);
  }
  if (config.unix_socket.empty()) {
    // Connector/C has no option for these: set on its socket (store/sql/sql_connection.h).
    int fd = static_cast<int>(mysql_get_socket(mysql));
    int on = 1, idle = sql::kKeepaliveIdleSeconds, interval = sql::kKeepaliveIntervalSeconds,
        probes = sql::kKeepaliveProbes, unacknowledged = sql::kUnacknowledgedTimeoutMs;
    (void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &interval, sizeof interval);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof probes);
    (void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &unacknowledged, sizeof unacknowledged);
  }
  if ((config.tls == TlsMode::kRequired || verify) && mysql_get_ssl_cipher(mysql) == nullptr) {
    mysql_close(mysql);
    return InvalidArgument(Cat("connecting to ", config.Redacted(),
                               ": TLS was required but the session is not encrypted"));
  }
  auto connection = std::make_unique<MysqlConnection>(mysql);
  for (const char* sql : {"SET time_zone = '+00:00'",
                          "SET SESSION sql_mode = 'STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION'"}) {
    Status status = connection->ExecuteDirect(sql);
    if (!status) return status.error();
  }
  return std::unique_ptr<sql::SqlConnection>(std::move(connection));
}

}  // namespace lbmirror::store::mysql
