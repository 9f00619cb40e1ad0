#include "store/schema.h"

#include <cctype>

#include "core/text.h"

namespace lbmirror::store {

namespace {
// Dialect-specific spellings, substituted into one schema text.
struct Types {
  std::string id;    // an id in a primary key
  std::string json;  // a JSON document
  std::string text;  // long text
  std::string time;  // UTC timestamp with milliseconds
  std::string bigint;
  std::string table_end;
  std::string emoji;  // a reaction emoji in a primary key
  std::string key;    // a Storage key in a primary key
  std::string real;
};

Types TypesFor(Dialect dialect) {
  if (dialect == Dialect::kMysql) {
    return {"VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            "JSON",
            "LONGTEXT",
            "DATETIME(3)",
            "BIGINT",
            ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            "VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            "VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
            "DOUBLE"};
  }
  if (dialect == Dialect::kPostgres) {
    // Ids compare as bytes (COLLATE "C"), as utf8mb4_bin does on MySQL: the same order of
    // keys everywhere, whatever the database's default collation.
    return {"TEXT COLLATE \"C\"",
            "JSONB",
            "TEXT",
            "TIMESTAMPTZ(3)",
            "BIGINT",
            ")",
            "TEXT COLLATE \"C\"",
            "TEXT COLLATE \"C\"",
            "DOUBLE PRECISION"};
  }
  return {"TEXT", "TEXT", "TEXT", "TEXT", "INTEGER", ")", "TEXT", "TEXT", "REAL"};
}

std::string Render(std::string sql, const Types& t, const std::string& prefix) {
  sql = ReplaceAll(sql, "{p}", prefix);
  sql = ReplaceAll(sql, "{id}", t.id);
  sql = ReplaceAll(sql, "{json}", t.json);
  sql = ReplaceAll(sql, "{text}", t.text);
  sql = ReplaceAll(sql, "{time}", t.time);
  sql = ReplaceAll(sql, "{bigint}", t.bigint);
  sql = ReplaceAll(sql, "{end}", t.table_end);
  sql = ReplaceAll(sql, "{emoji}", t.emoji);
  sql = ReplaceAll(sql, "{key}", t.key);
  sql = ReplaceAll(sql, "{double}", t.real);
  return sql;
}

}  // namespace

bool IsValidTablePrefix(const std::string& prefix) {
  if (prefix.size() > 32) return false;
  for (char c : prefix) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

int LatestSchemaVersion() { return 5; }

std::vector<Migration> SchemaMigrations(Dialect dialect, const std::string& prefix) {
  Types t = TypesFor(dialect);
  auto r = [&](const std::string& sql) { return MigrationStep{Render(sql, t, prefix), {}}; };
  const bool mysql = dialect == Dialect::kMysql;
  const bool postgres = dialect == Dialect::kPostgres;
  // Postgres adds a column only if it is missing by itself; the others look first.
  auto add_column = [&](const std::string& table, const std::string& column,
                        const std::string& type) {
    if (postgres) {
      return MigrationStep{
          Render("ALTER TABLE {p}" + table + " ADD COLUMN IF NOT EXISTS " + column + " " + type, t,
                 prefix),
          std::nullopt};
    }
    return MigrationStep{
        Render("ALTER TABLE {p}" + table + " ADD COLUMN " + column + " " + type, t, prefix),
        std::make_pair(prefix + table, column)};
  };

  Migration m1{1, "events, targets, documents, ydocs, rooms", {}};
  // MySQL has no CREATE INDEX IF NOT EXISTS: a failed half-applied migration must be safe
  // to re-run, so there an index is added only when SHOW INDEX does not list it.
  auto index_step = [&](const std::string& table, const std::string& name,
                        const std::string& columns, const char* kind = "INDEX") {
    std::string sql = std::string("CREATE ") + kind + (mysql ? " " : " IF NOT EXISTS ") + prefix +
                      name + " ON " + prefix + table + " (" + columns + ")";
    std::optional<std::pair<std::string, std::string>> unless;
    if (mysql) unless = std::make_pair(prefix + table, "index:" + prefix + name);
    return MigrationStep{sql, unless};
  };
  auto add_index = [&](const std::string& table, const std::string& name,
                       const std::string& columns) {
    m1.steps.push_back(index_step(table, name, columns));
  };
  m1.steps.push_back(
      r("CREATE TABLE IF NOT EXISTS {p}events (\n"
        "  webhook_id {id} NOT NULL,\n"
        "  type VARCHAR(64) NOT NULL,\n"
        "  room_id {id} NULL,\n"
        "  webhook_timestamp {bigint} NOT NULL,\n"
        "  received_at {time} NOT NULL,\n"
        "  payload {json} NOT NULL,\n"
        "  PRIMARY KEY (webhook_id)\n"
        "{end}"));
  m1.steps.push_back(
      r("CREATE TABLE IF NOT EXISTS {p}targets (\n"
        "  kind VARCHAR(16) NOT NULL,\n"
        "  scope_id {id} NOT NULL,\n"
        "  object_id {id} NOT NULL DEFAULT '',\n"
        "  dirty_seq {bigint} NOT NULL,\n"
        "  done_seq {bigint} NOT NULL DEFAULT 0,\n"
        "  fence {bigint} NOT NULL DEFAULT 0,\n"
        "  lease_owner VARCHAR(128) NOT NULL DEFAULT '',\n"
        "  lease_until {bigint} NOT NULL DEFAULT 0,\n"
        "  next_attempt_at {bigint} NOT NULL,\n"
        "  attempts INT NOT NULL DEFAULT 0,\n"
        "  first_dirty_at {bigint} NOT NULL,\n"
        "  last_success_at {bigint} NULL,\n"
        "  last_error {text} NULL,\n"
        "  PRIMARY KEY (kind, scope_id, object_id)\n"
        "{end}"));
  // The guides' own table, column for column; lbmirror adds its columns below.
  m1.steps.push_back(r(postgres ? "CREATE TABLE IF NOT EXISTS {p}documents (\n"
                                  "  room_id TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,\n"
                                  "  data JSONB NOT NULL,\n"
                                  "  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()\n"
                                  ")"
                       : mysql  ? "CREATE TABLE IF NOT EXISTS {p}documents (\n"
                                  "  room_id {id} NOT NULL PRIMARY KEY,\n"
                                  "  data JSON NOT NULL,\n"
                                  "  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
                                  "    ON UPDATE CURRENT_TIMESTAMP\n"
                                  "{end}"
                                : "CREATE TABLE IF NOT EXISTS {p}documents (\n"
                                  "  room_id TEXT NOT NULL PRIMARY KEY,\n"
                                  "  data TEXT NOT NULL,\n"
                                  "  updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
                                  ")"));
  m1.steps.push_back(add_column("documents", "synced_at", t.time + " NULL"));
  m1.steps.push_back(add_column("documents", "deleted_at", t.time + " NULL"));
  m1.steps.push_back(
      r("CREATE TABLE IF NOT EXISTS {p}ydocs (\n"
        "  room_id {id} NOT NULL,\n"
        "  data {json} NOT NULL,\n"
        "  text {text} NOT NULL,\n"
        "  updated_at {time} NOT NULL,\n"
        "  synced_at {time} NOT NULL,\n"
        "  deleted_at {time} NULL,\n"
        "  PRIMARY KEY (room_id)\n"
        "{end}"));
  m1.steps.push_back(
      r("CREATE TABLE IF NOT EXISTS {p}rooms (\n"
        "  room_id {id} NOT NULL,\n"
        "  organization_id VARCHAR(255) NULL,\n"
        "  metadata {json} NULL,\n"
        "  default_accesses {json} NULL,\n"
        "  users_accesses {json} NULL,\n"
        "  groups_accesses {json} NULL,\n"
        "  created_at {time} NULL,\n"
        "  last_connection_at {time} NULL,\n"
        "  synced_at {time} NOT NULL,\n"
        "  deleted_at {time} NULL,\n"
        "  PRIMARY KEY (room_id)\n"
        "{end}"));
  add_index("events", "events_received_at", "received_at");
  add_index("events", "events_room", "room_id, received_at");
  add_index("targets", "targets_due", "next_attempt_at");

  Migration m2{
      2, "threads, comments, reactions, notifications, presence, sessions, flows, search", {}};
  m2.steps.push_back(
      r("CREATE TABLE IF NOT EXISTS {p}threads (\n"
        "  thread_id {id} NOT NULL,\n"
        "  room_id {id} NOT NULL,\n"
        "  metadata {json} NOT NULL,\n"
        "  resolved INT NOT NULL,\n"
        "  visibility VARCHAR(16) NOT NULL,\n"
        "  created_at {time} NULL,\n"
        "  updated_at {time} NULL,\n"
        "  synced_at {time} NOT NULL,\n"
        "  deleted_at {time} NULL,\n"
        "  PRIMARY KEY (thread_id)\n"
        "{end}"));
  m2.steps.push_back(
      r("CREATE TABLE IF NOT EXISTS {p}comments (\n"
        "  comment_id {id} NOT NULL,\n"
        "  thread_id {id} NOT NULL,\n"
        "  room_id {id} NOT NULL,\n"
        "  user_id VARCHAR(255) NULL,\n"
        "  body {json} NULL,\n"
        "  body_text {text} NOT NULL,\n"
        "  metadata {json} NOT NULL,\n"
        "  attachments {json} NOT NULL,\n"
        "  created_at {time} NULL,\n"
        "  edited_at {time} NULL,\n"
        "  synced_at {time} NOT NULL,\n"
        "  deleted_at {time} NULL,\n"
        "  PRIMARY KEY (comment_id)\n"
        "{end}"));
  m2.steps.push_back(
      r("CREATE TABLE IF NOT EXISTS {p}comment_reactions (\n"
        "  comment_id {id} NOT NULL,\n"
        "  emoji {emoji} NOT NULL,\n"
        "  user_id {id} NOT NULL,\n"
        "  thread_id {id} NOT NULL,\n"
        "  room_id {id} NOT NULL,\n"
        "  created_at {time} NULL,\n"
        "  PRIMARY KEY (comment_id, emoji, user_id)\n"
        "{end}"));
  m2.steps.push_back(
      r("CREATE TABLE IF NOT EXISTS {p}notifications (\n"
        "  inbox_notification_id {id} NOT NULL,\n"
        "  user_id {id} NOT NULL,\n"
        "  kind VARCHAR(128) NOT NULL,\n"
        "  room_id VARCHAR(255) NULL,\n"
        "  thread_id VARCHAR(255) NULL,\n"
        "  subject_id VARCHAR(255) NULL,\n"
        "  notified_at {time} NULL,\n"
        "  read_at {time} NULL,\n"
        "  data {json} NOT NULL,\n"
        "  synced_at {time} NOT NULL,\n"
        "  deleted_at {time} NULL,\n"
        "  PRIMARY KEY (inbox_notification_id)\n"
        "{end}"));
  m2.steps.push_back(
      r("CREATE TABLE IF NOT EXISTS {p}active_users (\n"
        "  room_id {id} NOT NULL,\n"
        "  connection_id {bigint} NOT NULL,\n"
        "  user_id VARCHAR(255) NULL,\n"
        "  user_info {json} NULL,\n"
        "  synced_at {time} NOT NULL,\n"
        "  PRIMARY KEY (room_id, connection_id)\n"
        "{end}"));
  m2.steps.push_back(
      r("CREATE TABLE IF NOT EXISTS {p}room_sessions (\n"
        "  room_id {id} NOT NULL,\n"
        "  connection_id {bigint} NOT NULL,\n"
        "  entered_at {time} NOT NULL,\n"
        "  entered_known INT NOT NULL,\n"
        "  user_id VARCHAR(255) NULL,\n"
        "  user_info {json} NULL,\n"
        "  left_at {time} NULL,\n"
        "  PRIMARY KEY (room_id, connection_id, entered_at)\n"
        "{end}"));
  for (const char* kind : {"node", "edge"}) {
    std::string k(kind);
    m2.steps.push_back(r(
        "CREATE TABLE IF NOT EXISTS {p}flow_" + k +
        "s (\n"
        "  room_id {id} NOT NULL,\n"
        "  storage_key {key} NOT NULL,\n"
        "  " +
        k +
        "_id {id} NOT NULL,\n"
        "  type VARCHAR(255) NULL,\n" +
        (k == "node" ? std::string("  position_x {double} NULL,\n  position_y {double} NULL,\n")
                     : std::string("  source VARCHAR(255) NULL,\n  target VARCHAR(255) NULL,\n")) +
        "  data {json} NULL,\n"
        "  " +
        k +
        " {json} NOT NULL,\n"
        "  synced_at {time} NOT NULL,\n"
        "  PRIMARY KEY (room_id, storage_key, " +
        k +
        "_id)\n"
        "{end}"));
  }
  m2.steps.push_back(add_column("rooms", "active_users", "INT NULL"));
  m2.steps.push_back(index_step("threads", "threads_room", "room_id"));
  m2.steps.push_back(index_step("comments", "comments_thread", "thread_id"));
  m2.steps.push_back(index_step("comments", "comments_room", "room_id"));
  m2.steps.push_back(index_step("comment_reactions", "reactions_thread", "thread_id"));
  m2.steps.push_back(index_step("notifications", "notifications_user", "user_id, notified_at"));
  if (mysql) {
    m2.steps.push_back(index_step("comments", "comments_text", "body_text", "FULLTEXT INDEX"));
    m2.steps.push_back(index_step("ydocs", "ydocs_text", "text", "FULLTEXT INDEX"));
  } else if (postgres) {
    // Words in any language ('simple': no stemming, no stop words) through a GIN index; the
    // search falls back to a substring match for what has no words (CJK, short fragments).
    m2.steps.push_back(
        r("CREATE INDEX IF NOT EXISTS {p}comments_text ON {p}comments"
          " USING GIN (to_tsvector('simple', body_text))"));
    m2.steps.push_back(
        r("CREATE INDEX IF NOT EXISTS {p}ydocs_text ON {p}ydocs"
          " USING GIN (to_tsvector('simple', text))"));
  } else {
    // FTS5 with the trigram tokenizer: substring search in any script (CJK included).
    m2.steps.push_back(r(
        "CREATE VIRTUAL TABLE IF NOT EXISTS {p}search USING fts5(kind UNINDEXED, room_id UNINDEXED,"
        " thread_id UNINDEXED, object_id UNINDEXED, text, tokenize = 'trigram')"));
  }

  Migration m3{3, "binary Yjs state of each document", {}};
  m3.steps.push_back(add_column("ydocs", "state",
                                mysql      ? "LONGBLOB NULL"
                                : postgres ? "BYTEA NULL"
                                           : "BLOB NULL"));
  Migration m4{4, "checkpoints of backfill and reconciliation passes", {}};
  m4.steps.push_back(
      r("CREATE TABLE IF NOT EXISTS {p}checkpoints (\n"
        "  name VARCHAR(255) NOT NULL,\n"
        "  value {json} NOT NULL,\n"
        "  updated_at {bigint} NOT NULL,\n"
        "  PRIMARY KEY (name)\n"
        "{end}"));
  // A document nested deeper than the database's JSON type holds (MariaDB before 12.2: 32
  // levels, MySQL: 100) is kept here as text, exactly, and `data` holds JSON null.
  Migration m5{5, "documents nested deeper than the JSON type holds", {}};
  m5.steps.push_back(add_column("documents", "deep_data", t.text + " NULL"));
  m5.steps.push_back(add_column("ydocs", "deep_data", t.text + " NULL"));
  return {m1, m2, m3, m4, m5};
}

}  // namespace lbmirror::store
