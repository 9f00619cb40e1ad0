#include "store/sql/transactor.h"

#include <chrono>
#include <random>
#include <thread>

namespace lbmirror::store::sql {

namespace {
constexpr int kMaxTransactionAttempts = 4;
}  // namespace

Status Transact(ConnectionPool& pool, const std::function<Status(SqlConnection&)>& body) {
  static thread_local std::minstd_rand random(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    Status status = [&]() -> Status {
      auto connection = pool.Acquire();
      if (!connection) return connection.error();
      LBMIRROR_RETURN_IF_ERROR((*connection)->Begin());
      Status result = body(**connection);
      if (result) result = (*connection)->Commit();
      if (!result && !(*connection)->broken()) (void)(*connection)->Rollback();
      return result;
    }();
    if (status || !status.error().retryable() || attempt == kMaxTransactionAttempts) {
      return status;
    }
    // Deadlocks, busy databases and dropped connections: back off with jitter and retry the
    // whole transaction (every statement in it is idempotent).
    int delay_ms = (10 << attempt) + static_cast<int>(random() % 20);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  }
}

}  // namespace lbmirror::store::sql
