#include "store/sqlite/sqlite_connection.h"

#include <sqlite3.h>

#include <chrono>
#include <thread>
#include <unordered_map>

#include "core/text.h"

namespace lbmirror::store::sqlite {

namespace {
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

class SqliteConnection final : public sql::SqlConnection {
 public:
  explicit SqliteConnection(sqlite3* db) : db_(db) {}
  ~SqliteConnection() override {
    statements_.Clear();
    sqlite3_close_v2(db_);
  }

  Result<int64_t> Execute(std::string_view sql, std::span<const sql::SqlValue> params) override {
    auto stmt = Bind(sql, params);
    if (!stmt) return stmt.error();
    int rc = sqlite3_step(*stmt);
    sqlite3_reset(*stmt);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return Fail(rc, "execute");
    return static_cast<int64_t>(sqlite3_changes(db_));
  }

  Result<std::vector<sql::SqlRow>> Query(std::string_view sql,
                                         std::span<const sql::SqlValue> params) override {
    auto stmt = Bind(sql, params);
    if (!stmt) return stmt.error();
    std::vector<sql::SqlRow> rows;
    int columns = sqlite3_column_count(*stmt);
    int rc;
    while ((rc = sqlite3_step(*stmt)) == SQLITE_ROW) {
      sql::SqlRow row(columns);
      for (int i = 0; i < columns; ++i) {
        if (sqlite3_column_type(*stmt, i) == SQLITE_NULL) continue;
        const auto* bytes = sqlite3_column_type(*stmt, i) == SQLITE_BLOB
                                ? static_cast<const char*>(sqlite3_column_blob(*stmt, i))
                                : reinterpret_cast<const char*>(sqlite3_column_text(*stmt, i));
        int size = sqlite3_column_bytes(*stmt, i);
        row[i] = size > 0 ? std::string(bytes, size) : std::string();
      }
      rows.push_back(std::move(row));
    }
    sqlite3_reset(*stmt);
    if (rc != SQLITE_DONE) return Fail(rc, "query");
    return rows;
  }

  Status ExecuteDirect(std::string_view sql) override {
    int rc = sqlite3_exec(db_, std::string(sql).c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return Fail(rc, "exec");
    return Ok();
  }
  Status Begin() override { return ExecuteDirect("BEGIN IMMEDIATE"); }
  Status Commit() override { return ExecuteDirect("COMMIT"); }
  Status Rollback() override { return ExecuteDirect("ROLLBACK"); }
  bool broken() const override { return false; }

 private:
  Error Fail(int rc, std::string_view context) {
    int primary = rc & 0xFF;
    bool retryable = primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
    ErrorCode code = retryable                  ? ErrorCode::kUnavailable
                     : primary == SQLITE_TOOBIG ? ErrorCode::kTooLarge
                                                : ErrorCode::kInternal;
    return Error(code, Cat(context, ": SQLite error ", rc, ": ", sqlite3_errmsg(db_)), retryable,
                 rc);
  }

  Result<sqlite3_stmt*> Bind(std::string_view sql, std::span<const sql::SqlValue> params) {
    sqlite3_stmt* stmt = statements_.Find(sql);
    if (stmt == nullptr) {
      int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                  SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
      if (rc != SQLITE_OK) return Fail(rc, "prepare");
      statements_.Add(sql, StmtPtr(stmt));
    }
    if (sqlite3_bind_parameter_count(stmt) != static_cast<int>(params.size())) {
      return Internal(Cat("statement expects ", sqlite3_bind_parameter_count(stmt),
                          " parameters, got ", params.size()));
    }
    for (size_t i = 0; i < params.size(); ++i) {
      int index = static_cast<int>(i + 1);
      int rc;
      if (std::holds_alternative<std::nullptr_t>(params[i])) {
        rc = sqlite3_bind_null(stmt, index);
      } else if (auto* number = std::get_if<int64_t>(&params[i])) {
        rc = sqlite3_bind_int64(stmt, index, *number);
      } else if (auto* real = std::get_if<double>(&params[i])) {
        rc = sqlite3_bind_double(stmt, index, *real);
      } else if (auto* blob = std::get_if<sql::Blob>(&params[i])) {
        rc =
            sqlite3_bind_blob64(stmt, index, blob->bytes.data(), blob->bytes.size(), SQLITE_STATIC);
      } else {
        std::string_view text = std::get<std::string_view>(params[i]);
        // SQLITE_STATIC: the caller keeps the text alive until the statement is reset.
        rc = sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
      }
      if (rc != SQLITE_OK) return Fail(rc, "bind");
    }
    return stmt;
  }

  sqlite3* db_;
  sql::StatementCache<StmtPtr> statements_;
};
}  // namespace

Result<std::unique_ptr<sql::SqlConnection>> OpenSqliteConnection(const std::string& path) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return Error(ErrorCode::kUnavailable, Cat("opening SQLite database ", path, ": ", message),
                 false, rc);
  }
  auto connection = std::make_unique<SqliteConnection>(db);
  sqlite3_busy_timeout(db, 5000);
  for (const char* pragma :
       {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA foreign_keys = OFF"}) {
    // Switching a new file to WAL takes an exclusive lock without waiting for it: a process
    // opening the same file at the same instant (replicas starting together) is told "busy".
    Status status = connection->ExecuteDirect(pragma);
    for (int attempt = 1; !status && status.error().retryable() && attempt < 100; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      status = connection->ExecuteDirect(pragma);
    }
    if (!status) return status.error().WithContext(Cat("opening SQLite database ", path));
  }
  return std::unique_ptr<sql::SqlConnection>(std::move(connection));
}

}  // namespace lbmirror::store::sqlite
