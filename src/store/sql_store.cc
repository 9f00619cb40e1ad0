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

namespace lbmirror::store {

namespace {
// next_attempt_at of a target with nothing to do: pending targets sort before it.
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int kMaxTransactionAttempts = 4;

// The order of the targets table's primary key (utf8mb4_bin compares bytes, as std::string
// does): statements that lock several target rows lock them in this order.
bool KeyOrder(const TargetKey& a, const TargetKey& b) {
  return std::make_tuple(TargetKindName(a.kind), std::string_view(a.scope_id),
                         std::string_view(a.object_id)) <
         std::make_tuple(TargetKindName(b.kind), std::string_view(b.scope_id),
                         std::string_view(b.object_id));
}

SqlValue Text(const std::string& text) { return std::string_view(text); }
// What a JSON column holds when the value itself is too deep for it (kept in deep_data).
const SqlValue kJsonNull = std::string_view("null");
SqlValue Optional(const std::optional<std::string>& text) {
  return text ? SqlValue(std::string_view(*text)) : SqlValue(nullptr);
}
SqlValue OrNull(const std::string& text) {
  return text.empty() ? SqlValue(nullptr) : SqlValue(std::string_view(text));
}

std::string KindList(std::span<const TargetKind> kinds) {
  std::string list;
  for (TargetKind kind : kinds) {
    if (!list.empty()) list += ", ";
    list += "'";
    list += TargetKindName(kind);
    list += "'";
  }
  return list.empty() ? "''" : list;
}
}  // namespace

// Every statement, rendered once for the dialect and table prefix.
struct SqlStore::Statements {
  // Statements over a list of rows, rendered for every list length up to kMaxRecordBatch.
  enum Many {
    kSelectEvents,
    kInsertEvents,
    kMarkDirty,
    kClaim,
    kClaimed,
    kUpsertDocuments,
    kManyCount
  };
  std::vector<std::string> many[kManyCount];
  const std::string& ManyRows(Many which, size_t rows) const { return many[which].at(rows); }

  std::string mark_dirty, complete, fail, renew, release, unclaim;
  std::string upsert_ydoc, upsert_room, room_gone, document_gone, ydoc_gone, fence_room_reads;

