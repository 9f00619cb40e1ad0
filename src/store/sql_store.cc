#include "store/sql_store.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <random>
#include <thread>

#include "core/log.h"
#include "core/text.h"
#include "store/schema.h"

namespace lbmirror::store {

namespace {
// next_attempt_at of a target with nothing to do: pending targets sort before it.
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int kMaxTransactionAttempts = 4;

std::string Replace(std::string text, std::string_view from, std::string_view to) {
  for (size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos; pos += to.size()) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

int64_t ToInt(const std::optional<std::string>& text) {
  return text ? std::stoll(*text) : 0;
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
  std::string insert_event, mark_dirty, claim, complete, fail, release;
  std::string upsert_document, upsert_ydoc, upsert_room, room_gone, document_gone, ydoc_gone;
  std::string schema_table, schema_version, record_version;

  Statements(Dialect dialect, const std::string& prefix) {
    bool mysql = dialect == Dialect::kMysql;
    // {upsert:k} starts the conflict clause on key k; {v:c} is the proposed value of column c.
    auto render = [&](std::string sql) {
      sql = Replace(sql, "{p}", prefix);
      sql = Replace(sql, "{same}", mysql ? "<=>" : "IS");
      for (size_t pos; (pos = sql.find("{upsert:")) != std::string::npos;) {
        size_t end = sql.find('}', pos);
        std::string keys = sql.substr(pos + 8, end - pos - 8);
        sql.replace(pos, end - pos + 1, mysql ? "ON DUPLICATE KEY UPDATE"
                                              : "ON CONFLICT(" + keys + ") DO UPDATE SET");
      }
      for (size_t pos; (pos = sql.find("{v:")) != std::string::npos;) {
        size_t end = sql.find('}', pos);
        std::string column = sql.substr(pos + 3, end - pos - 3);
        sql.replace(pos, end - pos + 1, mysql ? "VALUES(" + column + ")" : "excluded." + column);
      }
      return sql;
    };
    insert_event = render(
        "INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at, payload)"
        " VALUES (?, ?, ?, ?, ?, ?) " +
        std::string(mysql ? "ON DUPLICATE KEY UPDATE webhook_id = webhook_id"
                          : "ON CONFLICT(webhook_id) DO NOTHING"));
    // A target that was clean becomes due now; one already pending keeps its schedule
    // (including a retry backoff). MySQL evaluates assignments left to right, so dirty_seq
    // is bumped last and every CASE sees the old values, as SQLite does.
    mark_dirty = render(
        "INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at,"
        " first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?) {upsert:kind, scope_id, object_id}"
        " first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at"
        " ELSE {v:first_dirty_at} END,"
        " next_attempt_at = CASE WHEN dirty_seq > done_seq THEN next_attempt_at"
        " ELSE {v:next_attempt_at} END,"
        " attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END,"
        " dirty_seq = dirty_seq + 1");
    claim = render(
        "UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?,"
        " attempts = attempts + 1 WHERE kind = ? AND scope_id = ? AND object_id = ?"
        " AND fence = ? AND lease_until <= ? AND dirty_seq > done_seq");
    complete = render(
        "UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0,"
        " last_error = NULL, last_success_at = ?,"
        " next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END"
        " WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ?");
    fail = render(
        "UPDATE {p}targets SET lease_owner = '', lease_until = 0, next_attempt_at = ?,"
        " last_error = ? WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ?");
    release = render(
        "UPDATE {p}targets SET lease_owner = '', lease_until = 0,"
        " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END"
        " WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ?");
    // updated_at moves only when the content changes; synced_at on every successful read.
    if (mysql) {
      upsert_document = render(
          "INSERT INTO {p}documents (room_id, data, synced_at, deleted_at) VALUES (?, ?, ?, NULL)"
          " ON DUPLICATE KEY UPDATE updated_at = CASE WHEN data <=> VALUES(data)"
          " AND deleted_at IS NULL THEN updated_at ELSE CURRENT_TIMESTAMP END,"
          " data = VALUES(data), synced_at = VALUES(synced_at), deleted_at = NULL");
    } else {
      upsert_document = render(
          "INSERT INTO {p}documents (room_id, data, synced_at, deleted_at, updated_at)"
          " VALUES (?, ?, ?, NULL, ?) ON CONFLICT(room_id) DO UPDATE SET"
          " updated_at = CASE WHEN data IS excluded.data AND deleted_at IS NULL THEN updated_at"
          " ELSE excluded.updated_at END,"
          " data = excluded.data, synced_at = excluded.synced_at, deleted_at = NULL");
    }
    upsert_ydoc = render(
        "INSERT INTO {p}ydocs (room_id, data, text, updated_at, synced_at, deleted_at)"
        " VALUES (?, ?, ?, ?, ?, NULL) {upsert:room_id}"
        " updated_at = CASE WHEN data {same} {v:data} AND text {same} {v:text}"
        " AND deleted_at IS NULL THEN updated_at ELSE {v:updated_at} END,"
        " data = {v:data}, text = {v:text}, synced_at = {v:synced_at}, deleted_at = NULL");
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
    document_gone =
        render("UPDATE {p}documents SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL");
    ydoc_gone = render("UPDATE {p}ydocs SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL");
    schema_table = render(
        std::string("CREATE TABLE IF NOT EXISTS {p}schema_migrations (version INT NOT NULL,"
                    " description VARCHAR(255) NOT NULL, applied_at ") +
        (mysql ? "DATETIME(3) NOT NULL, PRIMARY KEY (version)) ENGINE=InnoDB"
                 " DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin"
               : "TEXT NOT NULL, PRIMARY KEY (version))"));
    schema_version = render("SELECT MAX(version) FROM {p}schema_migrations");
    record_version = render(
        "INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) " +
        std::string(mysql ? "ON DUPLICATE KEY UPDATE version = version"
                          : "ON CONFLICT(version) DO NOTHING"));
  }
};

SqlStore::SqlStore(Dialect dialect, ConnectionFactory factory, SqlStoreOptions options,
                   const Clock& clock)
    : dialect_(dialect),
      options_(std::move(options)),
      clock_(clock),
      pool_(std::move(factory), options_.pool_size),
      sql_(std::make_unique<Statements>(dialect, options_.table_prefix)) {
  LBMIRROR_CHECK(IsValidTablePrefix(options_.table_prefix));
}

SqlStore::~SqlStore() = default;

Status SqlStore::Transact(const std::function<Status(SqlConnection&)>& body) {
  static thread_local std::minstd_rand random(std::random_device{}());
  for (int attempt = 1;; ++attempt) {
    Status status = [&]() -> Status {
      auto connection = pool_.Acquire();
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

Status SqlStore::MarkDirty(SqlConnection& connection, const TargetKey& key, int64_t now_ms) {
  SqlValue params[] = {TargetKindName(key.kind), std::string_view(key.scope_id),
                       std::string_view(key.object_id), now_ms, now_ms};
  auto changed = connection.Execute(sql_->mark_dirty, params);
  if (!changed) return changed.error();
  return Ok();
}

Result<bool> SqlStore::Record(const InboxEvent& event) {
  bool inserted = false;
  std::string received_at = FormatSqlTimestamp(event.received_at_ms);
  Status status = Transact([&](SqlConnection& connection) -> Status {
    SqlValue room = event.room_id.empty() ? SqlValue(nullptr) : SqlValue(std::string_view(event.room_id));
    SqlValue params[] = {std::string_view(event.webhook_id), std::string_view(event.type), room,
                         event.webhook_timestamp, std::string_view(received_at), event.payload};
    auto changed = connection.Execute(sql_->insert_event, params);
    if (!changed) return changed.error();
    inserted = *changed > 0;
    if (!inserted) return Ok();  // a redelivery: its targets were marked the first time
    for (const TargetKey& key : event.targets) {
      LBMIRROR_RETURN_IF_ERROR(MarkDirty(connection, key, event.received_at_ms));
    }
    return Ok();
  });
  if (!status) return status.error().WithContext("recording webhook");
  return inserted;
}

Result<std::vector<Claim>> SqlStore::ClaimDue(std::string_view owner,
                                              std::span<const TargetKind> kinds, int limit,
                                              int64_t lease_ms) {
  static thread_local std::minstd_rand random(std::random_device{}());
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  int64_t now = clock_.NowMs();
  // Candidates are read without locks; the conditional UPDATE below decides who wins.
  // Reading more than needed and shuffling keeps concurrent workers off the same rows.
  std::string select = Replace(
      "SELECT kind, scope_id, object_id, fence, dirty_seq, attempts FROM {p}targets"
      " WHERE next_attempt_at <= ? AND lease_until <= ? AND dirty_seq > done_seq"
      " AND kind IN (" + KindList(kinds) + ") ORDER BY next_attempt_at LIMIT ?",
      "{p}", options_.table_prefix);
  SqlValue select_params[] = {now, now, int64_t{limit} * 4};
  auto rows = (*connection)->Query(select, select_params);
  if (!rows) return rows.error().WithContext("reading due targets");
  std::shuffle(rows->begin(), rows->end(), random);
  std::vector<Claim> claims;
  for (const SqlRow& row : *rows) {
    if (static_cast<int>(claims.size()) >= limit) break;
    auto kind = ParseTargetKind(row[0].value_or(""));
    if (!kind) continue;
    Claim claim{{*kind, row[1].value_or(""), row[2].value_or("")}, ToInt(row[3]) + 1,
                ToInt(row[4]), static_cast<int>(ToInt(row[5])) + 1};
    SqlValue params[] = {owner,
                         now + lease_ms,
                         TargetKindName(claim.key.kind),
                         std::string_view(claim.key.scope_id),
                         std::string_view(claim.key.object_id),
                         claim.fence - 1,
                         now};
    auto changed = (*connection)->Execute(sql_->claim, params);
    if (!changed) return changed.error().WithContext("claiming a target");
    if (*changed == 1) claims.push_back(std::move(claim));
  }
  return claims;
}

Status SqlStore::ApplyWrite(SqlConnection& connection, const RowWrite& write, int64_t now_ms) {
  std::string now = FormatSqlTimestamp(now_ms);
  auto run = [&](const std::string& sql, std::span<const SqlValue> params) -> Status {
    auto changed = connection.Execute(sql, params);
    if (!changed) return changed.error();
    return Ok();
  };
  auto optional = [](const std::optional<std::string>& v) {
    return v ? SqlValue(std::string_view(*v)) : SqlValue(nullptr);
  };
  if (auto* doc = std::get_if<DocumentRow>(&write)) {
    if (dialect_ == Dialect::kMysql) {
      SqlValue params[] = {std::string_view(doc->room_id), std::string_view(doc->data),
                           std::string_view(now)};
      return run(sql_->upsert_document, params);
    }
    SqlValue params[] = {std::string_view(doc->room_id), std::string_view(doc->data),
                         std::string_view(now), std::string_view(now)};
    return run(sql_->upsert_document, params);
  }
  if (auto* ydoc = std::get_if<YdocRow>(&write)) {
    SqlValue params[] = {std::string_view(ydoc->room_id), std::string_view(ydoc->data),
                         std::string_view(ydoc->text), std::string_view(now),
                         std::string_view(now)};
    return run(sql_->upsert_ydoc, params);
  }
  if (auto* room = std::get_if<RoomRow>(&write)) {
    SqlValue params[] = {std::string_view(room->room_id),
                         std::string_view(room->organization_id),
                         std::string_view(room->metadata),
                         std::string_view(room->default_accesses),
                         std::string_view(room->users_accesses),
                         std::string_view(room->groups_accesses),
                         optional(room->created_at),
                         optional(room->last_connection_at),
                         std::string_view(now)};
    return run(sql_->upsert_room, params);
  }
  if (auto* gone = std::get_if<DocumentGone>(&write)) {
    SqlValue params[] = {std::string_view(now), std::string_view(gone->room_id)};
    return run(sql_->document_gone, params);
  }
  if (auto* gone = std::get_if<YdocGone>(&write)) {
    SqlValue params[] = {std::string_view(now), std::string_view(gone->room_id)};
    return run(sql_->ydoc_gone, params);
  }
  const auto& room_gone = std::get<RoomGone>(write);
  SqlValue room_params[] = {std::string_view(room_gone.room_id), std::string_view(now),
                            std::string_view(now)};
  LBMIRROR_RETURN_IF_ERROR(run(sql_->room_gone, room_params));
  SqlValue params[] = {std::string_view(now), std::string_view(room_gone.room_id)};
  LBMIRROR_RETURN_IF_ERROR(run(sql_->document_gone, params));
  return run(sql_->ydoc_gone, params);
}

Result<bool> SqlStore::Complete(const Claim& claim, std::span<const RowWrite> writes,
                                std::span<const TargetKey> also_dirty) {
  int64_t now = clock_.NowMs();
  Status status = Transact([&](SqlConnection& connection) -> Status {
    // The fencing check comes first and locks the target row until commit, so a worker
    // whose lease was taken over cannot write anything.
    SqlValue params[] = {claim.dirty_seq,
                         now,
                         claim.dirty_seq,
                         now,
                         kNever,
                         TargetKindName(claim.key.kind),
                         std::string_view(claim.key.scope_id),
                         std::string_view(claim.key.object_id),
                         claim.fence};
    auto changed = connection.Execute(sql_->complete, params);
    if (!changed) return changed.error();
    if (*changed != 1) return Error(ErrorCode::kConflict, "lease was taken over");
    for (const RowWrite& write : writes) LBMIRROR_RETURN_IF_ERROR(ApplyWrite(connection, write, now));
    for (const TargetKey& key : also_dirty) LBMIRROR_RETURN_IF_ERROR(MarkDirty(connection, key, now));
    return Ok();
  });
  if (!status) {
    if (status.error().code() == ErrorCode::kConflict) return false;
    return status.error().WithContext(Cat("writing ", claim.key.ToString()));
  }
  return true;
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

Status SqlStore::Release(const Claim& claim) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  SqlValue params[] = {TargetKindName(claim.key.kind), std::string_view(claim.key.scope_id),
                       std::string_view(claim.key.object_id), claim.fence};
  auto changed = (*connection)->Execute(sql_->release, params);
  if (!changed) return changed.error();
  return Ok();
}

Result<std::optional<int64_t>> SqlStore::NextDueMs(std::span<const TargetKind> kinds) {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  std::string sql = Replace(
      "SELECT MIN(CASE WHEN lease_until > next_attempt_at THEN lease_until"
      " ELSE next_attempt_at END) FROM {p}targets WHERE dirty_seq > done_seq"
      " AND kind IN (" + KindList(kinds) + ")",
      "{p}", options_.table_prefix);
  auto rows = (*connection)->Query(sql, {});
  if (!rows) return rows.error();
  if (rows->empty() || !(*rows)[0][0]) return std::optional<int64_t>();
  return std::optional<int64_t>(std::stoll(*(*rows)[0][0]));
}

Result<bool> SqlStore::StepAlreadyApplied(SqlConnection& connection, const std::string& table,
                                          const std::string& what) {
  std::vector<SqlRow> rows;
  bool index = StartsWith(what, "index:");
  std::string name = index ? what.substr(6) : what;
  SqlValue params[] = {std::string_view(table), std::string_view(name)};
  Result<std::vector<SqlRow>> result =
      dialect_ == Dialect::kSqlite
          ? connection.Query("SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?", params)
      : index ? connection.Query("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE"
                                 " TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?",
                                 params)
              : connection.Query("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE"
                                 " TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?",
                                 params);
  if (!result) return result.error();
  return !result->empty() && ToInt((*result)[0][0]) > 0;
}

Status SqlStore::Migrate() {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error().WithContext("migrating");
  LBMIRROR_RETURN_IF_ERROR((*connection)->ExecuteDirect(sql_->schema_table));
  auto current = ReadSchemaVersion(**connection);
  if (!current) return current.error();
  for (const Migration& migration : SchemaMigrations(dialect_, options_.table_prefix)) {
    if (migration.version <= *current) continue;
    log::Info(Cat("applying schema migration ", migration.version, ": ", migration.description));
    for (const MigrationStep& step : migration.steps) {
      if (step.unless_exists) {
        auto applied = StepAlreadyApplied(**connection, step.unless_exists->first,
                                          step.unless_exists->second);
        if (!applied) return applied.error();
        if (*applied) continue;
      }
      Status status = (*connection)->ExecuteDirect(step.sql);
      if (!status) return status.error().WithContext(Cat("migration ", migration.version));
    }
    std::string now = FormatSqlTimestamp(clock_.NowMs());
    SqlValue params[] = {int64_t{migration.version}, std::string_view(migration.description),
                         std::string_view(now)};
    auto recorded = (*connection)->Execute(sql_->record_version, params);
    if (!recorded) return recorded.error();
  }
  return Ok();
}

Result<int> SqlStore::SchemaVersion() {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  return ReadSchemaVersion(**connection);
}

Result<int> SqlStore::ReadSchemaVersion(SqlConnection& connection) {
  auto rows = connection.Query(sql_->schema_version, {});
  if (!rows) {
    // The version table does not exist yet: nothing was migrated.
    if (!rows.error().retryable() && !connection.broken()) return 0;
    return rows.error();
  }
  if (rows->empty() || !(*rows)[0][0]) return 0;
  return static_cast<int>(std::stoll(*(*rows)[0][0]));
}

void SqlStore::PrintMigrations(std::ostream& out) const {
  out << "-- lbmirror schema version " << LatestSchemaVersion() << " ("
      << (dialect_ == Dialect::kMysql ? "MySQL / PlanetScale / MariaDB" : "SQLite") << ")\n";
  out << "-- Statements marked 'skip if present' only add what a table created by hand lacks.\n\n";
  out << sql_->schema_table << ";\n\n";
  for (const Migration& migration : SchemaMigrations(dialect_, options_.table_prefix)) {
    out << "-- migration " << migration.version << ": " << migration.description << "\n";
    for (const MigrationStep& step : migration.steps) {
      if (step.unless_exists) out << "-- skip if present: " << step.unless_exists->second << "\n";
      out << step.sql << ";\n\n";
    }
    out << "INSERT INTO " << options_.table_prefix
        << "schema_migrations (version, description, applied_at) VALUES (" << migration.version
        << ", '" << migration.description << "', CURRENT_TIMESTAMP);\n\n";
  }
}

Status SqlStore::Ping() {
  auto connection = pool_.Acquire();
  if (!connection) return connection.error();
  auto rows = (*connection)->Query("SELECT 1", {});
  if (!rows) return rows.error();
  return Ok();
}

}  // namespace lbmirror::store
