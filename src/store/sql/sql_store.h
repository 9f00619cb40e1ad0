// SqlStore: the Store over any SqlConnection backend, a facade over the units of store/sql/
// (one concern each, SQL rendered once per dialect): the group committer and the inbox's SQL
// record webhooks, the queue's SQL claims, the row writers and the dirty marks write what a
// read found, the search index and the migrator do what their names say. It keeps the
// connection pools and the completion of a claim (fence check, rows, clear the target), which
// ties the queue and the writers together. Thread-safe: each call borrows a pooled connection.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include "core/clock.h"
#include "store/sql/group_committer.h"
#include "store/sql/inbox_sql.h"
#include "store/sql/migrator.h"
#include "store/sql/queue_sql.h"
#include "store/sql/row_writer.h"
#include "store/sql/schema.h"
#include "store/sql/search_index.h"
#include "store/sql/sql_connection.h"
#include "store/store.h"

namespace lbmirror::store::sql {

struct SqlStoreOptions {
  std::string table_prefix = "liveblocks_";
  int pool_size = 8;
  bool hard_deletes = false;  // delete rows of gone objects instead of setting deleted_at
  // A target made dirty by a webhook, or again while it was being read, becomes due this much
  // later, and each further webhook for it postpones it again (at most to 5 times this after
  // it became dirty), so that the webhooks of a burst share one read after the last of them.
  int64_t coalesce_ms = 0;
  // Group commit: up to this many threads record webhooks, each taking every webhook queued
  // meanwhile (up to kMaxRecordBatch) into one transaction with multi-row statements. The
  // first records whatever is queued; the others join only while more than one group waits,
  // since a second transaction in flight splits the groups and costs the database a commit.
  int record_committers = 2;
  // A room whose Storage or Yjs document was read (it changed, or was connected to) has
  // these targets of its own (versions, feeds) read this long after, once for the activity
  // that began meanwhile (0: not at all; then only their passes read them).
  sql::AfterEdit after_edit = {};
  // The change feed: each completion that changes rows appends their changes, which
  // SequenceChanges then gives positions; a read no stored webhook explains has the cause
  // `change_reason`.
  bool change_feed = false;
  std::string change_reason = "reconciliation";
  sql::EventTargets event_targets = {};  // which webhooks marked a target (ChangeLog::Cause)
};

class SqlStore final : public Store {
 public:
  // The most webhooks recorded, or targets claimed, by one statement.
  static constexpr int kMaxRecordBatch = 64;

  // REQUIRES: options.table_prefix satisfies IsValidTablePrefix. `clock` must outlive this.
  SqlStore(Dialect dialect, ConnectionFactory factory, SqlStoreOptions options, const Clock& clock);
  ~SqlStore() override;

  void RecordAsync(InboxEvent event, RecordDone done) override;
  // MySQL: opens the recording connections (autocommit off) and prepares the group
  // statements of up to 16 webhooks.
  Status WarmUp() override;
  Result<std::vector<Claim>> ClaimDue(std::string_view owner, std::span<const TargetKind> kinds,
                                      int limit, int64_t lease_ms,
                                      std::optional<int64_t>* next_due_ms = nullptr) override;
  Result<bool> Complete(const Claim& claim, std::span<const RowWrite> writes,
                        std::span<const TargetKey> also_dirty) override;
  Result<std::vector<bool>> CompleteAll(std::span<const Completion> completions) override;
  Status Fail(const Claim& claim, std::string_view error, int64_t retry_at_ms) override;
  Result<bool> Renew(const Claim& claim, int64_t lease_ms) override;
  Status Release(const Claim& claim) override;

  Result<std::vector<SearchHit>> Search(std::string_view query, int limit) override;
  Result<std::optional<std::string>> YdocState(std::string_view room_id) override;
  Status Migrate() override;
  Result<int> SchemaVersion() override;
  void PrintMigrations(std::ostream& out) const override;
  Status Ping() override;
  Result<std::vector<RoomRow>> LiveRooms(std::string_view prefix) override;
  Result<RoomContent> Content(std::string_view room_id) override;
  Result<std::vector<std::string>> KnownUsers() override;
  Result<std::vector<std::pair<std::string, std::string>>> LiveThreads() override;
  Status MarkDirty(std::span<const TargetKey> targets, std::string_view reason) override;
  Result<std::optional<std::string>> Checkpoint(std::string_view name) override;
  Status SetCheckpoint(std::string_view name, std::string_view value) override;
  Result<QueueStatus> Queue(int max_failures) override;
  Result<int64_t> RetryNow(const std::optional<TargetKey>& target) override;
  Result<std::vector<LastEvent>> LastEvents() override;
  Result<std::vector<StoredEvent>> Events(const EventFilter& filter) override;
  Result<RoomSummary> Summary(std::string_view room_id) override;
  Result<int64_t> PruneEvents(int64_t before_ms) override;

  // The change feed (sql/change_log.h): one sequencing transaction (up to `limit` changes
  // placed), and the changes after a position.
  Result<int64_t> SequenceChanges(int limit) override;
  Result<std::vector<Change>> ReadChanges(int64_t after, int limit,
                                          const ChangeFilter& filter) override;
  Result<int64_t> PruneChanges(int64_t before_ms, int limit) override;
  Result<std::vector<Change>> RoomChanges(std::string_view room_id, int limit) override;
  Result<std::optional<int64_t>> LeaseCursor(std::string_view endpoint, std::string_view owner,
                                             int64_t lease_ms) override;
  Result<bool> SaveCursor(std::string_view endpoint, std::string_view owner,
                          const CursorUpdate& update) override;
  Result<ForwardingStatus> Forwarding() override;
  Result<bool> RetryCursor(std::string_view endpoint) override;
  Status ReleaseCursor(std::string_view endpoint, std::string_view owner) override;

 private:
  // Records the webhooks of one group commit: one transaction when they are several (with a
  // fall back to one transaction each if it is refused, so one bad event fails alone).
  void RecordGroup(std::span<sql::GroupCommitter::Pending> group);

  // Runs `body` in a transaction, retrying the whole transaction on retryable errors, on a
  // connection of `pool` (default pool_).
  Status Transact(const std::function<Status(SqlConnection&)>& body,
                  ConnectionPool* pool = nullptr);
  // The pool of webhook recording: connections of its own on MySQL, used only for
  // transactions (they then need no START TRANSACTION); pool_ on SQLite (one writer).
  ConnectionPool* RecordPool();
  Status MarkDirty(SqlConnection& connection, const TargetKey& key, int64_t now_ms,
                   int64_t delay_ms = 0);
  // Within a transaction: clears the claimed target (fencing checked first) and applies its
  // writes (Storage documents only to context.documents). False, with nothing written, when
  // the lease was taken over.
  Result<bool> CompleteOne(SqlConnection& connection, const Completion& completion,
                           const sql::RowWriter::Context& context);
  // `text` rendered for the dialect and table prefix (operators' statements).
  std::string Sql(std::string_view text) const;

  Dialect dialect_;
  SqlStoreOptions options_;
  sql::Migrator migrator_;
  sql::SearchIndex search_;
  sql::DirtyMarks marks_;
  sql::ChangeLog change_log_;
  sql::RowWriter writer_;
  sql::QueueSql queue_;
  sql::InboxSql inbox_;
  const Clock& clock_;
  ConnectionPool pool_;
  ConnectionPool record_pool_;
  std::unique_ptr<sql::GroupCommitter> committer_;  // records webhooks (RecordAsync)
};

}  // namespace lbmirror::store::sql