  Statements(Dialect dialect, const std::string& prefix, int64_t max_wait_ms) {
    bool mysql = dialect == Dialect::kMysql;
    auto render = [&](const std::string& sql) { return sql::RenderSql(sql, dialect, prefix); };
    auto rows = [&](Many which, const std::string& head, std::string_view row,
                    const std::string& tail, std::string_view separator = ", ") {
      std::string rendered_head = render(head), rendered_tail = render(tail);
      many[which].resize(kMaxRecordBatch + 1);
      std::string list;
      for (size_t n = 1; n <= kMaxRecordBatch; ++n) {
        if (n > 1) list += separator;
        list += row;
        many[which][n] = rendered_head + list + rendered_tail;
      }
    };
    rows(kSelectEvents, "SELECT webhook_id FROM {p}events WHERE webhook_id IN (", "?", ")");
    rows(kInsertEvents,
         "INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at,"
         " payload) VALUES ",
         "(?, ?, ?, ?, ?, ?)",
         mysql ? " ON DUPLICATE KEY UPDATE webhook_id = webhook_id"
               : " ON CONFLICT(webhook_id) DO NOTHING");
    // A target that was clean becomes due at the proposed time (the coalescing delay after
    // the webhook). One already pending is postponed to it (debouncing: a burst costs one
    // read, after its last webhook), but never beyond max_wait_ms after it became dirty;
    // one in a retry backoff (attempts > 0) keeps its schedule. MySQL evaluates assignments
    // left to right, so dirty_seq is bumped last and every CASE sees the old values, as
    // SQLite does (first_dirty_at is only changed for clean targets).
    rows(kMarkDirty,
         "INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq,"
         " next_attempt_at, first_dirty_at) VALUES ",
         "(?, ?, ?, 1, 0, ?, ?)",
         " {upsert:kind, scope_id, object_id}"
         " first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at"
         " ELSE {v:first_dirty_at} END,"
         " next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN {v:next_attempt_at}"
         " WHEN attempts > 0 THEN next_attempt_at"
         " ELSE {least}({greatest}(next_attempt_at, {v:next_attempt_at}), first_dirty_at + " +
             std::to_string(max_wait_ms) +
             ") END,"
             " attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END,"
             " dirty_seq = dirty_seq + 1");
    // Claims candidates still as they were read (same fence, not leased, still dirty).
    // Disjunctions of primary-key equalities: a range lookup per row on every backend.
    const std::string key_and_fence = "(kind = ? AND scope_id = ? AND object_id = ? AND fence = ?)";
    rows(kClaim,
         "UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?,"
         " attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND (",
         key_and_fence, ")", " OR ");
    rows(kClaimed,
         "SELECT kind, scope_id, object_id FROM {p}targets WHERE lease_owner = ?"
         " AND lease_until = ? AND (",
         key_and_fence, ")", " OR ");
    mark_dirty = ManyRows(kMarkDirty, 1);
    // Dirtied again during the read: pending from now (the read saw what came before).
    complete = render(
        "UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0,"
        " last_error = NULL, last_success_at = ?,"
        " first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END,"
        " next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END"
        " WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ?");
    fail = render(
        "UPDATE {p}targets SET lease_owner = '', lease_until = 0, next_attempt_at = ?,"
        " last_error = ? WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ?");
    renew = render(
        "UPDATE {p}targets SET lease_until = ? WHERE kind = ? AND scope_id = ? AND object_id = ?"
        " AND fence = ? AND lease_until > 0");
    const std::string give_back =
        "UPDATE {p}targets SET lease_owner = '', lease_until = 0,"
        " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE ";
    release = render(give_back + "kind = ? AND scope_id = ? AND object_id = ? AND fence = ?");
    // The same for every target one claim leased (its owner and lease end).
    unclaim = render(give_back + "lease_owner = ? AND lease_until = ?");
    // updated_at moves only when the content changes; synced_at on every successful read.
    // Several documents at once: the Storage documents a worker read in one batch.
    if (mysql) {
      rows(kUpsertDocuments,
           "INSERT INTO {p}documents (room_id, data, deep_data, synced_at, deleted_at) VALUES ",
           "(?, ?, ?, ?, NULL)",
           " ON DUPLICATE KEY UPDATE updated_at = CASE WHEN data <=> VALUES(data)"
           " AND deep_data <=> VALUES(deep_data) AND deleted_at IS NULL THEN updated_at"
           " ELSE CURRENT_TIMESTAMP END,"
           " data = VALUES(data), deep_data = VALUES(deep_data), synced_at = VALUES(synced_at),"
           " deleted_at = NULL");
    } else {
      rows(kUpsertDocuments,
           "INSERT INTO {p}documents (room_id, data, deep_data, synced_at, deleted_at, updated_at)"
           " VALUES ",
           "(?, ?, ?, ?, NULL, ?)",
           " ON CONFLICT(room_id) DO UPDATE SET"
           " updated_at = CASE WHEN data IS excluded.data AND deep_data IS excluded.deep_data"
           " AND deleted_at IS NULL THEN updated_at ELSE excluded.updated_at END,"
           " data = excluded.data, deep_data = excluded.deep_data, synced_at = excluded.synced_at,"
           " deleted_at = NULL");
    }
    upsert_ydoc = render(
        "INSERT INTO {p}ydocs (room_id, data, deep_data, text, state, updated_at, synced_at,"
        " deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) {upsert:room_id}"
        " updated_at = CASE WHEN state {same} {v:state} AND deleted_at IS NULL THEN updated_at"
        " ELSE {v:updated_at} END,"
        " data = {v:data}, deep_data = {v:deep_data}, text = {v:text}, state = {v:state},"
        " synced_at = {v:synced_at}, deleted_at = NULL");
    upsert_room = render(
        "INSERT INTO {p}rooms (room_id, organization_id, metadata, default_accesses,"
        " users_accesses, groups_accesses, created_at, last_connection_at, synced_at, deleted_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) {upsert:room_id}"
        " organization_id = {v:organization_id}, metadata = {v:metadata},"
        " default_accesses = {v:default_accesses}, users_accesses = {v:users_accesses},"
        " groups_accesses = {v:groups_accesses}, created_at = {v:created_at},"
        " last_connection_at = {v:last_connection_at}, synced_at = {v:synced_at},"
        " deleted_at = NULL");
    room_gone = render(
        "INSERT INTO {p}rooms (room_id, synced_at, deleted_at) VALUES (?, ?, ?) {upsert:room_id}"
        " deleted_at = COALESCE(deleted_at, {v:deleted_at}), synced_at = {v:synced_at}");
    // The room's other targets that are claimed: fenced out, given back and dirty again
    // (dirty_seq bumped last: MySQL assigns left to right).
    fence_room_reads = render(
        "UPDATE {p}targets SET fence = fence + 1, lease_owner = '', lease_until = 0,"
        " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,"
        " next_attempt_at = CASE WHEN dirty_seq > done_seq THEN {least}(next_attempt_at, ?)"
        " ELSE ? END,"
        " first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE ? END,"
        " dirty_seq = dirty_seq + 1"
        " WHERE kind IN ('presence', 'storage', 'thread', 'ydoc') AND scope_id = ?"
        " AND lease_until > 0");
    document_gone =
        render("UPDATE {p}documents SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL");
    ydoc_gone =
        render("UPDATE {p}ydocs SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL");
  }
};

SqlStore::SqlStore(Dialect dialect, ConnectionFactory factory, SqlStoreOptions options,
                   const Clock& clock)
    : dialect_(dialect),
      json_depth_limit_(dialect == Dialect::kMysql ? -1 : 0),
      options_(std::move(options)),
      migrator_(dialect, options_.table_prefix, clock),
      search_(dialect, options_.table_prefix),
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
      sql_(std::make_unique<Statements>(dialect, options_.table_prefix,
                                        std::max<int64_t>(options_.coalesce_ms * 5, 1))) {
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
  SqlValue params[] = {TargetKindName(key.kind), std::string_view(key.scope_id),
                       std::string_view(key.object_id), now_ms + delay_ms, now_ms};
  auto changed = connection.Execute(sql_->mark_dirty, params);
  if (!changed) return changed.error();
  return Ok();
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
      LBMIRROR_RETURN_IF_ERROR(
          (*connection)->Prepare(sql_->ManyRows(Statements::kMarkDirty, rows)));
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
    auto marked = connection.Execute(sql_->ManyRows(Statements::kMarkDirty, end - begin), params);
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
  static thread_local std::minstd_rand random(std::random_device{}());
  limit = std::clamp(limit, 1, kMaxRecordBatch);
  if (next_due_ms != nullptr) next_due_ms->reset();
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  int64_t now = clock_.NowMs();
  // Candidates are read without locks; the conditional UPDATE below decides who wins.
  // Reading more than needed and shuffling keeps concurrent workers off the same rows. The
  // earliest pending targets not leased come first (clean ones have next_attempt_at =
  // kNever): when none is due yet, the first tells when one will be.
  std::string select = ReplaceAll(
      "SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at"
      " FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq"
      " AND kind IN (" +
          KindList(kinds) + ") ORDER BY next_attempt_at LIMIT ?",
      "{p}", options_.table_prefix);
  SqlValue select_params[] = {kNever, now, int64_t{limit} * 4};
  auto rows = (*connection)->Query(select, select_params);
  if (!rows) return rows.error().WithContext("reading due targets");
  // The first target due later (the rows are in due order); due ones left unclaimed below
  // make that now.
  std::optional<int64_t> later;
  for (const SqlRow& row : *rows) {
    if (int64_t due = IntField(row[6]); due > now) {
      later = due;
      break;
    }
  }
  std::erase_if(*rows, [&](const SqlRow& row) { return IntField(row[6]) > now; });
  std::shuffle(rows->begin(), rows->end(), random);
  std::vector<Claim> candidates;
  for (const SqlRow& row : *rows) {
    auto kind = ParseTargetKind(row[0].value_or(""));
    if (!kind) continue;
    candidates.push_back(Claim{{*kind, row[1].value_or(""), row[2].value_or("")},
                               IntField(row[3]) + 1,
                               IntField(row[4]),
                               static_cast<int>(IntField(row[5])) + 1});
  }
  // Claimed a group at a time with one statement; a candidate taken by another worker meanwhile
  // (its fence moved, or it was leased or completed) is left out, and the next ones are tried.
  std::vector<Claim> claims;
  auto partly_claimed = [&] {
    if (next_due_ms != nullptr) *next_due_ms = now;  // the rest may be due
    return claims;
  };
  const int64_t lease_until = now + lease_ms;
  std::vector<SqlValue> params;
  for (size_t next = 0; next < candidates.size() && static_cast<int>(claims.size()) < limit;) {
    size_t take = std::min(candidates.size() - next, static_cast<size_t>(limit) - claims.size());
    std::span<const Claim> group(candidates.data() + next, take);
    next += take;
    params = {owner, lease_until, now};
    for (const Claim& claim : group) {
      params.insert(params.end(),
                    {TargetKindName(claim.key.kind), std::string_view(claim.key.scope_id),
                     std::string_view(claim.key.object_id), claim.fence - 1});
    }
    auto changed = (*connection)->Execute(sql_->ManyRows(Statements::kClaim, take), params);
    if (!changed) {
      // Nothing of this group was claimed (the statement was rolled back); what the earlier
      // groups claimed is the caller's to process, or it would stay leased by nobody.
      if (!claims.empty()) return partly_claimed();
      return changed.error().WithContext("claiming targets");
    }
    if (*changed == static_cast<int64_t>(take)) {
      claims.insert(claims.end(), group.begin(), group.end());
      continue;
    }
    if (*changed == 0) continue;
    // Some were taken by others: the rows now leased by this call are the claimed ones.
    params = {owner, lease_until};
    for (const Claim& claim : group) {
      params.insert(params.end(),
                    {TargetKindName(claim.key.kind), std::string_view(claim.key.scope_id),
                     std::string_view(claim.key.object_id), claim.fence});
    }
    auto won = (*connection)->Query(sql_->ManyRows(Statements::kClaimed, take), params);
    if (!won) {
      // Which of the group are claimed is unknown: they are given back (due again at once,
      // as if never claimed), or, if that fails too, taken again when the lease ends.
      params.resize(2);
      (void)(*connection)->Execute(sql_->unclaim, params);
      if (!claims.empty()) return partly_claimed();
      return won.error().WithContext("reading claimed targets");
    }
    for (const Claim& claim : group) {
      bool held = std::any_of(won->begin(), won->end(), [&](const SqlRow& row) {
        return row[0] == TargetKindName(claim.key.kind) && row[1] == claim.key.scope_id &&
               row[2] == claim.key.object_id;
      });
      if (held) claims.push_back(claim);
    }
  }
  if (next_due_ms != nullptr) {
    *next_due_ms = claims.size() < candidates.size() ? std::optional<int64_t>(now) : later;
  }
  return claims;
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

Status SqlStore::UpsertDocuments(SqlConnection& connection,
                                 std::span<const DocumentRow* const> documents,
                                 const std::string& now) {
  std::vector<SqlValue> params;
  for (size_t begin = 0; begin < documents.size(); begin += kMaxRecordBatch) {
    size_t end = std::min(documents.size(), begin + kMaxRecordBatch);
    params.clear();
    for (size_t i = begin; i < end; ++i) {
      const DocumentRow& document = *documents[i];
      bool deep = TooDeepForJson(document.depth);
      params.insert(params.end(), {Text(document.room_id), deep ? kJsonNull : Text(document.data),
                                   deep ? Text(document.data) : SqlValue(nullptr), Text(now)});
      if (dialect_ == Dialect::kSqlite) params.push_back(Text(now));
    }
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection, sql_->ManyRows(Statements::kUpsertDocuments, end - begin), params));
  }
  return Ok();
}

