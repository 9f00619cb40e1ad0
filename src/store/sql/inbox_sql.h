// The inbox's SQL: one group commit of webhooks in one transaction (their events inserted with
// one statement, their targets marked with one, their presence sessions written), a group
// whose ids were partly stored before retried looking first, and the warm-up of the recording
// connections. Thread-safe (statements rendered once).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/inbox.h"
#include "store/sql/change_log.h"
#include "store/sql/dirty_marks.h"
#include "store/sql/sql_connection.h"

namespace lbmirror::store::sql {

class InboxSql {
 public:
  // `coalesce_ms`: a webhook's targets are due this long after it. `max_rows`: the most
  // webhooks one group holds. `marks` must outlive this.
  InboxSql(Dialect dialect, const std::string& prefix, int64_t coalesce_ms, size_t max_rows,
           const DirtyMarks& marks);

  // Records a group on a connection of `pool`; element i tells whether events[i] was new
  // (false: stored before, or earlier in the same group). REQUIRES: events.size() <= max_rows.
  Result<std::vector<bool>> Record(ConnectionPool& pool,
                                   std::span<const InboxEvent* const> events) const;
  // Opens `connections` connections of `pool` at once and prepares the group statements of
  // up to 16 webhooks on each (MySQL).
  Status WarmUp(ConnectionPool& pool, int connections) const;
  // Turns the change feed on for presence sessions (`changes` must outlive this): a webhook
  // that opens or closes one appends its change in its own transaction (where the session row
  // is written).
  void RecordChanges(const ChangeLog* changes) { changes_ = changes; }

 private:
  // Inserts the events not stored yet and marks their targets; without `look_first` every id
  // is assumed new (kConflict, nothing to commit, when only some are).
  Status RecordMany(SqlConnection& connection, std::span<const InboxEvent* const> events,
                    std::vector<bool>& stored, bool look_first) const;
  // A userEntered/userLeft payload's row in room_sessions.
  Status ApplySession(SqlConnection& connection, const SessionChange& change) const;
  // ApplySession, and with the change feed on the change it made, caused by `event`.
  Status ApplySessionChange(SqlConnection& connection, const SessionChange& change,
                            const InboxEvent& event) const;
  std::string Sql(std::string_view text) const;

  Dialect dialect_;
  std::string prefix_;
  int64_t coalesce_ms_;
  size_t max_rows_;
  const DirtyMarks& marks_;
  const ChangeLog* changes_ = nullptr;
  std::vector<std::string> select_events_, insert_events_;  // by number of webhooks
};

}  // namespace lbmirror::store::sql
