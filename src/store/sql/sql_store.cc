#include "store/sql/sql_store.h"

#include <algorithm>
#include <map>

#include "core/log.h"
#include "core/text.h"
#include "store/sql/dialect.h"
#include "store/sql/schema.h"
#include "store/sql/transactor.h"
#include "store/sql/values.h"

namespace lbmirror::store::sql {

using sql::KeyOrder;

SqlStore::SqlStore(Dialect dialect, ConnectionFactory factory, SqlStoreOptions options,
                   const Clock& clock)
    : dialect_(dialect),
      options_(std::move(options)),
      migrator_(dialect, options_.table_prefix, clock),
      search_(dialect, options_.table_prefix),
      marks_(dialect, options_.table_prefix, std::max<int64_t>(options_.coalesce_ms * 5, 1),
             kMaxRecordBatch),
      change_log_(dialect, options_.table_prefix, options_.event_targets),
      writer_(dialect, options_.table_prefix, options_.hard_deletes, kMaxRecordBatch, search_,
              marks_, options_.after_edit),
      queue_(dialect, options_.table_prefix, options_.coalesce_ms, kMaxRecordBatch),
      inbox_(dialect, options_.table_prefix, options_.coalesce_ms, kMaxRecordBatch, marks_),
      clock_(clock),
      pool_(factory, options_.pool_size),
      // Recording connections run nothing but transactions: no START TRANSACTION each time.
      record_pool_(
          [factory = std::move(factory)] {
            auto connection = factory();
            if (connection) (*connection)->OnlyTransactions();
            return connection;
          },
          std::max(1, options_.record_committers)) {
  LBMIRROR_CHECK(IsValidTablePrefix(options_.table_prefix));
  if (options_.change_feed) {
    writer_.RecordChanges(&change_log_, options_.change_reason);
    inbox_.RecordChanges(&change_log_);
  }
  // SQLite has one writer: a second committer would only wait for it.
  committer_ = std::make_unique<sql::GroupCommitter>(
      dialect_ != Dialect::kSqlite ? options_.record_committers : 1, kMaxRecordBatch,
      [this](std::span<sql::GroupCommitter::Pending> group) { RecordGroup(group); });
}

SqlStore::~SqlStore() {
  committer_.reset();  // records what is queued while the pools are still there
}

ConnectionPool* SqlStore::RecordPool() {
  return dialect_ != Dialect::kSqlite ? &record_pool_ : &pool_;
}

Status SqlStore::Transact(const std::function<Status(SqlConnection&)>& body, ConnectionPool* pool) {
  return sql::Transact(pool != nullptr ? *pool : pool_, body);
}

Status SqlStore::MarkDirty(SqlConnection& connection, const TargetKey& key, int64_t now_ms,
                           int64_t delay_ms) {
  return marks_.Mark(connection, key, now_ms, delay_ms);
}

void SqlStore::RecordAsync(InboxEvent event, RecordDone done) {
  committer_->Submit(std::move(event), std::move(done));
}

Status SqlStore::WarmUp() {
  if (dialect_ == Dialect::kSqlite) return Ok();
  return inbox_.WarmUp(record_pool_, options_.record_committers);
}

void SqlStore::RecordGroup(std::span<sql::GroupCommitter::Pending> group) {
  std::vector<const InboxEvent*> events;
  for (const sql::GroupCommitter::Pending& pending : group) events.push_back(&pending.event);
  Result<std::vector<bool>> stored = inbox_.Record(*RecordPool(), events);
  if (stored) {
    for (size_t i = 0; i < group.size(); ++i) group[i].result = bool((*stored)[i]);
    return;
  }
  if (stored.error().retryable() || group.size() == 1) {
    // The database is unavailable (every webhook of the group is answered 503 and
    // redelivered), or the one webhook was refused.
    for (sql::GroupCommitter::Pending& pending : group) pending.result = stored.error();
    return;
  }
  // Refused (a value the database does not accept?): record each alone, so that only the
  // webhook at fault is refused.
  for (sql::GroupCommitter::Pending& pending : group) RecordGroup(std::span(&pending, 1));
}

Result<std::vector<Claim>> SqlStore::ClaimDue(std::string_view owner,
                                              std::span<const TargetKind> kinds, int limit,
                                              int64_t lease_ms,
                                              std::optional<int64_t>* next_due_ms) {
  if (next_due_ms != nullptr) next_due_ms->reset();
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  return queue_.ClaimDue(**connection, owner, kinds, limit, lease_ms, clock_.NowMs(), next_due_ms);
}

std::string SqlStore::Sql(std::string_view text) const {
  return sql::RenderSql(std::string(text), dialect_, options_.table_prefix);
}

Result<bool> SqlStore::CompleteOne(SqlConnection& connection, const Completion& completion,
                                   const sql::RowWriter::Context& context) {
  const int64_t now = context.now_ms;
  // The fencing check comes first and locks the target row until commit, so a worker whose
  // lease was taken over (or given back) cannot write anything.
  auto fenced = queue_.FenceAndClear(connection, completion.claim, now);
  if (!fenced) return fenced.error();
  if (*fenced == sql::Fenced::kLost) return false;
  if (*fenced == sql::Fenced::kAlreadyDone) {
    // Its rows were written by an earlier run of this transaction whose COMMIT's reply was
    // lost: writing them again now could undo what committed since (a room's deletion).
    log::Info(Cat(completion.claim.key.ToString(),
                  ": already written by an earlier attempt whose commit reply was lost"));
    return true;
  }
  sql::RowWriter::Context mine = context;
  mine.claim = &completion.claim;
  for (const RowWrite& write : completion.writes) {
    LBMIRROR_RETURN_IF_ERROR(writer_.Apply(connection, write, mine));
  }
  for (const TargetKey& key : completion.also_dirty) {
    LBMIRROR_RETURN_IF_ERROR(MarkDirty(connection, key, now));
  }
  return true;
}

Result<bool> SqlStore::Complete(const Claim& claim, std::span<const RowWrite> writes,
                                std::span<const TargetKey> also_dirty) {
  Completion completion{
      claim, {writes.begin(), writes.end()}, {also_dirty.begin(), also_dirty.end()}};
  auto done = CompleteAll(std::span(&completion, 1));
  if (!done) return done.error();
  return bool((*done)[0]);
}

Result<std::vector<bool>> SqlStore::CompleteAll(std::span<const Completion> completions) {
  if (writer_.NeedsJsonDepthProbe()) {
    auto connection = pool_.Acquire();
    if (!connection) return connection.error();
    LBMIRROR_RETURN_IF_ERROR(writer_.ProbeJsonDepthLimit(**connection));
  }
  int64_t now = clock_.NowMs();
  std::vector<bool> done;
  // Target rows are locked in key order, as claims and recording lock them: concurrent
  // transactions then wait for each other instead of deadlocking.
  std::vector<size_t> order(completions.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return KeyOrder(completions[a].claim.key, completions[b].claim.key);
  });
  Status status = Transact([&](SqlConnection& connection) -> Status {
    done.assign(completions.size(), false);
    auto diagrams = writer_.DiagramsWithRows(connection, completions);
    if (!diagrams) return diagrams.error();
    // The Storage documents of all go in one statement, after the other writes (a room
    // deleted in the same batch is marked first, as before: "room" sorts before "storage").
    std::vector<sql::RowWriter::PendingDocument> documents;
    std::map<const Claim*, std::string> causes;  // with the change feed
    const sql::RowWriter::Context context{
        now, FormatSqlTimestamp(now), &*diagrams, &documents, nullptr, &causes};
    for (size_t i : order) {
      const Completion& completion = completions[i];
      auto completed = CompleteOne(connection, completion, context);
      if (!completed) {
        return completed.error().WithContext(Cat("writing ", completion.claim.key.ToString()));
      }
      done[i] = *completed;
    }
    auto written = writer_.UpsertDocuments(connection, documents, context);
    if (!written) return written.error().WithContext("writing Storage documents");
    return Ok();
  });
  if (!status) return status.error();
  return done;
}