Status SqlStore::ApplyWrite(SqlConnection& connection, const RowWrite& write, int64_t now_ms,
                            const FlowKeys* diagrams, std::vector<const DocumentRow*>& documents) {
  const WriteContext context{now_ms, FormatSqlTimestamp(now_ms), diagrams, &documents};
  // One WriteRow per kind of row: a kind added to RowWrite without one does not compile.
  return std::visit([&](const auto& row) { return WriteRow(connection, row, context); }, write);
}

Status SqlStore::WriteRow(SqlConnection&, const DocumentRow& document,
                          const WriteContext& context) {
  context.documents->push_back(&document);  // written with the batch's other documents
  return Ok();
}

Status SqlStore::WriteRow(SqlConnection& connection, const YdocRow& ydoc,
                          const WriteContext& context) {
  bool deep = TooDeepForJson(ydoc.depth);
  SqlValue params[] = {Text(ydoc.room_id),
                       deep ? kJsonNull : Text(ydoc.data),
                       deep ? Text(ydoc.data) : SqlValue(nullptr),
                       Text(ydoc.text),
                       Blob{ydoc.state},
                       Text(context.now),
                       Text(context.now)};
  LBMIRROR_RETURN_IF_ERROR(Run(connection, sql_->upsert_ydoc, params));
  return search_.IndexDocument(connection, ydoc.room_id, ydoc.text);
}

