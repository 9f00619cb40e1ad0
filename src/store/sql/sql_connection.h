// The small SQL surface the stores need, implemented once per backend (store/mysql/,
// store/sqlite/): prepared statements cached by SQL text, "?" placeholders, text results.
// A connection is used by one thread at a time; ConnectionPool hands them out.
#pragma once

#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/result.h"

namespace lbmirror::store::sql {

// A database connection cut off without a reset (a failover, a NAT's idle timeout, a cut link)
// is found dead in seconds, not minutes: TCP keepalive probes after 5 s of silence, every 2 s,
// dead after 3 unanswered; and dead when data sent stays unacknowledged for 10 s
// (TCP_USER_TIMEOUT). Its statement then fails as retryable and the pool opens a new one.
inline constexpr int kKeepaliveIdleSeconds = 5;
inline constexpr int kKeepaliveIntervalSeconds = 2;
inline constexpr int kKeepaliveProbes = 3;
inline constexpr int kUnacknowledgedTimeoutMs = 10'000;

enum class Dialect { kMysql, kSqlite, kPostgres };

// Binary data for a BLOB column.
struct Blob {
  std::string_view bytes;
};
// A bound parameter. Strings and blobs are borrowed for the duration of the call.
using SqlValue = std::variant<std::nullptr_t, int64_t, double, std::string_view, Blob>;
// One result row; nullopt is SQL NULL. Numbers come back as decimal text.
using SqlRow = std::vector<std::optional<std::string>>;

// A numeric field of a row: 0 for NULL, and for text that is not a decimal integer.
inline int64_t IntField(const std::optional<std::string>& field) {
  int64_t value = 0;
  if (field) std::from_chars(field->data(), field->data() + field->size(), value);
  return value;
}

// A connection's prepared statements by SQL text, looked up without copying the text. `Ptr`
// owns one backend statement handle (a unique_ptr with the backend's deleter).
template <typename Ptr>
class StatementCache {
 public:
  using Handle = typename Ptr::pointer;
  // The statement prepared for `sql`, or nullptr.
  Handle Find(std::string_view sql) const {
    auto it = statements_.find(sql);
    return it == statements_.end() ? nullptr : it->second.get();
  }
  Handle Add(std::string_view sql, Ptr statement) {
    Handle handle = statement.get();
    statements_.insert_or_assign(std::string(sql), std::move(statement));
    return handle;
  }
  void Erase(std::string_view sql) {
    if (auto it = statements_.find(sql); it != statements_.end()) statements_.erase(it);
  }
  void Clear() { statements_.clear(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view text) const { return std::hash<std::string_view>{}(text); }
  };
  std::unordered_map<std::string, Ptr, Hash, std::equal_to<>> statements_;
};

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  // Runs one statement; returns the number of rows it changed.
  virtual Result<int64_t> Execute(std::string_view sql, std::span<const SqlValue> params) = 0;
  virtual Result<std::vector<SqlRow>> Query(std::string_view sql,
                                            std::span<const SqlValue> params) = 0;
  // Runs one statement without preparing it (DDL, transaction control).
  virtual Status ExecuteDirect(std::string_view sql) = 0;
  // Starts a write transaction (SQLite: BEGIN IMMEDIATE, taking the write lock up front).
  virtual Status Begin() = 0;
  // For a connection that only ever runs transactions: Begin() may then cost nothing (MySQL:
  // autocommit is turned off once, and each transaction starts with its first statement).
  // Statements outside Begin()/Commit() must not be run on it afterwards.
  virtual void OnlyTransactions() {}
  // Prepares a statement ahead of its first use, where the backend caches them.
  virtual Status Prepare(std::string_view sql) {
    (void)sql;
    return Ok();
  }
  virtual Status Commit() = 0;
  virtual Status Rollback() = 0;
  // True once the connection is unusable; the pool then discards it.
  virtual bool broken() const = 0;
};

using ConnectionFactory = std::function<Result<std::unique_ptr<SqlConnection>>()>;

// A bounded pool of connections. Acquire() blocks while all are in use.
class ConnectionPool {
 public:
  ConnectionPool(ConnectionFactory factory, int max_size);
  ~ConnectionPool();

  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<SqlConnection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    Lease(Lease&&) = default;
    ~Lease();
    SqlConnection* operator->() const { return connection_.get(); }
    SqlConnection& operator*() const { return *connection_; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<SqlConnection> connection_;
  };

  // A connection, opening a new one when none is idle; an error if opening fails.
  Result<Lease> Acquire();

 private:
  void Return(std::unique_ptr<SqlConnection> connection);

  ConnectionFactory factory_;
  int max_size_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<SqlConnection>> idle_;
  int open_ = 0;
};

}  // namespace lbmirror::store::sql
