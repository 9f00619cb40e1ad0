#include "store/sql/schema.h"

#include <cctype>

#include "core/text.h"

namespace lbmirror::store::sql {

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
  std::string blob;  // bytes
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
            "DOUBLE",
            "LONGBLOB"};
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
            "DOUBLE PRECISION",
            "BYTEA"};
  }
  return {"TEXT", "TEXT", "TEXT", "TEXT", "INTEGER", ")", "TEXT", "TEXT", "REAL", "BLOB"};
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
  sql = ReplaceAll(sql, "{blob}", t.blob);
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

// The schema as data: each step names the version it belongs to, what it does, and the
// dialects that take it (kAll unless a dialect spells it its own way). Steps are applied in
// this order; a version's description is on its first step.
namespace {
enum class Step {
  kSql,       // `text` as it is (placeholders rendered)
  kColumn,    // add column `name` of type `text` to `table`, unless it exists
  kIndex,     // an index `name` on `table` (`text`: its columns), unless it exists
  kFulltext,  // a FULLTEXT index (MySQL)
};
constexpr unsigned kMysqlOnly = 1u << static_cast<int>(Dialect::kMysql);
constexpr unsigned kSqliteOnly = 1u << static_cast<int>(Dialect::kSqlite);
constexpr unsigned kPostgresOnly = 1u << static_cast<int>(Dialect::kPostgres);
constexpr unsigned kAll = kMysqlOnly | kSqliteOnly | kPostgresOnly;

struct StepSpec {
  int version;
  Step kind;
  const char* table;
  const char* name;
  const char* text;
  unsigned dialects = kAll;
  const char* description = nullptr;  // on a version's first step
};

// clang-format off
constexpr StepSpec kSchema[] = {
  {1, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}events (\n"
   "  webhook_id {id} NOT NULL,\n"
   "  type VARCHAR(64) NOT NULL,\n"
   "  room_id {id} NULL,\n"
   "  webhook_timestamp {bigint} NOT NULL,\n"
   "  received_at {time} NOT NULL,\n"
   "  payload {json} NOT NULL,\n"
   "  PRIMARY KEY (webhook_id)\n"
   "{end}", kAll, "events, targets, documents, ydocs, rooms"},
  {1, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}targets (\n"
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
   "{end}"},
  // The guides' own table, column for column; lbmirror adds its columns below.
  {1, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}documents (\n"
   "  room_id TEXT COLLATE \"C\" NOT NULL PRIMARY KEY,\n"
   "  data JSONB NOT NULL,\n"
   "  updated_at TIMESTAMPTZ NOT NULL DEFAULT now()\n"
   ")", kPostgresOnly},
  {1, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}documents (\n"
   "  room_id {id} NOT NULL PRIMARY KEY,\n"
   "  data JSON NOT NULL,\n"
   "  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
   "    ON UPDATE CURRENT_TIMESTAMP\n"
   "{end}", kMysqlOnly},
  {1, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}documents (\n"
   "  room_id TEXT NOT NULL PRIMARY KEY,\n"
   "  data TEXT NOT NULL,\n"
   "  updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP\n"
   ")", kSqliteOnly},
  {1, Step::kColumn, "documents", "synced_at", "{time} NULL"},
  {1, Step::kColumn, "documents", "deleted_at", "{time} NULL"},
  {1, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}ydocs (\n"
   "  room_id {id} NOT NULL,\n"
   "  data {json} NOT NULL,\n"
   "  text {text} NOT NULL,\n"
   "  updated_at {time} NOT NULL,\n"
   "  synced_at {time} NOT NULL,\n"
   "  deleted_at {time} NULL,\n"
   "  PRIMARY KEY (room_id)\n"
   "{end}"},
  {1, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}rooms (\n"
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
   "{end}"},
  {1, Step::kIndex, "events", "events_received_at", "received_at"},
  {1, Step::kIndex, "events", "events_room", "room_id, received_at"},
  {1, Step::kIndex, "targets", "targets_due", "next_attempt_at"},

  {2, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}threads (\n"
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
   "{end}", kAll, "threads, comments, reactions, notifications, presence, sessions, flows, search"},
  {2, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}comments (\n"
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
   "{end}"},
  {2, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}comment_reactions (\n"
   "  comment_id {id} NOT NULL,\n"
   "  emoji {emoji} NOT NULL,\n"
   "  user_id {id} NOT NULL,\n"
   "  thread_id {id} NOT NULL,\n"
   "  room_id {id} NOT NULL,\n"
   "  created_at {time} NULL,\n"
   "  PRIMARY KEY (comment_id, emoji, user_id)\n"
   "{end}"},
  {2, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}notifications (\n"
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
   "{end}"},
  {2, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}active_users (\n"
   "  room_id {id} NOT NULL,\n"
   "  connection_id {bigint} NOT NULL,\n"
   "  user_id VARCHAR(255) NULL,\n"
   "  user_info {json} NULL,\n"
   "  synced_at {time} NOT NULL,\n"
   "  PRIMARY KEY (room_id, connection_id)\n"
   "{end}"},
  {2, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}room_sessions (\n"
   "  room_id {id} NOT NULL,\n"
   "  connection_id {bigint} NOT NULL,\n"
   "  entered_at {time} NOT NULL,\n"
   "  entered_known INT NOT NULL,\n"
   "  user_id VARCHAR(255) NULL,\n"
   "  user_info {json} NULL,\n"
   "  left_at {time} NULL,\n"
   "  PRIMARY KEY (room_id, connection_id, entered_at)\n"
   "{end}"},
  {2, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}flow_nodes (\n"
   "  room_id {id} NOT NULL,\n"
   "  storage_key {key} NOT NULL,\n"
   "  node_id {id} NOT NULL,\n"
   "  type VARCHAR(255) NULL,\n"
   "  position_x {double} NULL,\n"
   "  position_y {double} NULL,\n"
   "  data {json} NULL,\n"
   "  node {json} NOT NULL,\n"
   "  synced_at {time} NOT NULL,\n"
   "  PRIMARY KEY (room_id, storage_key, node_id)\n"
   "{end}"},
  {2, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}flow_edges (\n"
   "  room_id {id} NOT NULL,\n"
   "  storage_key {key} NOT NULL,\n"
   "  edge_id {id} NOT NULL,\n"
   "  type VARCHAR(255) NULL,\n"
   "  source VARCHAR(255) NULL,\n"
   "  target VARCHAR(255) NULL,\n"
   "  data {json} NULL,\n"
   "  edge {json} NOT NULL,\n"
   "  synced_at {time} NOT NULL,\n"
   "  PRIMARY KEY (room_id, storage_key, edge_id)\n"
   "{end}"},
  {2, Step::kColumn, "rooms", "active_users", "INT NULL"},
  {2, Step::kIndex, "threads", "threads_room", "room_id"},
  {2, Step::kIndex, "comments", "comments_thread", "thread_id"},
  {2, Step::kIndex, "comments", "comments_room", "room_id"},
  {2, Step::kIndex, "comment_reactions", "reactions_thread", "thread_id"},
  {2, Step::kIndex, "notifications", "notifications_user", "user_id, notified_at"},
  {2, Step::kFulltext, "comments", "comments_text", "body_text", kMysqlOnly},
  {2, Step::kFulltext, "ydocs", "ydocs_text", "text", kMysqlOnly},
  // Words in any language ('simple': no stemming, no stop words) through a GIN index; the
  // search falls back to a substring match for what has no words (CJK, short fragments).
  {2, Step::kSql, "", "",
   "CREATE INDEX IF NOT EXISTS {p}comments_text ON {p}comments"
   " USING GIN (to_tsvector('simple', body_text))", kPostgresOnly},
  {2, Step::kSql, "", "",
   "CREATE INDEX IF NOT EXISTS {p}ydocs_text ON {p}ydocs"
   " USING GIN (to_tsvector('simple', text))", kPostgresOnly},
  // FTS5 with the trigram tokenizer: substring search in any script (CJK included).
  {2, Step::kSql, "", "",
   "CREATE VIRTUAL TABLE IF NOT EXISTS {p}search USING fts5(kind UNINDEXED, room_id UNINDEXED,"
   " thread_id UNINDEXED, object_id UNINDEXED, text, tokenize = 'trigram')", kSqliteOnly},

  {3, Step::kColumn, "ydocs", "state", "LONGBLOB NULL", kMysqlOnly,
   "binary Yjs state of each document"},
  {3, Step::kColumn, "ydocs", "state", "BYTEA NULL", kPostgresOnly,
   "binary Yjs state of each document"},
  {3, Step::kColumn, "ydocs", "state", "BLOB NULL", kSqliteOnly,
   "binary Yjs state of each document"},

  {4, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}checkpoints (\n"
   "  name VARCHAR(255) NOT NULL,\n"
   "  value {json} NOT NULL,\n"
   "  updated_at {bigint} NOT NULL,\n"
   "  PRIMARY KEY (name)\n"
   "{end}", kAll, "checkpoints of backfill and reconciliation passes"},

  // A document nested deeper than the database's JSON type holds (MariaDB before 12.2: 32
  // levels, MySQL: 100) is kept here as text, exactly, and `data` holds JSON null.
  {5, Step::kColumn, "documents", "deep_data", "{text} NULL", kAll,
   "documents nested deeper than the JSON type holds"},
  {5, Step::kColumn, "ydocs", "deep_data", "{text} NULL"},

  {6, Step::kIndex, "notifications", "notifications_user", "user_id", kAll,
   "inbox notifications by user; comment attachments; groups and their members; versions"},
  {6, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}comment_attachments (\n"
   "  attachment_id {id} NOT NULL,\n"
   "  comment_id {id} NOT NULL,\n"
   "  thread_id {id} NOT NULL,\n"
   "  room_id {id} NOT NULL,\n"
   "  name {text} NOT NULL,\n"
   "  size {bigint} NULL,\n"
   "  mime_type VARCHAR(255) NULL,\n"
   "  synced_at {time} NOT NULL,\n"
   "  deleted_at {time} NULL,\n"
   "  PRIMARY KEY (attachment_id)\n"
   "{end}"},
  {6, Step::kIndex, "comment_attachments", "comment_attachments_thread", "thread_id"},
  {6, Step::kIndex, "comment_attachments", "comment_attachments_room", "room_id"},
  {6, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}groups (\n"
   "  group_id {id} NOT NULL,\n"
   "  organization_id VARCHAR(255) NOT NULL,\n"
   "  scopes {json} NOT NULL,\n"
   "  created_at {time} NULL,\n"
   "  updated_at {time} NULL,\n"
   "  data {json} NOT NULL,\n"
   "  synced_at {time} NOT NULL,\n"
   "  deleted_at {time} NULL,\n"
   "  PRIMARY KEY (group_id)\n"
   "{end}"},
  {6, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}group_members (\n"
   "  group_id {id} NOT NULL,\n"
   "  user_id {id} NOT NULL,\n"
   "  added_at {time} NULL,\n"
   "  synced_at {time} NOT NULL,\n"
   "  PRIMARY KEY (group_id, user_id)\n"
   "{end}"},
  {6, Step::kIndex, "group_members", "group_members_user", "user_id"},
  {6, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}room_versions (\n"
   "  room_id {id} NOT NULL,\n"
   "  version_id {id} NOT NULL,\n"
   "  created_at {time} NULL,\n"
   "  authors {json} NOT NULL,\n"
   "  data {json} NOT NULL,\n"
   "  synced_at {time} NOT NULL,\n"
   "  deleted_at {time} NULL,\n"
   "  PRIMARY KEY (room_id, version_id)\n"
   "{end}"},
  {6, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}room_version_ydocs (\n"
   "  room_id {id} NOT NULL,\n"
   "  version_id {id} NOT NULL,\n"
   "  data {json} NOT NULL,\n"
   "  deep_data {text} NULL,\n"
   "  text {text} NOT NULL,\n"
   "  state {blob} NOT NULL,\n"
   "  synced_at {time} NOT NULL,\n"
   "  deleted_at {time} NULL,\n"
   "  PRIMARY KEY (room_id, version_id)\n"
   "{end}"},
  {7, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}notification_settings (\n"
   "  user_id {id} NOT NULL,\n"
   "  settings {json} NOT NULL,\n"
   "  synced_at {time} NOT NULL,\n"
   "  deleted_at {time} NULL,\n"
   "  PRIMARY KEY (user_id)\n"
   "{end}", kAll, "users' notification and room subscription settings; thread subscriptions;"
   " feeds and their messages"},
  {7, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}room_subscription_settings (\n"
   "  room_id {id} NOT NULL,\n"
   "  user_id {id} NOT NULL,\n"
   "  threads VARCHAR(64) NOT NULL,\n"
   "  text_mentions VARCHAR(64) NOT NULL,\n"
   "  synced_at {time} NOT NULL,\n"
   "  deleted_at {time} NULL,\n"
   "  PRIMARY KEY (room_id, user_id)\n"
   "{end}"},
  {7, Step::kIndex, "room_subscription_settings", "room_subscription_settings_user", "user_id"},
  {7, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}thread_subscriptions (\n"
   "  thread_id {id} NOT NULL,\n"
   "  user_id {id} NOT NULL,\n"
   "  room_id {id} NOT NULL,\n"
   "  kind VARCHAR(64) NOT NULL,\n"
   "  created_at {time} NULL,\n"
   "  synced_at {time} NOT NULL,\n"
   "  deleted_at {time} NULL,\n"
   "  PRIMARY KEY (thread_id, user_id)\n"
   "{end}"},
  {7, Step::kIndex, "thread_subscriptions", "thread_subscriptions_room", "room_id"},
  {7, Step::kIndex, "thread_subscriptions", "thread_subscriptions_user", "user_id"},
  {7, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}feeds (\n"
   "  room_id {id} NOT NULL,\n"
   "  feed_id {id} NOT NULL,\n"
   "  metadata {json} NOT NULL,\n"
   "  created_at_ms {bigint} NULL,\n"
   "  updated_at_ms {bigint} NULL,\n"
   "  data {json} NOT NULL,\n"
   "  synced_at {time} NOT NULL,\n"
   "  deleted_at {time} NULL,\n"
   "  PRIMARY KEY (room_id, feed_id)\n"
   "{end}"},
  {7, Step::kSql, "", "",
   "CREATE TABLE IF NOT EXISTS {p}feed_messages (\n"
   "  room_id {id} NOT NULL,\n"
   "  feed_id {id} NOT NULL,\n"
   "  message_id {id} NOT NULL,\n"
   "  data {json} NOT NULL,\n"
   "  created_at_ms {bigint} NULL,\n"
   "  updated_at_ms {bigint} NULL,\n"
   "  synced_at {time} NOT NULL,\n"
   "  deleted_at {time} NULL,\n"
   "  PRIMARY KEY (room_id, feed_id, message_id)\n"
   "{end}"},
};
// clang-format on

// One step as the migrator runs it. MySQL has no ADD COLUMN or CREATE INDEX IF NOT EXISTS:
// there a step is skipped when the table already has the column or index (a half-applied
// migration must be safe to run again, and a table made from the Liveblocks guide keeps its
// columns); Postgres says IF NOT EXISTS itself.
MigrationStep RenderStep(const StepSpec& spec, Dialect dialect, const Types& types,
                         const std::string& prefix) {
  const bool mysql = dialect == Dialect::kMysql;
  const bool postgres = dialect == Dialect::kPostgres;
  const std::string table(spec.table), name(spec.name), text(spec.text);
  switch (spec.kind) {
    case Step::kSql:
      return {Render(text, types, prefix), std::nullopt};
    case Step::kColumn:
      if (postgres) {
        return {Render("ALTER TABLE {p}" + table + " ADD COLUMN IF NOT EXISTS " + name + " " + text,
                       types, prefix),
                std::nullopt};
      }
      return {Render("ALTER TABLE {p}" + table + " ADD COLUMN " + name + " " + text, types, prefix),
              std::make_pair(prefix + table, name)};
    case Step::kIndex:
    case Step::kFulltext: {
      std::string sql = std::string("CREATE ") +
                        (spec.kind == Step::kFulltext ? "FULLTEXT INDEX" : "INDEX") +
                        (mysql ? " " : " IF NOT EXISTS ") + prefix + name + " ON " + prefix +
                        table + " (" + text + ")";
      std::optional<std::pair<std::string, std::string>> unless;
      if (mysql) unless = std::make_pair(prefix + table, "index:" + prefix + name);
      return {sql, unless};
    }
  }
  return {};
}
}  // namespace

int LatestSchemaVersion() { return std::end(kSchema)[-1].version; }

std::vector<Migration> SchemaMigrations(Dialect dialect, const std::string& prefix) {
  const Types types = TypesFor(dialect);
  const unsigned mine = 1u << static_cast<int>(dialect);
  std::vector<Migration> migrations;
  for (const StepSpec& spec : kSchema) {
    if ((spec.dialects & mine) == 0) continue;
    if (migrations.empty() || migrations.back().version != spec.version) {
      migrations.push_back({spec.version, spec.description ? spec.description : "", {}});
    }
    migrations.back().steps.push_back(RenderStep(spec, dialect, types, prefix));
  }
  return migrations;
}

}  // namespace lbmirror::store::sql