Status SqlStore::WriteRow(SqlConnection& connection, const RoomRow& room,
                          const WriteContext& context) {
  SqlValue params[] = {
      Text(room.room_id),          Text(room.organization_id),        Text(room.metadata),
      Text(room.default_accesses), Text(room.users_accesses),         Text(room.groups_accesses),
      Optional(room.created_at),   Optional(room.last_connection_at), Text(context.now)};
  return Run(connection, sql_->upsert_room, params);
}

Status SqlStore::WriteRow(SqlConnection& connection, const DocumentGone& gone,
                          const WriteContext& context) {
  SqlValue params[] = {Text(context.now), Text(gone.room_id)};
  if (options_.hard_deletes) {
    return Run(connection, Sql("DELETE FROM {p}documents WHERE room_id = ?"),
               std::span(params).subspan(1));
  }
  return Run(connection, sql_->document_gone, params);
}

Status SqlStore::WriteRow(SqlConnection& connection, const YdocGone& gone,
                          const WriteContext& context) {
  SqlValue params[] = {Text(context.now), Text(gone.room_id)};
  LBMIRROR_RETURN_IF_ERROR(options_.hard_deletes
                               ? Run(connection, Sql("DELETE FROM {p}ydocs WHERE room_id = ?"),
                                     std::span(params).subspan(1))
                               : Run(connection, sql_->ydoc_gone, params));
  return search_.RemoveDocument(connection, gone.room_id);
}

Status SqlStore::WriteRow(SqlConnection& connection, const RoomGone& gone,
                          const WriteContext& context) {
  return DeleteRoom(connection, gone.room_id, context.now, context.now_ms);
}

Status SqlStore::WriteRow(SqlConnection& connection, const ThreadSnapshot& thread,
                          const WriteContext& context) {
  return ApplyThread(connection, thread, context.now);
}

Status SqlStore::WriteRow(SqlConnection& connection, const ThreadGone& gone,
                          const WriteContext& context) {
  return DeleteThread(connection, gone, context.now);
}

Status SqlStore::WriteRow(SqlConnection& connection, const NotificationRow& n,
                          const WriteContext& context) {
  SqlValue params[] = {Text(n.inbox_notification_id),
                       Text(n.user_id),
                       Text(n.kind),
                       Optional(n.room_id),
                       Optional(n.thread_id),
                       Optional(n.subject_id),
                       Optional(n.notified_at),
                       Optional(n.read_at),
                       Text(n.data),
                       Text(context.now)};
  return Run(connection,
             Sql("INSERT INTO {p}notifications (inbox_notification_id, user_id, kind, room_id,"
                 " thread_id, subject_id, notified_at, read_at, data, synced_at, deleted_at)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) {upsert:inbox_notification_id}"
                 " user_id = {v:user_id}, kind = {v:kind}, room_id = {v:room_id},"
                 " thread_id = {v:thread_id}, subject_id = {v:subject_id},"
                 " notified_at = {v:notified_at}, read_at = {v:read_at}, data = {v:data},"
                 " synced_at = {v:synced_at}, deleted_at = NULL"),
             params);
}

