-- migrate
CREATE TABLE IF NOT EXISTS {p}schema_migrations (version INT NOT NULL, description VARCHAR(255) NOT NULL, applied_at TEXT NOT NULL, PRIMARY KEY (version))
SELECT MAX(version) FROM {p}schema_migrations
CREATE TABLE IF NOT EXISTS {p}events (
  webhook_id TEXT NOT NULL,
  type VARCHAR(64) NOT NULL,
  room_id TEXT NULL,
  webhook_timestamp INTEGER NOT NULL,
  received_at TEXT NOT NULL,
  payload TEXT NOT NULL,
  PRIMARY KEY (webhook_id)
)
CREATE TABLE IF NOT EXISTS {p}targets (
  kind VARCHAR(16) NOT NULL,
  scope_id TEXT NOT NULL,
  object_id TEXT NOT NULL DEFAULT '',
  dirty_seq INTEGER NOT NULL,
  done_seq INTEGER NOT NULL DEFAULT 0,
  fence INTEGER NOT NULL DEFAULT 0,
  lease_owner VARCHAR(128) NOT NULL DEFAULT '',
  lease_until INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  first_dirty_at INTEGER NOT NULL,
  last_success_at INTEGER NULL,
  last_error TEXT NULL,
  PRIMARY KEY (kind, scope_id, object_id)
)
CREATE TABLE IF NOT EXISTS {p}documents (
  room_id TEXT NOT NULL PRIMARY KEY,
  data TEXT NOT NULL,
  updated_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
)
SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?
ALTER TABLE {p}documents ADD COLUMN synced_at TEXT NULL
SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?
ALTER TABLE {p}documents ADD COLUMN deleted_at TEXT NULL
CREATE TABLE IF NOT EXISTS {p}ydocs (
  room_id TEXT NOT NULL,
  data TEXT NOT NULL,
  text TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  synced_at TEXT NOT NULL,
  deleted_at TEXT NULL,
  PRIMARY KEY (room_id)
)
CREATE TABLE IF NOT EXISTS {p}rooms (
  room_id TEXT NOT NULL,
  organization_id VARCHAR(255) NULL,
  metadata TEXT NULL,
  default_accesses TEXT NULL,
  users_accesses TEXT NULL,
  groups_accesses TEXT NULL,
  created_at TEXT NULL,
  last_connection_at TEXT NULL,
  synced_at TEXT NOT NULL,
  deleted_at TEXT NULL,
  PRIMARY KEY (room_id)
)
CREATE INDEX IF NOT EXISTS {p}events_received_at ON {p}events (received_at)
CREATE INDEX IF NOT EXISTS {p}events_room ON {p}events (room_id, received_at)
CREATE INDEX IF NOT EXISTS {p}targets_due ON {p}targets (next_attempt_at)
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON CONFLICT(version) DO NOTHING
CREATE TABLE IF NOT EXISTS {p}threads (
  thread_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  metadata TEXT NOT NULL,
  resolved INT NOT NULL,
  visibility VARCHAR(16) NOT NULL,
  created_at TEXT NULL,
  updated_at TEXT NULL,
  synced_at TEXT NOT NULL,
  deleted_at TEXT NULL,
  PRIMARY KEY (thread_id)
)
CREATE TABLE IF NOT EXISTS {p}comments (
  comment_id TEXT NOT NULL,
  thread_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  user_id VARCHAR(255) NULL,
  body TEXT NULL,
  body_text TEXT NOT NULL,
  metadata TEXT NOT NULL,
  attachments TEXT NOT NULL,
  created_at TEXT NULL,
  edited_at TEXT NULL,
  synced_at TEXT NOT NULL,
  deleted_at TEXT NULL,
  PRIMARY KEY (comment_id)
)
CREATE TABLE IF NOT EXISTS {p}comment_reactions (
  comment_id TEXT NOT NULL,
  emoji TEXT NOT NULL,
  user_id TEXT NOT NULL,
  thread_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  created_at TEXT NULL,
  PRIMARY KEY (comment_id, emoji, user_id)
)
CREATE TABLE IF NOT EXISTS {p}notifications (
  inbox_notification_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  kind VARCHAR(128) NOT NULL,
  room_id VARCHAR(255) NULL,
  thread_id VARCHAR(255) NULL,
  subject_id VARCHAR(255) NULL,
  notified_at TEXT NULL,
  read_at TEXT NULL,
  data TEXT NOT NULL,
  synced_at TEXT NOT NULL,
  deleted_at TEXT NULL,
  PRIMARY KEY (inbox_notification_id)
)
CREATE TABLE IF NOT EXISTS {p}active_users (
  room_id TEXT NOT NULL,
  connection_id INTEGER NOT NULL,
  user_id VARCHAR(255) NULL,
  user_info TEXT NULL,
  synced_at TEXT NOT NULL,
  PRIMARY KEY (room_id, connection_id)
)
CREATE TABLE IF NOT EXISTS {p}room_sessions (
  room_id TEXT NOT NULL,
  connection_id INTEGER NOT NULL,
  entered_at TEXT NOT NULL,
  entered_known INT NOT NULL,
  user_id VARCHAR(255) NULL,
  user_info TEXT NULL,
  left_at TEXT NULL,
  PRIMARY KEY (room_id, connection_id, entered_at)
)
CREATE TABLE IF NOT EXISTS {p}flow_nodes (
  room_id TEXT NOT NULL,
  storage_key TEXT NOT NULL,
  node_id TEXT NOT NULL,
  type VARCHAR(255) NULL,
  position_x REAL NULL,
  position_y REAL NULL,
  data TEXT NULL,
  node TEXT NOT NULL,
  synced_at TEXT NOT NULL,
  PRIMARY KEY (room_id, storage_key, node_id)
)
CREATE TABLE IF NOT EXISTS {p}flow_edges (
  room_id TEXT NOT NULL,
  storage_key TEXT NOT NULL,
  edge_id TEXT NOT NULL,
  type VARCHAR(255) NULL,
  source VARCHAR(255) NULL,
  target VARCHAR(255) NULL,
  data TEXT NULL,
  edge TEXT NOT NULL,
  synced_at TEXT NOT NULL,
  PRIMARY KEY (room_id, storage_key, edge_id)
)
SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?
ALTER TABLE {p}rooms ADD COLUMN active_users INT NULL
CREATE INDEX IF NOT EXISTS {p}threads_room ON {p}threads (room_id)
CREATE INDEX IF NOT EXISTS {p}comments_thread ON {p}comments (thread_id)
CREATE INDEX IF NOT EXISTS {p}comments_room ON {p}comments (room_id)
CREATE INDEX IF NOT EXISTS {p}reactions_thread ON {p}comment_reactions (thread_id)
CREATE INDEX IF NOT EXISTS {p}notifications_user ON {p}notifications (user_id, notified_at)
CREATE VIRTUAL TABLE IF NOT EXISTS {p}search USING fts5(kind UNINDEXED, room_id UNINDEXED, thread_id UNINDEXED, object_id UNINDEXED, text, tokenize = 'trigram')
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON CONFLICT(version) DO NOTHING
SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?
ALTER TABLE {p}ydocs ADD COLUMN state BLOB NULL
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON CONFLICT(version) DO NOTHING
CREATE TABLE IF NOT EXISTS {p}checkpoints (
  name VARCHAR(255) NOT NULL,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (name)
)
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON CONFLICT(version) DO NOTHING
SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?
ALTER TABLE {p}documents ADD COLUMN deep_data TEXT NULL
SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?
ALTER TABLE {p}ydocs ADD COLUMN deep_data TEXT NULL
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON CONFLICT(version) DO NOTHING
CREATE INDEX IF NOT EXISTS {p}notifications_user ON {p}notifications (user_id)
CREATE TABLE IF NOT EXISTS {p}comment_attachments (
  attachment_id TEXT NOT NULL,
  comment_id TEXT NOT NULL,
  thread_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  name TEXT NOT NULL,
  size INTEGER NULL,
  mime_type VARCHAR(255) NULL,
  synced_at TEXT NOT NULL,
  deleted_at TEXT NULL,
  PRIMARY KEY (attachment_id)
)
CREATE INDEX IF NOT EXISTS {p}comment_attachments_thread ON {p}comment_attachments (thread_id)
CREATE INDEX IF NOT EXISTS {p}comment_attachments_room ON {p}comment_attachments (room_id)
CREATE TABLE IF NOT EXISTS {p}groups (
  group_id TEXT NOT NULL,
  organization_id VARCHAR(255) NOT NULL,
  scopes TEXT NOT NULL,
  created_at TEXT NULL,
  updated_at TEXT NULL,
  data TEXT NOT NULL,
  synced_at TEXT NOT NULL,
  deleted_at TEXT NULL,
  PRIMARY KEY (group_id)
)
CREATE TABLE IF NOT EXISTS {p}group_members (
  group_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  added_at TEXT NULL,
  synced_at TEXT NOT NULL,
  PRIMARY KEY (group_id, user_id)
)
CREATE INDEX IF NOT EXISTS {p}group_members_user ON {p}group_members (user_id)
CREATE TABLE IF NOT EXISTS {p}room_versions (
  room_id TEXT NOT NULL,
  version_id TEXT NOT NULL,
  created_at TEXT NULL,
  authors TEXT NOT NULL,
  data TEXT NOT NULL,
  synced_at TEXT NOT NULL,
  deleted_at TEXT NULL,
  PRIMARY KEY (room_id, version_id)
)
CREATE TABLE IF NOT EXISTS {p}room_version_ydocs (
  room_id TEXT NOT NULL,
  version_id TEXT NOT NULL,
  data TEXT NOT NULL,
  deep_data TEXT NULL,
  text TEXT NOT NULL,
  state BLOB NOT NULL,
  synced_at TEXT NOT NULL,
  deleted_at TEXT NULL,
  PRIMARY KEY (room_id, version_id)
)
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON CONFLICT(version) DO NOTHING
CREATE TABLE IF NOT EXISTS {p}notification_settings (
  user_id TEXT NOT NULL,
  settings TEXT NOT NULL,
  synced_at TEXT NOT NULL,
  deleted_at TEXT NULL,
  PRIMARY KEY (user_id)
)
CREATE TABLE IF NOT EXISTS {p}room_subscription_settings (
  room_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  threads VARCHAR(64) NOT NULL,
  text_mentions VARCHAR(64) NOT NULL,
  synced_at TEXT NOT NULL,
  deleted_at TEXT NULL,
  PRIMARY KEY (room_id, user_id)
)
CREATE INDEX IF NOT EXISTS {p}room_subscription_settings_user ON {p}room_subscription_settings (user_id)
CREATE TABLE IF NOT EXISTS {p}thread_subscriptions (
  thread_id TEXT NOT NULL,
  user_id TEXT NOT NULL,
  room_id TEXT NOT NULL,
  kind VARCHAR(64) NOT NULL,
  created_at TEXT NULL,
  synced_at TEXT NOT NULL,
  deleted_at TEXT NULL,
  PRIMARY KEY (thread_id, user_id)
)
CREATE INDEX IF NOT EXISTS {p}thread_subscriptions_room ON {p}thread_subscriptions (room_id)
CREATE INDEX IF NOT EXISTS {p}thread_subscriptions_user ON {p}thread_subscriptions (user_id)
CREATE TABLE IF NOT EXISTS {p}feeds (
  room_id TEXT NOT NULL,
  feed_id TEXT NOT NULL,
  metadata TEXT NOT NULL,
  created_at_ms INTEGER NULL,
  updated_at_ms INTEGER NULL,
  data TEXT NOT NULL,
  synced_at TEXT NOT NULL,
  deleted_at TEXT NULL,
  PRIMARY KEY (room_id, feed_id)
)
CREATE TABLE IF NOT EXISTS {p}feed_messages (
  room_id TEXT NOT NULL,
  feed_id TEXT NOT NULL,
  message_id TEXT NOT NULL,
  data TEXT NOT NULL,
  created_at_ms INTEGER NULL,
  updated_at_ms INTEGER NULL,
  synced_at TEXT NOT NULL,
  deleted_at TEXT NULL,
  PRIMARY KEY (room_id, feed_id, message_id)
)
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON CONFLICT(version) DO NOTHING
CREATE TABLE IF NOT EXISTS {p}changes (
  change_id INTEGER PRIMARY KEY AUTOINCREMENT,
  position INTEGER NULL,
  committed_at INTEGER NOT NULL,
  kind VARCHAR(32) NOT NULL,
  op VARCHAR(8) NOT NULL,
  room_id TEXT NULL,
  entity_key TEXT NOT NULL,
  cause TEXT NOT NULL,
  payload TEXT NOT NULL
)
CREATE INDEX IF NOT EXISTS {p}changes_position ON {p}changes (position)
SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?
ALTER TABLE {p}targets ADD COLUMN marked_by VARCHAR(16) NOT NULL DEFAULT ''
CREATE INDEX IF NOT EXISTS {p}changes_room ON {p}changes (room_id, change_id)
CREATE TABLE IF NOT EXISTS {p}change_sequence (
  id INTEGER NOT NULL,
  last_position INTEGER NOT NULL,
  pruned_through INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (id)
)
CREATE TABLE IF NOT EXISTS {p}change_cursors (
  endpoint VARCHAR(255) NOT NULL,
  position INTEGER NOT NULL,
  lease_owner VARCHAR(128) NOT NULL DEFAULT '',
  lease_until INTEGER NOT NULL DEFAULT 0,
  failures INT NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL DEFAULT 0,
  last_error TEXT NULL,
  delivered INTEGER NOT NULL DEFAULT 0,
  updated_at INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (endpoint)
)
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON CONFLICT(version) DO NOTHING
-- record a webhook with two targets, then its redelivery from another replica
BEGIN
INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at, payload) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(webhook_id) DO NOTHING
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?) ON CONFLICT(kind, scope_id, object_id) DO UPDATE SET first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE excluded.first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN excluded.next_attempt_at WHEN attempts > 0 THEN next_attempt_at ELSE MIN(MAX(next_attempt_at, excluded.next_attempt_at), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
COMMIT
BEGIN
INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at, payload) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(webhook_id) DO NOTHING
COMMIT
-- record a presence webhook (its session row) and the other targets
BEGIN
INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at, payload) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(webhook_id) DO NOTHING
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?) ON CONFLICT(kind, scope_id, object_id) DO UPDATE SET first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE excluded.first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN excluded.next_attempt_at WHEN attempts > 0 THEN next_attempt_at ELSE MIN(MAX(next_attempt_at, excluded.next_attempt_at), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
UPDATE {p}room_sessions SET entered_at = ?, entered_known = 1, user_id = ?, user_info = ? WHERE room_id = ? AND connection_id = ? AND entered_known = 0 AND entered_at >= ?
INSERT INTO {p}room_sessions (room_id, connection_id, entered_at, entered_known, user_id, user_info, left_at) VALUES (?, ?, ?, 1, ?, ?, NULL) ON CONFLICT(room_id, connection_id, entered_at) DO UPDATE SET entered_known = 1
COMMIT
BEGIN
INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at, payload) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(webhook_id) DO NOTHING
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?) ON CONFLICT(kind, scope_id, object_id) DO UPDATE SET first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE excluded.first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN excluded.next_attempt_at WHEN attempts > 0 THEN next_attempt_at ELSE MIN(MAX(next_attempt_at, excluded.next_attempt_at), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
COMMIT
-- claim
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('room', 'storage', 'ydoc', 'presence', 'thread', 'notification') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
-- renew
UPDATE {p}targets SET lease_until = ? WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
-- complete every kind of row in one batch
BEGIN
SELECT room_id, storage_key FROM {p}flow_nodes WHERE room_id IN (?) UNION SELECT room_id, storage_key FROM {p}flow_edges WHERE room_id IN (?)
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}notifications (inbox_notification_id, user_id, kind, room_id, thread_id, subject_id, notified_at, read_at, data, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(inbox_notification_id) DO UPDATE SET user_id = excluded.user_id, kind = excluded.kind, room_id = excluded.room_id, thread_id = excluded.thread_id, subject_id = excluded.subject_id, notified_at = excluded.notified_at, read_at = excluded.read_at, data = excluded.data, synced_at = excluded.synced_at, deleted_at = NULL
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
DELETE FROM {p}active_users WHERE room_id = ?
INSERT INTO {p}active_users (room_id, connection_id, user_id, user_info, synced_at) VALUES (?, ?, ?, ?, ?)
UPDATE {p}rooms SET active_users = ? WHERE room_id = ?
INSERT INTO {p}rooms (room_id, active_users, synced_at) VALUES (?, ?, ?) ON CONFLICT(room_id) DO UPDATE SET active_users = excluded.active_users
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?) ON CONFLICT(kind, scope_id, object_id) DO UPDATE SET first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE excluded.first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN excluded.next_attempt_at WHEN attempts > 0 THEN next_attempt_at ELSE MIN(MAX(next_attempt_at, excluded.next_attempt_at), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
UPDATE {p}targets SET next_attempt_at = CASE WHEN dirty_seq > done_seq THEN MIN(next_attempt_at, ?) ELSE ? END, first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE ? END, dirty_seq = dirty_seq + 1 WHERE kind IN ('presence', 'storage', 'thread', 'ydoc') AND scope_id = ? AND EXISTS (SELECT 1 FROM {p}rooms WHERE room_id = ? AND deleted_at IS NOT NULL)
INSERT INTO {p}rooms (room_id, organization_id, metadata, default_accesses, users_accesses, groups_accesses, created_at, last_connection_at, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(room_id) DO UPDATE SET organization_id = excluded.organization_id, metadata = excluded.metadata, default_accesses = excluded.default_accesses, users_accesses = excluded.users_accesses, groups_accesses = excluded.groups_accesses, created_at = excluded.created_at, last_connection_at = excluded.last_connection_at, synced_at = excluded.synced_at, deleted_at = NULL
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
DELETE FROM {p}flow_nodes WHERE room_id = ? AND storage_key = ?
DELETE FROM {p}flow_edges WHERE room_id = ? AND storage_key = ?
INSERT INTO {p}flow_nodes (room_id, storage_key, node_id, type, position_x, position_y, data, node, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
INSERT INTO {p}flow_edges (room_id, storage_key, edge_id, type, source, target, data, edge, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}threads (thread_id, room_id, metadata, resolved, visibility, created_at, updated_at, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(thread_id) DO UPDATE SET room_id = excluded.room_id, metadata = excluded.metadata, resolved = excluded.resolved, visibility = excluded.visibility, created_at = excluded.created_at, updated_at = excluded.updated_at, synced_at = excluded.synced_at, deleted_at = NULL
INSERT INTO {p}comments (comment_id, thread_id, room_id, user_id, body, body_text, metadata, attachments, created_at, edited_at, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(comment_id) DO UPDATE SET thread_id = excluded.thread_id, room_id = excluded.room_id, user_id = excluded.user_id, body = excluded.body, body_text = excluded.body_text, metadata = excluded.metadata, attachments = excluded.attachments, created_at = excluded.created_at, edited_at = excluded.edited_at, synced_at = excluded.synced_at, deleted_at = excluded.deleted_at
UPDATE {p}comments SET deleted_at = ? WHERE thread_id = ? AND deleted_at IS NULL AND comment_id NOT IN (?)
DELETE FROM {p}comment_reactions WHERE thread_id = ?
INSERT INTO {p}comment_reactions (comment_id, emoji, user_id, thread_id, room_id, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(comment_id, emoji, user_id) DO UPDATE SET created_at = excluded.created_at
UPDATE {p}comment_attachments SET deleted_at = ? WHERE thread_id = ? AND synced_at < ? AND deleted_at IS NULL
DELETE FROM {p}search WHERE kind = 'comment' AND thread_id = ?
INSERT INTO {p}search (kind, room_id, thread_id, object_id, text) VALUES ('comment', ?, ?, ?, ?)
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}ydocs (room_id, data, deep_data, text, state, updated_at, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(room_id) DO UPDATE SET updated_at = CASE WHEN state IS excluded.state AND deleted_at IS NULL THEN updated_at ELSE excluded.updated_at END, data = excluded.data, deep_data = excluded.deep_data, text = excluded.text, state = excluded.state, synced_at = excluded.synced_at, deleted_at = NULL
DELETE FROM {p}search WHERE kind = 'ydoc' AND object_id = ?
INSERT INTO {p}search (kind, room_id, thread_id, object_id, text) VALUES ('ydoc', ?, '', ?, ?)
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?) ON CONFLICT(kind, scope_id, object_id) DO UPDATE SET first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE excluded.first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN excluded.next_attempt_at WHEN attempts > 0 THEN next_attempt_at ELSE MIN(MAX(next_attempt_at, excluded.next_attempt_at), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
INSERT INTO {p}documents (room_id, data, deep_data, synced_at, deleted_at, updated_at) VALUES (?, ?, ?, ?, NULL, ?) ON CONFLICT(room_id) DO UPDATE SET updated_at = CASE WHEN data IS excluded.data AND deep_data IS excluded.deep_data AND deleted_at IS NULL THEN updated_at ELSE excluded.updated_at END, data = excluded.data, deep_data = excluded.deep_data, synced_at = excluded.synced_at, deleted_at = NULL
COMMIT
-- a pass marks a user's inbox; its listing replaces the user's notifications
BEGIN
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at, marked_by) VALUES (?, ?, ?, 1, 0, ?, ?, ?) ON CONFLICT(kind, scope_id, object_id) DO UPDATE SET first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE excluded.first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN excluded.next_attempt_at WHEN attempts > 0 THEN next_attempt_at ELSE MIN(MAX(next_attempt_at, excluded.next_attempt_at), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = excluded.marked_by, dirty_seq = dirty_seq + 1
COMMIT
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('inbox') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
BEGIN
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}notifications (inbox_notification_id, user_id, kind, room_id, thread_id, subject_id, notified_at, read_at, data, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(inbox_notification_id) DO UPDATE SET user_id = excluded.user_id, kind = excluded.kind, room_id = excluded.room_id, thread_id = excluded.thread_id, subject_id = excluded.subject_id, notified_at = excluded.notified_at, read_at = excluded.read_at, data = excluded.data, synced_at = excluded.synced_at, deleted_at = NULL
UPDATE {p}notifications SET deleted_at = ? WHERE user_id = ? AND synced_at < ? AND deleted_at IS NULL
COMMIT
-- a pass reads the project's groups; they and their members become the listing
BEGIN
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at, marked_by) VALUES (?, ?, ?, 1, 0, ?, ?, ?) ON CONFLICT(kind, scope_id, object_id) DO UPDATE SET first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE excluded.first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN excluded.next_attempt_at WHEN attempts > 0 THEN next_attempt_at ELSE MIN(MAX(next_attempt_at, excluded.next_attempt_at), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = excluded.marked_by, dirty_seq = dirty_seq + 1
COMMIT
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('groups') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
BEGIN
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}groups (group_id, organization_id, scopes, created_at, updated_at, data, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(group_id) DO UPDATE SET organization_id = excluded.organization_id, scopes = excluded.scopes, created_at = excluded.created_at, updated_at = excluded.updated_at, data = excluded.data, synced_at = excluded.synced_at, deleted_at = NULL
DELETE FROM {p}group_members WHERE group_id = ?
INSERT INTO {p}group_members (group_id, user_id, added_at, synced_at) VALUES (?, ?, ?, ?) ON CONFLICT(group_id, user_id) DO UPDATE SET added_at = excluded.added_at, synced_at = excluded.synced_at
DELETE FROM {p}group_members WHERE group_id IN (SELECT group_id FROM {p}groups WHERE synced_at < ?)
UPDATE {p}groups SET deleted_at = ? WHERE synced_at < ? AND deleted_at IS NULL
COMMIT
-- a pass reads a room's version history; new versions' content is marked to be read
BEGIN
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at, marked_by) VALUES (?, ?, ?, 1, 0, ?, ?, ?) ON CONFLICT(kind, scope_id, object_id) DO UPDATE SET first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE excluded.first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN excluded.next_attempt_at WHEN attempts > 0 THEN next_attempt_at ELSE MIN(MAX(next_attempt_at, excluded.next_attempt_at), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = excluded.marked_by, dirty_seq = dirty_seq + 1
COMMIT
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('versions') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
BEGIN
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}room_versions (room_id, version_id, created_at, authors, data, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(room_id, version_id) DO UPDATE SET created_at = excluded.created_at, authors = excluded.authors, data = excluded.data, synced_at = excluded.synced_at, deleted_at = NULL
UPDATE {p}room_versions SET deleted_at = ? WHERE room_id = ? AND synced_at < ? AND deleted_at IS NULL
UPDATE {p}room_version_ydocs SET deleted_at = ? WHERE room_id = ? AND synced_at < ? AND deleted_at IS NULL
SELECT v.version_id FROM {p}room_versions v LEFT JOIN {p}room_version_ydocs y ON y.room_id = v.room_id AND y.version_id = v.version_id WHERE v.room_id = ? AND v.deleted_at IS NULL AND y.version_id IS NULL
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?) ON CONFLICT(kind, scope_id, object_id) DO UPDATE SET first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE excluded.first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN excluded.next_attempt_at WHEN attempts > 0 THEN next_attempt_at ELSE MIN(MAX(next_attempt_at, excluded.next_attempt_at), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
COMMIT
-- a pass reads a room's feeds (each feed's messages marked) and a thread's followers
BEGIN
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at, marked_by) VALUES (?, ?, ?, 1, 0, ?, ?, ?) ON CONFLICT(kind, scope_id, object_id) DO UPDATE SET first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE excluded.first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN excluded.next_attempt_at WHEN attempts > 0 THEN next_attempt_at ELSE MIN(MAX(next_attempt_at, excluded.next_attempt_at), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = excluded.marked_by, dirty_seq = dirty_seq + 1
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at, marked_by) VALUES (?, ?, ?, 1, 0, ?, ?, ?) ON CONFLICT(kind, scope_id, object_id) DO UPDATE SET first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE excluded.first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN excluded.next_attempt_at WHEN attempts > 0 THEN next_attempt_at ELSE MIN(MAX(next_attempt_at, excluded.next_attempt_at), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = excluded.marked_by, dirty_seq = dirty_seq + 1
COMMIT
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('feeds', 'thread_subs') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
BEGIN
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}feeds (room_id, feed_id, metadata, created_at_ms, updated_at_ms, data, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(room_id, feed_id) DO UPDATE SET metadata = excluded.metadata, created_at_ms = excluded.created_at_ms, updated_at_ms = excluded.updated_at_ms, data = excluded.data, synced_at = excluded.synced_at, deleted_at = NULL
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?) ON CONFLICT(kind, scope_id, object_id) DO UPDATE SET first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE excluded.first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN excluded.next_attempt_at WHEN attempts > 0 THEN next_attempt_at ELSE MIN(MAX(next_attempt_at, excluded.next_attempt_at), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
UPDATE {p}feeds SET deleted_at = ? WHERE room_id = ? AND synced_at < ? AND deleted_at IS NULL
UPDATE {p}feed_messages SET deleted_at = ? WHERE room_id = ? AND feed_id NOT IN (SELECT feed_id FROM {p}feeds WHERE room_id = ? AND deleted_at IS NULL) AND deleted_at IS NULL
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}thread_subscriptions (thread_id, user_id, room_id, kind, created_at, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(thread_id, user_id) DO UPDATE SET room_id = excluded.room_id, kind = excluded.kind, created_at = excluded.created_at, synced_at = excluded.synced_at, deleted_at = NULL
UPDATE {p}thread_subscriptions SET deleted_at = ? WHERE thread_id = ? AND synced_at < ? AND deleted_at IS NULL
COMMIT
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('feed_messages') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
BEGIN
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}feed_messages (room_id, feed_id, message_id, data, created_at_ms, updated_at_ms, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON CONFLICT(room_id, feed_id, message_id) DO UPDATE SET data = excluded.data, created_at_ms = excluded.created_at_ms, updated_at_ms = excluded.updated_at_ms, synced_at = excluded.synced_at, deleted_at = NULL
UPDATE {p}feed_messages SET deleted_at = ? WHERE room_id = ? AND feed_id = ? AND synced_at < ? AND deleted_at IS NULL
COMMIT
-- fail, then release
BEGIN
INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at, payload) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(webhook_id) DO NOTHING
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?) ON CONFLICT(kind, scope_id, object_id) DO UPDATE SET first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE excluded.first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN excluded.next_attempt_at WHEN attempts > 0 THEN next_attempt_at ELSE MIN(MAX(next_attempt_at, excluded.next_attempt_at), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
COMMIT
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('storage', 'thread') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
UPDATE {p}targets SET lease_owner = '', lease_until = 0, next_attempt_at = ?, last_error = ? WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
UPDATE {p}targets SET lease_owner = '', lease_until = 0, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
-- every kind of deletion, the room last
BEGIN
INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at, payload) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(webhook_id) DO NOTHING
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?) ON CONFLICT(kind, scope_id, object_id) DO UPDATE SET first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE excluded.first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN excluded.next_attempt_at WHEN attempts > 0 THEN next_attempt_at ELSE MIN(MAX(next_attempt_at, excluded.next_attempt_at), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
COMMIT
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('room', 'storage', 'ydoc', 'presence', 'thread', 'notification') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
BEGIN
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
UPDATE {p}notifications SET deleted_at = ? WHERE inbox_notification_id = ? AND deleted_at IS NULL
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}rooms (room_id, synced_at, deleted_at) VALUES (?, ?, ?) ON CONFLICT(room_id) DO UPDATE SET deleted_at = COALESCE(deleted_at, excluded.deleted_at), synced_at = excluded.synced_at
UPDATE {p}documents SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL
UPDATE {p}ydocs SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL
UPDATE {p}threads SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL
UPDATE {p}comments SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL
UPDATE {p}comment_attachments SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL
UPDATE {p}thread_subscriptions SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL
UPDATE {p}room_versions SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL
UPDATE {p}room_version_ydocs SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL
UPDATE {p}feeds SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL
UPDATE {p}feed_messages SET deleted_at = ? WHERE room_id = ? AND deleted_at IS NULL
DELETE FROM {p}comment_reactions WHERE room_id = ?
DELETE FROM {p}active_users WHERE room_id = ?
DELETE FROM {p}flow_nodes WHERE room_id = ?
DELETE FROM {p}flow_edges WHERE room_id = ?
DELETE FROM {p}search WHERE room_id = ?
UPDATE {p}rooms SET active_users = 0 WHERE room_id = ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = '', lease_until = 0, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, next_attempt_at = CASE WHEN dirty_seq > done_seq THEN MIN(next_attempt_at, ?) ELSE ? END, first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE ? END, dirty_seq = dirty_seq + 1 WHERE kind IN ('presence', 'storage', 'thread', 'ydoc') AND scope_id = ? AND lease_until > 0
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
SELECT fence, lease_until, done_seq FROM {p}targets WHERE kind = ? AND scope_id = ? AND object_id = ?
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
SELECT fence, lease_until, done_seq FROM {p}targets WHERE kind = ? AND scope_id = ? AND object_id = ?
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
SELECT fence, lease_until, done_seq FROM {p}targets WHERE kind = ? AND scope_id = ? AND object_id = ?
COMMIT
-- search
SELECT kind, room_id, thread_id, object_id, text FROM {p}search WHERE {p}search MATCH ? ORDER BY rank LIMIT ?
