#include "store/sql/transactor.h"

#include <chrono>
#include <random>
#include <thread>

#include "core/log.h"
#include "core/text.h"

namespace lbmirror::store::sql {

namespace {
constexpr int kMaxTransactionAttempts = 4;
}  // namespace

Status Transact(ConnectionPool& pool, const std::function<Status(SqlConnection&)>& body) {
  static thread_local std::minstd_rand random(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    bool at_commit = false, dropped = false;
    Status status = [&]() -> Status {
      auto connection = pool.Acquire();
      if (!connection) return connection.error();
      LBMIRROR_RETURN_IF_ERROR((*connection)->Begin());
      Status result = body(**connection);
      if (result) {
        at_commit = true;
        result = (*connection)->Commit();
      }
      dropped = (*connection)->broken();
      if (!result && !dropped) (void)(*connection)->Rollback();
      return result;
    }();
    if (status || !status.error().retryable() || attempt == kMaxTransactionAttempts) {
      return status;
    }
    // Deadlocks, busy databases and dropped connections: back off with jitter and retry the
    // whole transaction (every statement in it is idempotent; a completion that committed on
    // a connection dropped before COMMIT's reply finds its claim no longer in flight).
    int delay_ms = (10 << attempt) + static_cast<int>(random() % 20);
    std::string what = Cat("a transaction failed (attempt ", attempt, " of ",
                           kMaxTransactionAttempts, "): ", status.error().ToString(),
                           dropped && at_commit ? "; the connection dropped at COMMIT, which may "
                                                  "have committed"
                                                : "",
                           "; running it again in ", delay_ms, " ms");
    if (dropped) {
      log::Warn(what);
    } else {
      log::Debug(what);  // a deadlock or a busy database: routine under contention
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  }
}

}  // namespace lbmirror::store::sql
