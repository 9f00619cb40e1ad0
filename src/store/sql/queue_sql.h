// The work queue's SQL: claims (a lease and a fencing token taken with conditional UPDATEs,
// several targets a statement), failures, lease renewal, giving back, and the fence check that
// opens a completion. Every statement locks target rows in primary-key order. Thread-safe
// (statements rendered once); each call runs on the connection it is given.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/sql/sql_connection.h"
#include "store/target_queue.h"

namespace lbmirror::store::sql {

// What a completion's fence check found.
enum class Fenced {
  kHeld,         // the claim is in flight: the completion writes its rows
  kLost,         // taken over, or given back: nothing is written
  kAlreadyDone,  // this completion committed before (its transaction is being run again)
};

class QueueSql {
 public:
  // `coalesce_ms`: a target dirtied again during its read is due this long after the read.
  // `max_rows`: the most targets one claim takes.
  QueueSql(Dialect dialect, const std::string& prefix, int64_t coalesce_ms, size_t max_rows);

  // As TargetQueue::ClaimDue, at time `now`. REQUIRES: *next_due_ms reset by the caller.
  // Postgres claims in one statement (FOR UPDATE SKIP LOCKED); MySQL and SQLite read
  // candidates and claim them by conditional UPDATEs.
  Result<std::vector<Claim>> ClaimDue(SqlConnection& connection, std::string_view owner,
                                      std::span<const TargetKind> kinds, int limit,
                                      int64_t lease_ms, int64_t now,
                                      std::optional<int64_t>* next_due_ms) const;
  Status Fail(SqlConnection& connection, const Claim& claim, std::string_view error,
              int64_t retry_at_ms) const;
  // False when the claim no longer holds the target.
  Result<bool> Renew(SqlConnection& connection, const Claim& claim, int64_t lease_until) const;
  Status Release(SqlConnection& connection, const Claim& claim) const;
  // Inside a completion's transaction: checks the claim is still in flight (it holds its
  // fencing token and its lease was not given back) and clears the target (due again after
  // the coalescing delay if it was dirtied during the read). Otherwise nothing is changed,
  // and the answer tells a lost claim from one this completion already committed.
  Result<Fenced> FenceAndClear(SqlConnection& connection, const Claim& claim, int64_t now) const;

 private:
  Result<std::vector<Claim>> ClaimSkippingLocked(SqlConnection& connection, std::string_view owner,
                                                 std::span<const TargetKind> kinds, int limit,
                                                 int64_t lease_ms, int64_t now,
                                                 std::optional<int64_t>* next_due_ms) const;

  Dialect dialect_;
  std::string prefix_;
  int64_t coalesce_ms_;
  size_t max_rows_;
  std::vector<std::string> claim_, claimed_, unclaim_;  // by number of targets
  std::string complete_, completed_, fail_, renew_, release_;
};

}  // namespace lbmirror::store::sql
