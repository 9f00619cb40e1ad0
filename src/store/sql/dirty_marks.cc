#include "store/sql/dirty_marks.h"

#include "store/sql/values.h"

namespace lbmirror::store::sql {

DirtyMarks::DirtyMarks(Dialect dialect, const std::string& prefix, int64_t max_wait_ms,
                       size_t max_rows) {
  // A target that was clean becomes due at the proposed time (the coalescing delay after
  // the webhook). One already pending is postponed to it (debouncing: a burst costs one
  // read, after its last webhook), but never beyond max_wait_ms after it became dirty;
  // one in a retry backoff (attempts > 0) keeps its schedule. MySQL evaluates assignments
  // left to right, so dirty_seq is bumped last and every CASE sees the old values, as
  // SQLite does (first_dirty_at is only changed for clean targets).
  // A clean target marked by a webhook or a pass forgets an operator's earlier reason; one
  // still pending keeps it (the change feed names it when no stored webhook explains the read).
  const std::string clears_reason =
      " marked_by = CASE WHEN {old:dirty_seq} > {old:done_seq} THEN {old:marked_by} ELSE '' END,";
  const std::string schedule =
      " first_dirty_at = CASE WHEN {old:dirty_seq} > {old:done_seq} THEN {old:first_dirty_at}"
      " ELSE {v:first_dirty_at} END,"
      " next_attempt_at = CASE WHEN {old:dirty_seq} <= {old:done_seq} THEN {v:next_attempt_at}"
      " WHEN {old:attempts} > 0 THEN {old:next_attempt_at}"
      " ELSE {least}({greatest}({old:next_attempt_at}, {v:next_attempt_at}),"
      " {old:first_dirty_at} + " +
      std::to_string(max_wait_ms) +
      ") END,"
      " attempts = CASE WHEN {old:dirty_seq} > {old:done_seq} THEN {old:attempts} ELSE 0"
      " END,";
  many_ =
      ManyRowStatements(dialect, prefix,
                        "INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq,"
                        " next_attempt_at, first_dirty_at) VALUES ",
                        "(?, ?, ?, 1, 0, ?, ?)",
                        " {upsert:kind, scope_id, object_id}" + schedule + clears_reason +
                            " dirty_seq = {old:dirty_seq} + 1",
                        max_rows);
  // The same for one target marked by the mark's reason (MarkBy).
  mark_by_ = RenderSql(
      "INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at,"
      " first_dirty_at, marked_by) VALUES (?, ?, ?, 1, 0, ?, ?, ?)"
      " {upsert:kind, scope_id, object_id}" +
          schedule + " marked_by = {v:marked_by}, dirty_seq = {old:dirty_seq} + 1",
      dialect, prefix);
  // dirty_seq bumped last, as above; a target already dirty keeps its times and attempts.
  mark_unless_pending_ = RenderSql(
      "INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at,"
      " first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?) {upsert:kind, scope_id, object_id}"
      " first_dirty_at = CASE WHEN {old:dirty_seq} > {old:done_seq} THEN {old:first_dirty_at}"
      " ELSE {v:first_dirty_at} END,"
      " next_attempt_at = CASE WHEN {old:dirty_seq} > {old:done_seq} THEN {old:next_attempt_at}"
      " ELSE {v:next_attempt_at} END,"
      " attempts = CASE WHEN {old:dirty_seq} > {old:done_seq} THEN {old:attempts} ELSE 0 END," +
          clears_reason + " dirty_seq = {old:dirty_seq} + 1",
      dialect, prefix);
  // The room's other targets that are claimed: fenced out, given back and dirty again
  // (dirty_seq bumped last: MySQL assigns left to right).
  fence_room_reads_ = RenderSql(
      "UPDATE {p}targets SET fence = fence + 1, lease_owner = '', lease_until = 0,"
      " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,"
      " next_attempt_at = CASE WHEN dirty_seq > done_seq THEN {least}(next_attempt_at, ?)"
      " ELSE ? END,"
      " first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE ? END,"
      " dirty_seq = dirty_seq + 1"
      " WHERE kind IN ('presence', 'storage', 'thread', 'ydoc') AND scope_id = ?"
      " AND lease_until > 0",
      dialect, prefix);
  // dirty_seq bumped last, as above.
  const std::string mark_content =
      "UPDATE {p}targets SET"
      " next_attempt_at = CASE WHEN dirty_seq > done_seq THEN {least}(next_attempt_at, ?)"
      " ELSE ? END,"
      " first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE ? END,"
      " dirty_seq = dirty_seq + 1"
      " WHERE kind IN ('presence', 'storage', 'thread', 'ydoc') AND scope_id = ? AND ";
  mark_revived_[0] = RenderSql(mark_content +
                                   "EXISTS (SELECT 1 FROM {p}rooms WHERE room_id = ?"
                                   " AND deleted_at IS NOT NULL)",
                               dialect, prefix);
  // Without soft deletes a room new to the mirror looks the same: only targets that were
  // read before (done_seq > 0) can have written rows a deletion removed.
  mark_revived_[1] = RenderSql(
      mark_content + "done_seq > 0 AND NOT EXISTS (SELECT 1 FROM {p}rooms WHERE room_id = ?)",
      dialect, prefix);
}

Status DirtyMarks::Mark(SqlConnection& connection, const TargetKey& key, int64_t now_ms,
                        int64_t delay_ms) const {
  SqlValue params[] = {TargetKindName(key.kind), std::string_view(key.scope_id),
                       std::string_view(key.object_id), now_ms + delay_ms, now_ms};
  return Run(connection, Many(1), params);
}

Status DirtyMarks::MarkBy(SqlConnection& connection, const TargetKey& key, int64_t now_ms,
                          std::string_view reason) const {
  SqlValue params[] = {TargetKindName(key.kind),
                       std::string_view(key.scope_id),
                       std::string_view(key.object_id),
                       now_ms,
                       now_ms,
                       reason};
  return Run(connection, mark_by_, params);
}

Status DirtyMarks::MarkUnlessPending(SqlConnection& connection, const TargetKey& key,
                                     int64_t now_ms, int64_t delay_ms) const {
  SqlValue params[] = {TargetKindName(key.kind), std::string_view(key.scope_id),
                       std::string_view(key.object_id), now_ms + delay_ms, now_ms};
  return Run(connection, mark_unless_pending_, params);
}

Status DirtyMarks::FenceRoomReads(SqlConnection& connection, const std::string& room_id,
                                  int64_t now_ms) const {
  SqlValue params[] = {now_ms, now_ms, now_ms, Text(room_id)};
  return Run(connection, fence_room_reads_, params);
}

Status DirtyMarks::MarkRevivedRoomContent(SqlConnection& connection, const std::string& room_id,
                                          int64_t now_ms, bool hard_deletes) const {
  SqlValue params[] = {now_ms, now_ms, now_ms, Text(room_id), Text(room_id)};
  return Run(connection, mark_revived_[hard_deletes ? 1 : 0], params);
}

}  // namespace lbmirror::store::sql