Status SqlStore::WriteRow(SqlConnection& connection, const NotificationGone& gone,
                          const WriteContext& context) {
  SqlValue params[] = {Text(context.now), Text(gone.inbox_notification_id)};
  if (options_.hard_deletes) {
    return Run(connection, Sql("DELETE FROM {p}notifications WHERE inbox_notification_id = ?"),
               std::span(params).subspan(1));
  }
  return Run(connection,
             Sql("UPDATE {p}notifications SET deleted_at = ? WHERE inbox_notification_id = ?"
                 " AND deleted_at IS NULL"),
             params);
}

Status SqlStore::WriteRow(SqlConnection& connection, const ActiveUsersSnapshot& users,
                          const WriteContext& context) {
  return ApplyActiveUsers(connection, users, context.now, context.now_ms);
}

Status SqlStore::WriteRow(SqlConnection& connection, const FlowSnapshot& flow,
                          const WriteContext& context) {
  return ApplyFlow(connection, flow, context.now, context.diagrams);
}

Status SqlStore::ApplyThread(SqlConnection& connection, const ThreadSnapshot& snapshot,
                             const std::string& now) {
  const ThreadRow& t = snapshot.thread;
  SqlValue thread[] = {Text(t.thread_id),           Text(t.room_id),    Text(t.metadata),
                       int64_t{t.resolved ? 1 : 0}, Text(t.visibility), Optional(t.created_at),
                       Optional(t.updated_at),      Text(now)};
  LBMIRROR_RETURN_IF_ERROR(Run(
      connection,
      Sql("INSERT INTO {p}threads (thread_id, room_id, metadata, resolved, visibility, created_at,"
          " updated_at, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)"
          " {upsert:thread_id} room_id = {v:room_id}, metadata = {v:metadata},"
          " resolved = {v:resolved}, visibility = {v:visibility}, created_at = {v:created_at},"
          " updated_at = {v:updated_at}, synced_at = {v:synced_at}, deleted_at = NULL"),
      thread));
  const std::string upsert_comment =
      Sql("INSERT INTO {p}comments (comment_id, thread_id, room_id, user_id, body, body_text,"
          " metadata, attachments, created_at, edited_at, synced_at, deleted_at)"
          " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) {upsert:comment_id}"
          " thread_id = {v:thread_id}, room_id = {v:room_id}, user_id = {v:user_id},"
          " body = {v:body}, body_text = {v:body_text}, metadata = {v:metadata},"
          " attachments = {v:attachments}, created_at = {v:created_at}, edited_at = {v:edited_at},"
          " synced_at = {v:synced_at}, deleted_at = {v:deleted_at}");
  std::vector<SqlValue> keep = {Text(t.thread_id)};
  std::string placeholders;
  for (const CommentRow& c : snapshot.comments) {
    SqlValue comment[] = {Text(c.comment_id),    Text(c.thread_id),   Text(c.room_id),
                          OrNull(c.user_id),     Optional(c.body),    Text(c.body_text),
                          Text(c.metadata),      Text(c.attachments), Optional(c.created_at),
                          Optional(c.edited_at), Text(now),           Optional(c.deleted_at)};
    LBMIRROR_RETURN_IF_ERROR(Run(connection, upsert_comment, comment));
    keep.push_back(Text(c.comment_id));
    placeholders += placeholders.empty() ? "?" : ", ?";
  }
  // Comments the API no longer lists are gone.
  std::string missing = placeholders.empty() ? "" : " AND comment_id NOT IN (" + placeholders + ")";
  if (options_.hard_deletes) {
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection, Sql("DELETE FROM {p}comments WHERE thread_id = ?" + missing), keep));
  } else {
    std::vector<SqlValue> params = {Text(now)};
    params.insert(params.end(), keep.begin(), keep.end());
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection,
            Sql("UPDATE {p}comments SET deleted_at = ? WHERE thread_id = ? AND deleted_at IS NULL" +
                missing),
            params));
  }
  SqlValue thread_key[] = {Text(t.thread_id)};
  LBMIRROR_RETURN_IF_ERROR(
      Run(connection, Sql("DELETE FROM {p}comment_reactions WHERE thread_id = ?"), thread_key));
  const std::string insert_reaction = Sql(
      "INSERT INTO {p}comment_reactions (comment_id, emoji, user_id, thread_id, room_id, "
      "created_at)"
      " VALUES (?, ?, ?, ?, ?, ?) {upsert:comment_id, emoji, user_id} created_at = {v:created_at}");
  for (const ReactionRow& r : snapshot.reactions) {
    SqlValue reaction[] = {Text(r.comment_id), Text(r.emoji),   Text(r.user_id),
                           Text(r.thread_id),  Text(r.room_id), Optional(r.created_at)};
    LBMIRROR_RETURN_IF_ERROR(Run(connection, insert_reaction, reaction));
  }
  return search_.IndexThread(connection, snapshot);
}

