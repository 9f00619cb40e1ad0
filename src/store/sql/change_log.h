// The change feed's table: changes are appended in the transaction of the rows they describe,
// without a position; Sequence gives the committed ones positions, in order, in a transaction
// of its own that first locks the one row of change_sequence. Positions therefore become
// visible in increasing order, and a transaction that commits late gets a position after every
// one already visible: a reader that has read everything up to N never later finds a change at
// or below N (ordering by the auto-incremented change_id would: an id is taken at insert, not at
// commit). Works alike on SQLite (one writer), MySQL/PlanetScale (a row lock, no advisory
// locks) and Postgres, with any number of replicas sequencing: they take turns on the lock.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/sql/dialect.h"
#include "store/sql/sql_connection.h"
#include "store/store.h"
#include "store/target_queue.h"

namespace lbmirror::store::sql {

using ChangeRow = Change;

// The targets a stored webhook's payload marks (what the webhook layer's parser finds), for
// telling which webhooks caused a read. Given by the layer that parses webhooks; without it,
// every webhook of the target's room counts.
using EventTargets = std::function<std::vector<TargetKey>(std::string_view payload)>;

class ChangeLog {
 public:
  ChangeLog(Dialect dialect, const std::string& prefix, EventTargets event_targets = {});

  // Appends `change` (its position is ignored) within the caller's transaction.
  Status Append(SqlConnection& connection, const ChangeRow& change) const;
  // Within a transaction of its own on `connection` (the caller's Begin/Commit): gives up to
  // `limit` committed changes without a position the next positions, in change_id order;
  // returns how many.
  Result<int64_t> Sequence(SqlConnection& connection, int limit) const;
  // Up to `limit` changes with a position after `after`, in position order. A position the
  // retention has pruned past is an error (kInvalidArgument) naming where the kept ones start.
  Result<std::vector<ChangeRow>> Read(SqlConnection& connection, int64_t after, int limit,
                                      const ChangeFilter& filter = {}) const;
  // The latest `limit` changes of a room, newest first.
  Result<std::vector<ChangeRow>> RoomChanges(SqlConnection& connection, std::string_view room_id,
                                             int limit) const;
  // Within a transaction of its own: deletes up to `limit` changes, the oldest by position, of
  // those committed before `before_ms`; returns how many.
  Result<int64_t> Prune(SqlConnection& connection, int64_t before_ms, int limit) const;
  // Forwarding's cursors (ChangeFeed's LeaseCursor, SaveCursor, Forwarding, RetryCursor), each
  // in the caller's transaction.
  Result<std::optional<int64_t>> LeaseCursor(SqlConnection& connection, std::string_view endpoint,
                                             std::string_view owner, int64_t now_ms,
                                             int64_t lease_ms) const;
  Result<bool> SaveCursor(SqlConnection& connection, std::string_view endpoint,
                          std::string_view owner, const CursorUpdate& update, int64_t now_ms) const;
  Result<ForwardingStatus> Forwarding(SqlConnection& connection) const;
  Result<bool> RetryCursor(SqlConnection& connection, std::string_view endpoint) const;
  Status ReleaseCursor(SqlConnection& connection, std::string_view endpoint,
                       std::string_view owner) const;
  // Why the read that `claim` made happened, as a change's cause (JSON): the stored webhooks
  // that marked its target since it last became due ({"reason":"webhook","webhooks":[ids]},
  // oldest first, at most 20), else why an operator marked it ("replay", "mirror_again",
  // "retry"), else `reason` ("reconciliation", "backfill"); with "attempt" when the read was
  // retried. Within the completion's transaction (the target row is locked).
  Result<std::string> Cause(SqlConnection& connection, const Claim& claim,
                            std::string_view reason) const;

 private:
  std::string append_, lock_, last_, unsequenced_, place_, advance_, read_, pruned_, cutoff_,
      prune_, mark_pruned_, first_dirty_, room_events_, user_events_;
  std::string cursor_create_, cursor_lease_, cursor_read_, cursor_save_, cursor_all_, cursor_retry_,
      room_changes_, cursor_release_;
  EventTargets event_targets_;
};

}  // namespace lbmirror::store::sql
