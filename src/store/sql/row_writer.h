// The row writers: what a completed read writes, one writer per kind of row (RowWrite),
// dispatched with std::visit so that a kind without a writer does not compile. Soft or hard
// deletes, SQLite's full-text upkeep (SearchIndex) and documents too deep for the database's
// JSON type (kept in deep_data) are decided here. Runs inside the completion's transaction;
// thread-safe (statements rendered once; the JSON depth limit is learnt once).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "core/result.h"
#include "store/rows.h"
#include "store/sql/change_log.h"
#include "store/sql/dirty_marks.h"
#include "store/sql/search_index.h"
#include "store/sql/sql_connection.h"
#include "store/target_queue.h"

namespace lbmirror::store::sql {

// What a room's Storage or Yjs read marks, to be read `delay_ms` later (once for a burst:
// MarkUnlessPending); no kinds or no delay: nothing.
struct AfterEdit {
  int64_t delay_ms = 0;
  std::vector<TargetKind> kinds;
};

class RowWriter {
 public:
  // (room_id, storage_key) of React Flow diagrams.
  using FlowKeys = std::set<std::pair<std::string, std::string>>;
  // A Storage document to upsert, and the claim whose read it is.
  using PendingDocument = std::pair<const DocumentRow*, const Claim*>;
  // What every write of one completion transaction shares.
  struct Context {
    int64_t now_ms;
    std::string now;                          // now_ms as a SQL timestamp
    const FlowKeys* diagrams;                 // the batch's diagrams that have rows (null: unknown)
    std::vector<PendingDocument>* documents;  // Storage documents, upserted together last
    const Claim* claim = nullptr;             // the completion being written (null: none)
    // With the change feed: the causes worked out in this transaction, by claim.
    std::map<const Claim*, std::string>* causes = nullptr;
  };

  // `search` and `marks` must outlive this. `max_rows`: the most rows one statement writes.
  RowWriter(Dialect dialect, const std::string& prefix, bool hard_deletes, size_t max_rows,
            const SearchIndex& search, const DirtyMarks& marks, AfterEdit after_edit = {});

  // Writes one row write (a Storage document is only added to context.documents).
  Status Apply(SqlConnection& connection, const RowWrite& write, const Context& context) const;
  // Upserts Storage documents, as many as a statement takes at a time.
  Status UpsertDocuments(SqlConnection& connection, std::span<const PendingDocument> documents,
                         const Context& context) const;
  // Those of the completions' diagrams that have rows (one query for all).
  Result<FlowKeys> DiagramsWithRows(SqlConnection& connection,
                                    std::span<const Completion> completions) const;

  // Turns the change feed on: every write that changes a row appends its change to `changes`
  // (which must outlive this); a read no stored webhook explains has the cause `reason`.
  void RecordChanges(const ChangeLog* changes, std::string reason) {
    changes_ = changes;
    reason_ = std::move(reason);
  }

  // MySQL: learns, once, how deep a document the JSON columns take (a bisection with
  // JSON_VALID on `connection`). Does nothing after the first success, and on SQLite.
  bool NeedsJsonDepthProbe() const { return json_depth_limit_.load() < 0; }
  Status ProbeJsonDepthLimit(SqlConnection& connection);

 private:
  Status Write(SqlConnection& connection, const DocumentRow& row, const Context& context) const;
  Status Write(SqlConnection& connection, const YdocRow& row, const Context& context) const;
  Status Write(SqlConnection& connection, const RoomRow& row, const Context& context) const;
  Status Write(SqlConnection& connection, const DocumentGone& row, const Context& context) const;
  Status Write(SqlConnection& connection, const YdocGone& row, const Context& context) const;
  Status Write(SqlConnection& connection, const RoomGone& row, const Context& context) const;
  Status Write(SqlConnection& connection, const ThreadSnapshot& row, const Context& context) const;
  Status Write(SqlConnection& connection, const ThreadGone& row, const Context& context) const;
  Status Write(SqlConnection& connection, const NotificationRow& row, const Context& context) const;
  Status Write(SqlConnection& connection, const NotificationGone& row,
               const Context& context) const;
  Status Write(SqlConnection& connection, const InboxSnapshot& row, const Context& context) const;
  Status Write(SqlConnection& connection, const GroupsSnapshot& row, const Context& context) const;
  Status Write(SqlConnection& connection, const VersionsSnapshot& row,
               const Context& context) const;
  Status Write(SqlConnection& connection, const VersionYdocRow& row, const Context& context) const;
  Status Write(SqlConnection& connection, const VersionYdocGone& row, const Context& context) const;
  Status Write(SqlConnection& connection, const NotificationSettingsRow& row,
               const Context& context) const;
  Status Write(SqlConnection& connection, const NotificationSettingsGone& row,
               const Context& context) const;
  Status Write(SqlConnection& connection, const RoomSubscriptionSettingsSnapshot& row,
               const Context& context) const;
  Status Write(SqlConnection& connection, const ThreadSubscriptionsSnapshot& row,
               const Context& context) const;
  Status Write(SqlConnection& connection, const FeedsSnapshot& row, const Context& context) const;
  Status Write(SqlConnection& connection, const FeedMessagesSnapshot& row,
               const Context& context) const;
  Status Write(SqlConnection& connection, const ActiveUsersSnapshot& row,
               const Context& context) const;
  Status Write(SqlConnection& connection, const FlowSnapshot& row, const Context& context) const;