Status SqlStore::DeleteThread(SqlConnection& connection, const ThreadGone& gone,
                              const std::string& now) {
  SqlValue key[] = {Text(gone.thread_id)};
  SqlValue stamped[] = {Text(now), Text(gone.thread_id)};
  if (options_.hard_deletes) {
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection, Sql("DELETE FROM {p}threads WHERE thread_id = ?"), key));
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection, Sql("DELETE FROM {p}comments WHERE thread_id = ?"), key));
  } else {
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection,
            Sql("UPDATE {p}threads SET deleted_at = ? WHERE thread_id = ? AND deleted_at IS NULL"),
            stamped));
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection,
            Sql("UPDATE {p}comments SET deleted_at = ? WHERE thread_id = ? AND deleted_at IS NULL"),
            stamped));
  }
  LBMIRROR_RETURN_IF_ERROR(
      Run(connection, Sql("DELETE FROM {p}comment_reactions WHERE thread_id = ?"), key));
  return search_.RemoveThread(connection, gone.thread_id);
}

Status SqlStore::ApplyActiveUsers(SqlConnection& connection, const ActiveUsersSnapshot& snapshot,
                                  const std::string& now, int64_t now_ms) {
  SqlValue room[] = {Text(snapshot.room_id)};
  LBMIRROR_RETURN_IF_ERROR(
      Run(connection, Sql("DELETE FROM {p}active_users WHERE room_id = ?"), room));
  const std::string insert =
      Sql("INSERT INTO {p}active_users (room_id, connection_id, user_id, user_info, synced_at)"
          " VALUES (?, ?, ?, ?, ?)");
  for (const ActiveUser& user : snapshot.users) {
    SqlValue row[] = {Text(snapshot.room_id), user.connection_id, Optional(user.user_id),
                      Optional(user.user_info), Text(now)};
    LBMIRROR_RETURN_IF_ERROR(Run(connection, insert, row));
  }
  SqlValue count[] = {static_cast<int64_t>(snapshot.users.size()), Text(snapshot.room_id)};
  auto changed =
      connection.Execute(Sql("UPDATE {p}rooms SET active_users = ? WHERE room_id = ?"), count);
  if (!changed) return changed.error();
  if (*changed == 0) {
    // Presence arrived before the room was mirrored: read the room too, then it gets its count.
    SqlValue placeholder[] = {Text(snapshot.room_id), static_cast<int64_t>(snapshot.users.size()),
                              Text(now)};
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection,
            Sql("INSERT INTO {p}rooms (room_id, active_users, synced_at) VALUES (?, ?, ?)"
                " {upsert:room_id} active_users = {v:active_users}"),
            placeholder));
    return MarkDirty(connection, {TargetKind::kRoom, snapshot.room_id, ""}, now_ms);
  }
  return Ok();
}

Status SqlStore::ApplyFlow(SqlConnection& connection, const FlowSnapshot& flow,
                           const std::string& now, const FlowKeys* diagrams) {
  // Replaced whole: the old rows go, the snapshot's rows come in (64 to a statement). A
  // document without the diagram, whose diagram has no rows, costs no statement.
  bool empty = flow.nodes.empty() && flow.edges.empty();
  if (empty && diagrams != nullptr && !diagrams->contains({flow.room_id, flow.storage_key})) {
    return Ok();
  }
  SqlValue key[] = {Text(flow.room_id), Text(flow.storage_key)};
  LBMIRROR_RETURN_IF_ERROR(
      Run(connection, Sql("DELETE FROM {p}flow_nodes WHERE room_id = ? AND storage_key = ?"), key));
  LBMIRROR_RETURN_IF_ERROR(
      Run(connection, Sql("DELETE FROM {p}flow_edges WHERE room_id = ? AND storage_key = ?"), key));
  auto real = [](const std::optional<double>& v) { return v ? SqlValue(*v) : SqlValue(nullptr); };
  auto insert_rows = [&](const std::string& head, size_t count, auto&& row_params) -> Status {
    std::vector<SqlValue> params;
    for (size_t begin = 0; begin < count; begin += kMaxRecordBatch) {
      size_t end = std::min(count, begin + kMaxRecordBatch);
      params.clear();
      std::string sql = head;
      for (size_t i = begin; i < end; ++i) {
        sql += i == begin ? "(?, ?, ?, ?, ?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?, ?, ?, ?, ?)";
        row_params(i, params);
      }
      LBMIRROR_RETURN_IF_ERROR(Run(connection, Sql(sql), params));
    }
    return Ok();
  };
  LBMIRROR_RETURN_IF_ERROR(insert_rows(
      "INSERT INTO {p}flow_nodes (room_id, storage_key, node_id, type, position_x, position_y,"
      " data, node, synced_at) VALUES ",
      flow.nodes.size(), [&](size_t i, std::vector<SqlValue>& params) {
        const FlowNode& n = flow.nodes[i];
        bool deep = TooDeepForJson(n.node);
        params.insert(params.end(), {Text(flow.room_id), Text(flow.storage_key), Text(n.node_id),
                                     Optional(n.type), real(n.position_x), real(n.position_y),
                                     deep ? SqlValue(nullptr) : Optional(n.data),
                                     deep ? kJsonNull : Text(n.node), Text(now)});
      }));
  return insert_rows(
      "INSERT INTO {p}flow_edges (room_id, storage_key, edge_id, type, source, target, data, edge,"
      " synced_at) VALUES ",
      flow.edges.size(), [&](size_t i, std::vector<SqlValue>& params) {
        const FlowEdge& e = flow.edges[i];
        bool deep = TooDeepForJson(e.edge);
        params.insert(params.end(), {Text(flow.room_id), Text(flow.storage_key), Text(e.edge_id),
                                     Optional(e.type), Optional(e.source), Optional(e.target),
                                     deep ? SqlValue(nullptr) : Optional(e.data),
                                     deep ? kJsonNull : Text(e.edge), Text(now)});
      });
}

