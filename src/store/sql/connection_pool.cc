#include "store/sql/sql_connection.h"

namespace lbmirror::store::sql {

ConnectionPool::ConnectionPool(ConnectionFactory factory, int max_size)
    : factory_(std::move(factory)), max_size_(max_size < 1 ? 1 : max_size) {}

ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Lease::~Lease() {
  if (connection_) pool_->Return(std::move(connection_));
}

Result<ConnectionPool::Lease> ConnectionPool::Acquire() {
  {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [this] { return !idle_.empty() || open_ < max_size_; });
    if (!idle_.empty()) {
      auto connection = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(connection));
    }
    ++open_;
  }
  // Open outside the lock: connecting can take seconds.
  auto connection = factory_();
  if (!connection) {
    std::lock_guard lock(mutex_);
    --open_;
    available_.notify_one();
    return connection.error();
  }
  return Lease(this, std::move(*connection));
}

void ConnectionPool::Return(std::unique_ptr<SqlConnection> connection) {
  std::lock_guard lock(mutex_);
  if (connection->broken()) {
    --open_;
  } else {
    idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

}  // namespace lbmirror::store::sql