  Status UpsertNotification(SqlConnection& connection, const NotificationRow& row,
                            const std::string& now) const;
  Status ApplyThread(SqlConnection& connection, const ThreadSnapshot& snapshot,
                     const std::string& now) const;
  Status DeleteThread(SqlConnection& connection, const ThreadGone& gone,
                      const std::string& now) const;
  // A thread's attachments become those of `snapshot` (within ApplyThread).
  Status ApplyAttachments(SqlConnection& connection, const ThreadSnapshot& snapshot,
                          const std::string& now) const;
  Status ApplyActiveUsers(SqlConnection& connection, const ActiveUsersSnapshot& snapshot,
                          const std::string& now, int64_t now_ms) const;
  Status ApplyFlow(SqlConnection& connection, const FlowSnapshot& flow,
                   const std::string& now) const;
  // A room's rows are marked deleted (or deleted), and reads of its content in flight fenced.
  Status DeleteRoom(SqlConnection& connection, const std::string& room_id, const std::string& now,
                    int64_t now_ms) const;
  // With the change feed on: the change writing a room's Storage or Yjs document (`kind`
  // "document" or "ydoc") as `data` makes (none when it is the value the mirror holds),
  // appended in the same transaction. `previous` is the mirrored value (nullopt: none, or
  // deleted).
  Status AppendValueChange(SqlConnection& connection, std::string_view kind,
                           const std::string& room_id, const std::string& data,
                           const std::optional<std::string>& previous,
                           const Context& context) const;
  // Runs `write`; with the change feed on, appends the changes it made to the rows of `tables`
  // that `where` (with `params`) picks, from images read before and after it.
  Status Tracked(SqlConnection& connection, const Context& context,
                 std::initializer_list<std::string_view> tables, std::string_view where,
                 std::span<const SqlValue> params, const std::function<Status()>& write) const;
  // Appends `changes` (their time and cause are the completion's).
  Status AppendChanges(SqlConnection& connection, const Context& context,
                       std::vector<Change> changes) const;
  // The live value of `table`'s row of a room (the JSON, deep or not), if any.
  Result<std::optional<std::string>> LiveValue(SqlConnection& connection, std::string_view table,
                                               const std::string& room_id) const;
  // A deletion that changed `changed` rows: a "delete" change when it changed one.
  Status AppendDeleted(SqlConnection& connection, std::string_view kind, const std::string& room_id,
                       int64_t changed, const Context& context) const;
  // Marks the room's after_edit_ kinds (a Storage or Yjs document of it was read).
  Status MarkAfterEdit(SqlConnection& connection, const std::string& room_id, int64_t now_ms) const;
  // The rows of `table` that `where` picks (with `params`) are gone: deleted with
  // --hard-deletes, else those not marked yet get deleted_at = now.
  Status Retire(SqlConnection& connection, std::string_view table, std::string_view where,
                std::span<const SqlValue> params, const std::string& now) const;
  // Whether a JSON value of this depth (or this JSON text) is too deep for a JSON column.
  bool TooDeepForJson(int depth) const;
  bool TooDeepForJson(const std::string& json) const;
  std::string Sql(std::string_view text) const;

  Dialect dialect_;
  std::string prefix_;
  bool hard_deletes_;
  size_t max_rows_;
  const SearchIndex& search_;
  const DirtyMarks& marks_;
  AfterEdit after_edit_;
  const ChangeLog* changes_ = nullptr;  // the change feed; null: off
  std::string reason_;                  // the cause of reads no webhook explains
  // How deep a document the JSON columns hold: 0 for no limit (SQLite: text columns), -1
  // while not probed yet (MySQL).
  std::atomic<int> json_depth_limit_;
  std::vector<std::string> upsert_documents_;  // by number of documents
  std::string upsert_ydoc_, upsert_room_, room_gone_, document_gone_, ydoc_gone_;
};

}  // namespace lbmirror::store::sql