Result<SqlStore::FlowKeys> SqlStore::DiagramsWithRows(SqlConnection& connection,
                                                      std::span<const Completion> completions) {
  std::vector<std::string_view> rooms;
  for (const Completion& completion : completions) {
    for (const RowWrite& write : completion.writes) {
      if (auto* flow = std::get_if<FlowSnapshot>(&write)) rooms.push_back(flow->room_id);
    }
  }
  std::sort(rooms.begin(), rooms.end());
  rooms.erase(std::unique(rooms.begin(), rooms.end()), rooms.end());
  FlowKeys found;
  for (size_t begin = 0; begin < rooms.size(); begin += kMaxRecordBatch) {
    size_t end = std::min(rooms.size(), begin + kMaxRecordBatch);
    std::string list;
    std::vector<SqlValue> params;
    for (size_t i = begin; i < end; ++i) {
      list += i == begin ? "?" : ", ?";
      params.push_back(rooms[i]);
    }
    params.insert(params.end(), params.begin(), params.end());
    auto rows = connection.Query(
        Sql("SELECT room_id, storage_key FROM {p}flow_nodes WHERE room_id IN (" + list +
            ") UNION SELECT room_id, storage_key FROM {p}flow_edges WHERE room_id IN (" + list +
            ")"),
        params);
    if (!rows) return rows.error();
    for (const SqlRow& row : *rows) found.insert({row[0].value_or(""), row[1].value_or("")});
  }
  return found;
}