Status SqlStore::Fail(const Claim& claim, std::string_view error, int64_t retry_at_ms) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  return queue_.Fail(**connection, claim, error, retry_at_ms);
}

Result<bool> SqlStore::Renew(const Claim& claim, int64_t lease_ms) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  return queue_.Renew(**connection, claim, clock_.NowMs() + lease_ms);
}

Status SqlStore::Release(const Claim& claim) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  return queue_.Release(**connection, claim);
}

Result<std::vector<SearchHit>> SqlStore::Search(std::string_view query, int limit) {
  if (SplitAny(query, " \t\n").empty()) return InvalidArgument("the search query is empty");
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  return search_.Search(**connection, query, limit);
}

Result<std::optional<std::string>> SqlStore::YdocState(std::string_view room_id) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  SqlValue key[] = {room_id};
  auto rows = (*connection)->Query(Sql("SELECT state FROM {p}ydocs WHERE room_id = ?"), key);
  if (!rows) return rows.error();
  if (rows->empty()) return std::optional<std::string>();
  return (*rows)[0][0];
}

Status SqlStore::Migrate() {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error().WithContext("migrating");
  return migrator_.Migrate(**connection);
}

Result<int> SqlStore::SchemaVersion() {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  return migrator_.SchemaVersion(**connection);
}

