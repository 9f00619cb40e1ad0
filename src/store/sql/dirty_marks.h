// The dirty mark of the work queue, shared by recording (webhooks mark their targets), the row
// writers (presence marks its room, a room's deletion fences out reads of its content) and
// operators: below the inbox, the queue and the writers, so that none of them needs another.
// Thread-safe (statements rendered once).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "store/sql/sql_connection.h"
#include "store/target.h"

namespace lbmirror::store::sql {

class DirtyMarks {
 public:
  // `max_wait_ms`: a pending target is never postponed past this after it became dirty.
  // `max_rows`: the most targets one statement marks.
  DirtyMarks(Dialect dialect, const std::string& prefix, int64_t max_wait_ms, size_t max_rows);

  // Marks `key` dirty, due `delay_ms` after `now_ms` (see the statement for the rules).
  Status Mark(SqlConnection& connection, const TargetKey& key, int64_t now_ms,
              int64_t delay_ms = 0) const;
  // Mark (due now), recording why (targets.marked_by: "replay", "mirror_again", "retry"; "" for a
  // reconciliation's or a pass's mark), which a change's cause names when no stored webhook
  // explains the read (ChangeLog::Cause).
  Status MarkBy(SqlConnection& connection, const TargetKey& key, int64_t now_ms,
                std::string_view reason) const;
  // Marks `key` dirty, due `delay_ms` after `now_ms`, unless it is dirty already (then its
  // schedule stands: a later call neither postpones nor hastens it).
  Status MarkUnlessPending(SqlConnection& connection, const TargetKey& key, int64_t now_ms,
                           int64_t delay_ms) const;
  // The statement marking `rows` targets at once (5 parameters a target: kind, scope, object,
  // due time, time it became dirty). REQUIRES: 1 <= rows <= max_rows.
  const std::string& Many(size_t rows) const { return many_.at(rows); }
  // A room's deletion: each of the room's content targets being read (storage, ydoc, thread,
  // presence) loses its claim (fencing token bumped) and is due again at once.
  Status FenceRoomReads(SqlConnection& connection, const std::string& room_id,
                        int64_t now_ms) const;
  // Before a room's row is written live: if the mirror holds the room as deleted (with
  // `hard_deletes`, holds no row for it), the room was created again with the same id, and a
  // deletion read before that may have marked its new content deleted; the room's content
  // targets (storage, ydoc, thread, presence) are marked dirty, due at once, and read again.
  Status MarkRevivedRoomContent(SqlConnection& connection, const std::string& room_id,
                                int64_t now_ms, bool hard_deletes) const;

 private:
  std::vector<std::string> many_;
  std::string fence_room_reads_;
  std::string mark_unless_pending_, mark_by_;
  std::string mark_revived_[2];  // soft deletes, hard deletes
};

}  // namespace lbmirror::store::sql
