#include "store/sql_store.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <random>
#include <thread>
#include <tuple>

#include "core/log.h"
#include "core/text.h"
#include "core/thread_name.h"
#include "store/schema.h"
#include "store/sql/dialect.h"
#include "store/sql/values.h"

namespace lbmirror::store {

using sql::KeyOrder;
using sql::OrNull;
using sql::Text;

namespace {
constexpr int kMaxTransactionAttempts = 4;

}  // namespace

// The statements of recording, rendered once for the dialect and prefix.
struct SqlStore::Statements {
  // Statements over a list of rows, rendered for every list length up to kMaxRecordBatch.
  enum Many { kSelectEvents, kInsertEvents, kManyCount };
  std::vector<std::string> many[kManyCount];
  const std::string& ManyRows(Many which, size_t rows) const { return many[which].at(rows); }

  Statements(Dialect dialect, const std::string& prefix) {
    bool mysql = dialect == Dialect::kMysql;
    many[kSelectEvents] = sql::ManyRowStatements(
        dialect, prefix, "SELECT webhook_id FROM {p}events WHERE webhook_id IN (", "?", ")",
        kMaxRecordBatch);
    many[kInsertEvents] = sql::ManyRowStatements(
        dialect, prefix,
        "INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at,"
        " payload) VALUES ",
        "(?, ?, ?, ?, ?, ?)",
        mysql ? " ON DUPLICATE KEY UPDATE webhook_id = webhook_id"
              : " ON CONFLICT(webhook_id) DO NOTHING",
        kMaxRecordBatch);
  }
};

SqlStore::SqlStore(Dialect dialect, ConnectionFactory factory, SqlStoreOptions options,
                   const Clock& clock)
    : dialect_(dialect),
      options_(std::move(options)),
      migrator_(dialect, options_.table_prefix, clock),
      search_(dialect, options_.table_prefix),
      marks_(dialect, options_.table_prefix, std::max<int64_t>(options_.coalesce_ms * 5, 1),
             kMaxRecordBatch),
      writer_(dialect, options_.table_prefix, options_.hard_deletes, kMaxRecordBatch, search_,
              marks_),
      queue_(dialect, options_.table_prefix, options_.coalesce_ms, kMaxRecordBatch),
      clock_(clock),
      pool_(factory, options_.pool_size),
      // Recording connections run nothing but transactions: no START TRANSACTION each time.
      record_pool_(
          [factory = std::move(factory)] {
            auto connection = factory();
            if (connection) (*connection)->OnlyTransactions();
            return connection;
          },
          std::max(1, options_.record_committers)),
      sql_(std::make_unique<Statements>(dialect, options_.table_prefix)) {
  LBMIRROR_CHECK(IsValidTablePrefix(options_.table_prefix));
  // SQLite has one writer: a second committer would only wait for it.
  committer_ = std::make_unique<sql::GroupCommitter>(
      dialect_ == Dialect::kMysql ? options_.record_committers : 1, kMaxRecordBatch,
      [this](std::span<sql::GroupCommitter::Pending> group) { RecordGroup(group); });
}

SqlStore::~SqlStore() {
  committer_.reset();  // records what is queued while the pools are still there
}

ConnectionPool* SqlStore::RecordPool() {
  return dialect_ == Dialect::kMysql ? &record_pool_ : &pool_;
}

Status SqlStore::Transact(const std::function<Status(SqlConnection&)>& body, ConnectionPool* pool) {
  static thread_local std::minstd_rand random(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    Status status = [&]() -> Status {
      auto connection = pool != nullptr ? pool->Acquire() : pool_.Acquire();
      if (!connection) return connection.error();
      LBMIRROR_RETURN_IF_ERROR((*connection)->Begin());
      Status result = body(**connection);
      if (result) result = (*connection)->Commit();
      if (!result && !(*connection)->broken()) (void)(*connection)->Rollback();
      return result;
    }();
    if (status || !status.error().retryable() || attempt == kMaxTransactionAttempts) {
      return status;
    }
    // Deadlocks, busy databases and dropped connections: back off with jitter and retry the
    // whole transaction (every statement in it is idempotent).
    int delay_ms = (10 << attempt) + static_cast<int>(random() % 20);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
  }
}

Status SqlStore::MarkDirty(SqlConnection& connection, const TargetKey& key, int64_t now_ms,
                           int64_t delay_ms) {
  return marks_.Mark(connection, key, now_ms, delay_ms);
}

void SqlStore::RecordAsync(InboxEvent event, RecordDone done) {
  committer_->Submit(std::move(event), std::move(done));
}

void SqlStore::RecordGroup(std::span<sql::GroupCommitter::Pending> group) {
  std::vector<const InboxEvent*> events;
  for (const sql::GroupCommitter::Pending& pending : group) events.push_back(&pending.event);
  Result<std::vector<bool>> stored = RecordEvents(events);
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

Result<std::vector<bool>> SqlStore::RecordEvents(std::span<const InboxEvent* const> events) {
  std::vector<bool> stored;
  Status status = Ok();
  for (int attempt = 0; attempt < 4; ++attempt) {
    // First optimistically (redeliveries are rare: no lookup before the insert); a conflict
    // means some, not all, of the group were stored before: the transaction was rolled back,
    // and the next attempt looks first.
    status = Transact(
        [&](SqlConnection& connection) {
          return RecordMany(connection, events, stored, /*look_first=*/attempt > 0);
        },
        RecordPool());
    if (status || status.error().code() != ErrorCode::kConflict) break;
  }
  if (!status) return status.error().WithContext("recording webhook");
  return stored;
}

Status SqlStore::WarmUp() {
  if (dialect_ != Dialect::kMysql) return Ok();
  constexpr size_t kWarmRows = 16;
  std::vector<ConnectionPool::Lease> held;  // all at once: each is a connection of its own
  for (int i = 0; i < std::max(1, options_.record_committers); ++i) {
    auto connection = record_pool_.Acquire();
    if (!connection) return connection.error();
    LBMIRROR_RETURN_IF_ERROR((*connection)->Begin());
    for (size_t rows = 1; rows <= kWarmRows; ++rows) {
      LBMIRROR_RETURN_IF_ERROR(
          (*connection)->Prepare(sql_->ManyRows(Statements::kInsertEvents, rows)));
      LBMIRROR_RETURN_IF_ERROR((*connection)->Prepare(marks_.Many(rows)));
    }
    LBMIRROR_RETURN_IF_ERROR((*connection)->Rollback());
    held.push_back(std::move(*connection));
  }
  return Ok();
}

Status SqlStore::RecordMany(SqlConnection& connection, std::span<const InboxEvent* const> events,
                            std::vector<bool>& stored, bool look_first) {
  // Which ids are stored already (redeliveries), and which repeat within the group.
  stored.assign(events.size(), false);
  std::vector<SqlValue> params;
  std::vector<std::string_view> seen;
  std::vector<SqlRow> existing;  // `seen` points into it
  if (look_first) {
    std::vector<std::string_view> ids;
    for (const InboxEvent* event : events) ids.push_back(event->webhook_id);
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    params.assign(ids.begin(), ids.end());
    auto rows = connection.Query(sql_->ManyRows(Statements::kSelectEvents, ids.size()), params);
    if (!rows) return rows.error();
    existing = std::move(*rows);
    for (const SqlRow& row : existing) {
      if (row[0]) seen.push_back(*row[0]);
    }
  }
  for (size_t i = 0; i < events.size(); ++i) {
    std::string_view id = events[i]->webhook_id;
    if (std::find(seen.begin(), seen.end(), id) != seen.end()) continue;
    stored[i] = true;
    seen.push_back(id);
  }

  // The new events, in one statement, in id order (concurrent groups then lock their rows in
  // the same order).
  std::vector<size_t> order;
  for (size_t i = 0; i < events.size(); ++i) {
    if (stored[i]) order.push_back(i);
  }
  if (order.empty()) return Ok();
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return events[a]->webhook_id < events[b]->webhook_id; });
  std::vector<std::string> received_at;
  received_at.reserve(order.size());
  params.clear();
  for (size_t i : order) {
    const InboxEvent& event = *events[i];
    received_at.push_back(FormatSqlTimestamp(event.received_at_ms));
    params.insert(
        params.end(),
        {std::string_view(event.webhook_id), std::string_view(event.type),
         event.room_id.empty() ? SqlValue(nullptr) : SqlValue(std::string_view(event.room_id)),
         event.webhook_timestamp, std::string_view(received_at.back()), event.payload});
  }
  auto inserted =
      connection.Execute(sql_->ManyRows(Statements::kInsertEvents, order.size()), params);
  if (!inserted) return inserted.error();
  if (*inserted == 0 && !look_first) {
    stored.assign(events.size(), false);  // every one stored already: redeliveries
    return Ok();
  }
  if (*inserted != static_cast<int64_t>(order.size())) {
    // Some were stored already (before this transaction, or by a concurrent group after the
    // lookup: the insert waited for it). Rolled back and tried again, looking first.
    return Error(ErrorCode::kConflict, "a webhook of the group was stored already");
  }