void SqlStore::PrintMigrations(std::ostream& out) const { migrator_.Print(out); }

Status SqlStore::Ping() {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  auto rows = (*connection)->Query("SELECT 1", {});
  if (!rows) return rows.error();
  return Ok();
}

Result<int64_t> SqlStore::SequenceChanges(int limit) {
  int64_t placed = 0;
  LBMIRROR_RETURN_IF_ERROR(Transact([&](SqlConnection& connection) -> Status {
    auto done = change_log_.Sequence(connection, limit);
    if (!done) return done.error();
    placed = *done;
    return Ok();
  }));
  return placed;
}

Result<std::vector<Change>> SqlStore::ReadChanges(int64_t after, int limit,
                                                  const ChangeFilter& filter) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  return change_log_.Read(**connection, after, limit, filter);
}

Result<std::vector<Change>> SqlStore::RoomChanges(std::string_view room_id, int limit) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  return change_log_.RoomChanges(**connection, room_id, limit);
}

Result<int64_t> SqlStore::PruneChanges(int64_t before_ms, int limit) {
  int64_t pruned = 0;
  LBMIRROR_RETURN_IF_ERROR(Transact([&](SqlConnection& connection) -> Status {
    auto done = change_log_.Prune(connection, before_ms, limit);
    if (!done) return done.error();
    pruned = *done;
    return Ok();
  }));
  return pruned;
}

Result<std::optional<int64_t>> SqlStore::LeaseCursor(std::string_view endpoint,
                                                     std::string_view owner, int64_t lease_ms) {
  std::optional<int64_t> position;
  LBMIRROR_RETURN_IF_ERROR(Transact([&](SqlConnection& connection) -> Status {
    auto leased = change_log_.LeaseCursor(connection, endpoint, owner, clock_.NowMs(), lease_ms);
    if (!leased) return leased.error();
    position = *leased;
    return Ok();
  }));
  return position;
}

Result<bool> SqlStore::SaveCursor(std::string_view endpoint, std::string_view owner,
                                  const CursorUpdate& update) {
  bool saved = false;
  LBMIRROR_RETURN_IF_ERROR(Transact([&](SqlConnection& connection) -> Status {
    auto done = change_log_.SaveCursor(connection, endpoint, owner, update, clock_.NowMs());
    if (!done) return done.error();
    saved = *done;
    return Ok();
  }));
  return saved;
}

Result<ForwardingStatus> SqlStore::Forwarding() {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  return change_log_.Forwarding(**connection);
}

Status SqlStore::ReleaseCursor(std::string_view endpoint, std::string_view owner) {
  return Transact([&](SqlConnection& connection) {
    return change_log_.ReleaseCursor(connection, endpoint, owner);
  });
}

Result<bool> SqlStore::RetryCursor(std::string_view endpoint) {
  bool found = false;
  LBMIRROR_RETURN_IF_ERROR(Transact([&](SqlConnection& connection) -> Status {
    auto done = change_log_.RetryCursor(connection, endpoint);
    if (!done) return done.error();
    found = *done;
    return Ok();
  }));
  return found;
}

}  // namespace lbmirror::store::sql