Status SqlStore::DeleteRoom(SqlConnection& connection, const std::string& room_id,
                            const std::string& now, int64_t now_ms) {
  SqlValue key[] = {Text(room_id)};
  SqlValue stamped[] = {Text(now), Text(room_id)};
  if (options_.hard_deletes) {
    for (const char* table : {"rooms", "documents", "ydocs", "threads", "comments"}) {
      LBMIRROR_RETURN_IF_ERROR(
          Run(connection, Sql(std::string("DELETE FROM {p}") + table + " WHERE room_id = ?"), key));
    }
  } else {
    SqlValue room[] = {Text(room_id), Text(now), Text(now)};
    LBMIRROR_RETURN_IF_ERROR(Run(connection, sql_->room_gone, room));
    for (const char* table : {"documents", "ydocs", "threads", "comments"}) {
      LBMIRROR_RETURN_IF_ERROR(
          Run(connection,
              Sql(std::string("UPDATE {p}") + table +
                  " SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL"),
              stamped));
    }
  }
  // Derived rows hold no history of their own: they go in both modes.
  for (const char* table : {"comment_reactions", "active_users", "flow_nodes", "flow_edges"}) {
    LBMIRROR_RETURN_IF_ERROR(
        Run(connection, Sql(std::string("DELETE FROM {p}") + table + " WHERE room_id = ?"), key));
  }
  LBMIRROR_RETURN_IF_ERROR(search_.RemoveRoom(connection, room_id));
  SqlValue zero[] = {Text(room_id)};
  LBMIRROR_RETURN_IF_ERROR(
      Run(connection, Sql("UPDATE {p}rooms SET active_users = 0 WHERE room_id = ?"), zero));
  // The deletion wins over every read of the room's content that started before it: each
  // such target in flight loses its claim (fencing token bumped, so its completion writes
  // nothing) and is due again at once, when it reads 404.
  SqlValue fence[] = {now_ms, now_ms, now_ms, Text(room_id)};
  return Run(connection, sql_->fence_room_reads, fence);
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
                                   int64_t now, const FlowKeys* diagrams,
                                   std::vector<const DocumentRow*>& documents) {
  const Claim& claim = completion.claim;
  // The fencing check comes first and locks the target row until commit, so a worker whose
  // lease was taken over cannot write anything.
  SqlValue params[] = {claim.dirty_seq,
                       now,
                       claim.dirty_seq,
                       now,
                       claim.dirty_seq,
                       now + options_.coalesce_ms,  // dirtied again during the read
                       kNever,
                       TargetKindName(claim.key.kind),
                       std::string_view(claim.key.scope_id),
                       std::string_view(claim.key.object_id),
                       claim.fence};
  auto changed = connection.Execute(sql_->complete, params);
  if (!changed) return changed.error();
  if (*changed != 1) return false;
  for (const RowWrite& write : completion.writes) {
    LBMIRROR_RETURN_IF_ERROR(ApplyWrite(connection, write, now, diagrams, documents));
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

bool SqlStore::TooDeepForJson(int depth) const {
  int limit = json_depth_limit_.load(std::memory_order_relaxed);
  return limit > 0 && depth > limit;
}

bool SqlStore::TooDeepForJson(const std::string& json) const {
  return json_depth_limit_.load(std::memory_order_relaxed) > 0 && TooDeepForJson(JsonDepth(json));
}

Status SqlStore::ProbeJsonDepthLimit() {
  if (dialect_ != Dialect::kMysql || json_depth_limit_.load() >= 0) return Ok();
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  // The deepest array the server's JSON parser takes (MariaDB before 12.2: 32, MySQL: 100),
  // found by bisection with JSON_VALID, which is what MariaDB's JSON columns check; an error
  // (MySQL refuses a too-deep document) counts as not valid.
  constexpr int kProbeCeiling = 4096;
  auto valid = [&](int depth) -> Result<bool> {
    std::string json = std::string(static_cast<size_t>(depth), '[') + "1" +
                       std::string(static_cast<size_t>(depth), ']');
    SqlValue param[] = {std::string_view(json)};
    auto rows = (*connection)->Query("SELECT JSON_VALID(?)", param);
    if (!rows) {
      if (rows.error().retryable() || (*connection)->broken()) return rows.error();
      return false;
    }
    return !rows->empty() && (*rows)[0][0] == "1";
  };
  auto deepest = valid(kProbeCeiling);
  if (!deepest) return deepest.error().WithContext("probing the JSON depth limit");
  int limit = 0;  // none below the ceiling
  if (!*deepest) {
    int low = 0, high = kProbeCeiling;  // valid(low) holds (or low = 0), valid(high) does not
    while (high - low > 1) {
      int middle = (low + high) / 2;
      auto ok = valid(middle);
      if (!ok) return ok.error().WithContext("probing the JSON depth limit");
      (*ok ? low : high) = middle;
    }
    limit = std::max(low, 1);
  }
  json_depth_limit_.store(limit);
  if (limit > 0) {
    log::Info(Cat("the database's JSON columns hold documents up to ", limit,
                  " levels deep; deeper ones are kept as text in deep_data"));
  }
  return Ok();
}

Result<std::vector<bool>> SqlStore::CompleteAll(std::span<const Completion> completions) {
  LBMIRROR_RETURN_IF_ERROR(ProbeJsonDepthLimit());
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
    auto diagrams = DiagramsWithRows(connection, completions);
    if (!diagrams) return diagrams.error();
    // The Storage documents of all go in one statement, after the other writes (a room
    // deleted in the same batch is marked first, as before: "room" sorts before "storage").
    std::vector<const DocumentRow*> documents;
    for (size_t i : order) {
      const Completion& completion = completions[i];
      auto completed = CompleteOne(connection, completion, now, &*diagrams, documents);
      if (!completed) {
        return completed.error().WithContext(Cat("writing ", completion.claim.key.ToString()));
      }
      done[i] = *completed;
    }
    auto written = UpsertDocuments(connection, documents, FormatSqlTimestamp(now));
    if (!written) return written.error().WithContext("writing Storage documents");
    return Ok();
  });
  if (!status) return status.error();
  return done;
}

Status SqlStore::Fail(const Claim& claim, std::string_view error, int64_t retry_at_ms) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  std::string_view message = error.substr(0, 2000);
  SqlValue params[] = {retry_at_ms,
                       message,
                       TargetKindName(claim.key.kind),
                       std::string_view(claim.key.scope_id),
                       std::string_view(claim.key.object_id),
                       claim.fence};
  auto changed = (*connection)->Execute(sql_->fail, params);
  if (!changed) return changed.error();
  return Ok();
}

Result<bool> SqlStore::Renew(const Claim& claim, int64_t lease_ms) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  SqlValue params[] = {clock_.NowMs() + lease_ms, TargetKindName(claim.key.kind),
                       std::string_view(claim.key.scope_id), std::string_view(claim.key.object_id),
                       claim.fence};
  auto changed = (*connection)->Execute(sql_->renew, params);
  if (!changed) return changed.error();
  return *changed == 1;
}

Status SqlStore::Release(const Claim& claim) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  SqlValue params[] = {TargetKindName(claim.key.kind), std::string_view(claim.key.scope_id),
                       std::string_view(claim.key.object_id), claim.fence};
  auto changed = (*connection)->Execute(sql_->release, params);
  if (!changed) return changed.error();
  return Ok();
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
