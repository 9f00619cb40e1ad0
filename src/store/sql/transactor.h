// Transactions with retries: a body run between Begin and Commit on a pooled connection, the
// whole transaction run again (with backoff and jitter, up to 4 times) when it fails with a
// retryable error (a deadlock, a busy database, a dropped connection); every statement the
// store runs in one is idempotent. Thread-safe.
#pragma once

#include <functional>

#include "core/result.h"
#include "store/sql/sql_connection.h"

namespace lbmirror::store::sql {

// Runs `body` in a transaction on a connection of `pool`; rolled back when it fails.
Status Transact(ConnectionPool& pool, const std::function<Status(SqlConnection&)>& body);

}  // namespace lbmirror::store::sql