  // Their targets, each once (the earliest receipt counts), in key order so that concurrent
  // groups lock the rows in the same order.
  struct Mark {
    const TargetKey* key;
    int64_t received_at_ms;
  };
  std::vector<Mark> marks;
  for (size_t i = 0; i < events.size(); ++i) {
    if (!stored[i]) continue;
    for (const TargetKey& key : events[i]->targets)
      marks.push_back({&key, events[i]->received_at_ms});
  }
  auto by_key = [](const Mark& a, const Mark& b) {
    if (KeyOrder(*a.key, *b.key)) return true;
    if (KeyOrder(*b.key, *a.key)) return false;
    return a.received_at_ms < b.received_at_ms;
  };
  std::sort(marks.begin(), marks.end(), by_key);
  marks.erase(std::unique(marks.begin(), marks.end(),
                          [](const Mark& a, const Mark& b) { return *a.key == *b.key; }),
              marks.end());
  for (size_t begin = 0; begin < marks.size(); begin += kMaxRecordBatch) {
    size_t end = std::min(marks.size(), begin + kMaxRecordBatch);
    params.clear();
    for (size_t i = begin; i < end; ++i) {
      const TargetKey& key = *marks[i].key;
      params.insert(params.end(),
                    {TargetKindName(key.kind), std::string_view(key.scope_id),
                     std::string_view(key.object_id),
                     marks[i].received_at_ms + options_.coalesce_ms, marks[i].received_at_ms});
    }
    auto marked = connection.Execute(marks_.Many(end - begin), params);
    if (!marked) return marked.error();
  }
  for (size_t i = 0; i < events.size(); ++i) {
    if (stored[i] && events[i]->session) {
      LBMIRROR_RETURN_IF_ERROR(ApplySession(connection, *events[i]->session));
    }
  }
  return Ok();
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

Status SqlStore::Run(SqlConnection& connection, const std::string& sql,
                     std::span<const SqlValue> params) {
  auto changed = connection.Execute(sql, params);
  if (!changed) return changed.error();
  return Ok();
}

Status SqlStore::ApplySession(SqlConnection& connection, const SessionChange& change) {
  std::string at = FormatSqlTimestamp(change.at_ms);
  SqlValue user = OrNull(change.user_id);
  SqlValue info = OrNull(change.user_info);
  if (change.entered) {
    // A userLeft may have arrived first and left a placeholder (entered_known = 0) whose
    // entered_at is the leave time: complete it instead of opening a second session.
    SqlValue complete[] = {Text(at), user, info, Text(change.room_id), change.connection_id,
                           Text(at)};
    auto changed = connection.Execute(
        Sql("UPDATE {p}room_sessions SET entered_at = ?, entered_known = 1, user_id = ?,"
            " user_info = ? WHERE room_id = ? AND connection_id = ? AND entered_known = 0"
            " AND entered_at >= ?"),
        complete);
    if (!changed) return changed.error();
    if (*changed > 0) return Ok();
    SqlValue open[] = {Text(change.room_id), change.connection_id, Text(at), user, info};
    return Run(
        connection,
        Sql("INSERT INTO {p}room_sessions (room_id, connection_id, entered_at, entered_known,"
            " user_id, user_info, left_at) VALUES (?, ?, ?, 1, ?, ?, NULL)"
            " {upsert:room_id, connection_id, entered_at} entered_known = 1"),
        open);
  }
  SqlValue close[] = {Text(at), Text(change.room_id), change.connection_id, Text(at)};
  auto changed = connection.Execute(
      Sql("UPDATE {p}room_sessions SET left_at = ? WHERE room_id = ? AND connection_id = ?"
          " AND entered_at <= ? AND left_at IS NULL"),
      close);
  if (!changed) return changed.error();
  if (*changed > 0) return Ok();
  // No open session: either this leave came before its enter, or the session is closed
  // already (a second leave). Only the first case records a placeholder.
  SqlValue same[] = {Text(change.room_id), change.connection_id, Text(at)};
  auto closed = connection.Query(
      Sql("SELECT COUNT(*) FROM {p}room_sessions WHERE room_id = ? AND connection_id = ?"
          " AND left_at = ?"),
      same);
  if (!closed) return closed.error();
  if (!closed->empty() && IntField((*closed)[0][0]) > 0) return Ok();
  SqlValue placeholder[] = {
      Text(change.room_id), change.connection_id, Text(at), user, info, Text(at)};
  return Run(connection,
             Sql("INSERT INTO {p}room_sessions (room_id, connection_id, entered_at, entered_known,"
                 " user_id, user_info, left_at) VALUES (?, ?, ?, 0, ?, ?, ?)"
                 " {upsert:room_id, connection_id, entered_at} left_at = {v:left_at}"),
             placeholder);
}

Result<bool> SqlStore::CompleteOne(SqlConnection& connection, const Completion& completion,
                                   const sql::RowWriter::Context& context) {
  const int64_t now = context.now_ms;
  // The fencing check comes first and locks the target row until commit, so a worker whose
  // lease was taken over cannot write anything.
  auto held = queue_.FenceAndClear(connection, completion.claim, now);
  if (!held) return held.error();
  if (!*held) return false;
  for (const RowWrite& write : completion.writes) {
    LBMIRROR_RETURN_IF_ERROR(writer_.Apply(connection, write, context));
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
    std::vector<const DocumentRow*> documents;
    const sql::RowWriter::Context context{now, FormatSqlTimestamp(now), &*diagrams, &documents};
    for (size_t i : order) {
      const Completion& completion = completions[i];
      auto completed = CompleteOne(connection, completion, context);
      if (!completed) {
        return completed.error().WithContext(Cat("writing ", completion.claim.key.ToString()));
      }
      done[i] = *completed;
    }
    auto written = writer_.UpsertDocuments(connection, documents, context.now);
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

}  // namespace lbmirror::store
