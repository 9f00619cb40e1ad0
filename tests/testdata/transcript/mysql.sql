-- migrate
CREATE TABLE IF NOT EXISTS {p}schema_migrations (version INT NOT NULL, description VARCHAR(255) NOT NULL, applied_at DATETIME(3) NOT NULL, PRIMARY KEY (version)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
SELECT MAX(version) FROM {p}schema_migrations
CREATE TABLE IF NOT EXISTS {p}events (
  webhook_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  type VARCHAR(64) NOT NULL,
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  webhook_timestamp BIGINT NOT NULL,
  received_at DATETIME(3) NOT NULL,
  payload JSON NOT NULL,
  PRIMARY KEY (webhook_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}targets (
  kind VARCHAR(16) NOT NULL,
  scope_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  object_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT '',
  dirty_seq BIGINT NOT NULL,
  done_seq BIGINT NOT NULL DEFAULT 0,
  fence BIGINT NOT NULL DEFAULT 0,
  lease_owner VARCHAR(128) NOT NULL DEFAULT '',
  lease_until BIGINT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL,
  attempts INT NOT NULL DEFAULT 0,
  first_dirty_at BIGINT NOT NULL,
  last_success_at BIGINT NULL,
  last_error LONGTEXT NULL,
  PRIMARY KEY (kind, scope_id, object_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}documents (
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL PRIMARY KEY,
  data JSON NOT NULL,
  updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
    ON UPDATE CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?
ALTER TABLE {p}documents ADD COLUMN synced_at DATETIME(3) NULL
SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?
ALTER TABLE {p}documents ADD COLUMN deleted_at DATETIME(3) NULL
CREATE TABLE IF NOT EXISTS {p}ydocs (
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  data JSON NOT NULL,
  text LONGTEXT NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  synced_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (room_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}rooms (
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  organization_id VARCHAR(255) NULL,
  metadata JSON NULL,
  default_accesses JSON NULL,
  users_accesses JSON NULL,
  groups_accesses JSON NULL,
  created_at DATETIME(3) NULL,
  last_connection_at DATETIME(3) NULL,
  synced_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (room_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}events_received_at ON {p}events (received_at)
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}events_room ON {p}events (room_id, received_at)
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}targets_due ON {p}targets (next_attempt_at)
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE version = version
CREATE TABLE IF NOT EXISTS {p}threads (
  thread_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  metadata JSON NOT NULL,
  resolved INT NOT NULL,
  visibility VARCHAR(16) NOT NULL,
  created_at DATETIME(3) NULL,
  updated_at DATETIME(3) NULL,
  synced_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (thread_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}comments (
  comment_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  thread_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  user_id VARCHAR(255) NULL,
  body JSON NULL,
  body_text LONGTEXT NOT NULL,
  metadata JSON NOT NULL,
  attachments JSON NOT NULL,
  created_at DATETIME(3) NULL,
  edited_at DATETIME(3) NULL,
  synced_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (comment_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}comment_reactions (
  comment_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  emoji VARCHAR(64) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  user_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  thread_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  created_at DATETIME(3) NULL,
  PRIMARY KEY (comment_id, emoji, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}notifications (
  inbox_notification_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  user_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  kind VARCHAR(128) NOT NULL,
  room_id VARCHAR(255) NULL,
  thread_id VARCHAR(255) NULL,
  subject_id VARCHAR(255) NULL,
  notified_at DATETIME(3) NULL,
  read_at DATETIME(3) NULL,
  data JSON NOT NULL,
  synced_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (inbox_notification_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}active_users (
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  connection_id BIGINT NOT NULL,
  user_id VARCHAR(255) NULL,
  user_info JSON NULL,
  synced_at DATETIME(3) NOT NULL,
  PRIMARY KEY (room_id, connection_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}room_sessions (
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  connection_id BIGINT NOT NULL,
  entered_at DATETIME(3) NOT NULL,
  entered_known INT NOT NULL,
  user_id VARCHAR(255) NULL,
  user_info JSON NULL,
  left_at DATETIME(3) NULL,
  PRIMARY KEY (room_id, connection_id, entered_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}flow_nodes (
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  storage_key VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  node_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  type VARCHAR(255) NULL,
  position_x DOUBLE NULL,
  position_y DOUBLE NULL,
  data JSON NULL,
  node JSON NOT NULL,
  synced_at DATETIME(3) NOT NULL,
  PRIMARY KEY (room_id, storage_key, node_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}flow_edges (
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  storage_key VARCHAR(128) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  edge_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  type VARCHAR(255) NULL,
  source VARCHAR(255) NULL,
  target VARCHAR(255) NULL,
  data JSON NULL,
  edge JSON NOT NULL,
  synced_at DATETIME(3) NOT NULL,
  PRIMARY KEY (room_id, storage_key, edge_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?
ALTER TABLE {p}rooms ADD COLUMN active_users INT NULL
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}threads_room ON {p}threads (room_id)
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}comments_thread ON {p}comments (thread_id)
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}comments_room ON {p}comments (room_id)
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}reactions_thread ON {p}comment_reactions (thread_id)
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}notifications_user ON {p}notifications (user_id, notified_at)
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE FULLTEXT INDEX {p}comments_text ON {p}comments (body_text)
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE FULLTEXT INDEX {p}ydocs_text ON {p}ydocs (text)
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE version = version
SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?
ALTER TABLE {p}ydocs ADD COLUMN state LONGBLOB NULL
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE version = version
CREATE TABLE IF NOT EXISTS {p}checkpoints (
  name VARCHAR(255) NOT NULL,
  value JSON NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE version = version
SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?
ALTER TABLE {p}documents ADD COLUMN deep_data LONGTEXT NULL
SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?
ALTER TABLE {p}ydocs ADD COLUMN deep_data LONGTEXT NULL
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE version = version
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE TABLE IF NOT EXISTS {p}comment_attachments (
  attachment_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  comment_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  thread_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  name LONGTEXT NOT NULL,
  size BIGINT NULL,
  mime_type VARCHAR(255) NULL,
  synced_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (attachment_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}comment_attachments_thread ON {p}comment_attachments (thread_id)
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}comment_attachments_room ON {p}comment_attachments (room_id)
CREATE TABLE IF NOT EXISTS {p}groups (
  group_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  organization_id VARCHAR(255) NOT NULL,
  scopes JSON NOT NULL,
  created_at DATETIME(3) NULL,
  updated_at DATETIME(3) NULL,
  data JSON NOT NULL,
  synced_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (group_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}group_members (
  group_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  user_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  added_at DATETIME(3) NULL,
  synced_at DATETIME(3) NOT NULL,
  PRIMARY KEY (group_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}group_members_user ON {p}group_members (user_id)
CREATE TABLE IF NOT EXISTS {p}room_versions (
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  version_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  created_at DATETIME(3) NULL,
  authors JSON NOT NULL,
  data JSON NOT NULL,
  synced_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (room_id, version_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}room_version_ydocs (
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  version_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  data JSON NOT NULL,
  deep_data LONGTEXT NULL,
  text LONGTEXT NOT NULL,
  state LONGBLOB NOT NULL,
  synced_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (room_id, version_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE version = version
CREATE TABLE IF NOT EXISTS {p}notification_settings (
  user_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  settings JSON NOT NULL,
  synced_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}room_subscription_settings (
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  user_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  threads VARCHAR(64) NOT NULL,
  text_mentions VARCHAR(64) NOT NULL,
  synced_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (room_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}room_subscription_settings_user ON {p}room_subscription_settings (user_id)
CREATE TABLE IF NOT EXISTS {p}thread_subscriptions (
  thread_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  user_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  kind VARCHAR(64) NOT NULL,
  created_at DATETIME(3) NULL,
  synced_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (thread_id, user_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}thread_subscriptions_room ON {p}thread_subscriptions (room_id)
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}thread_subscriptions_user ON {p}thread_subscriptions (user_id)
CREATE TABLE IF NOT EXISTS {p}feeds (
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  feed_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  metadata JSON NOT NULL,
  created_at_ms BIGINT NULL,
  updated_at_ms BIGINT NULL,
  data JSON NOT NULL,
  synced_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (room_id, feed_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}feed_messages (
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  feed_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  message_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  data JSON NOT NULL,
  created_at_ms BIGINT NULL,
  updated_at_ms BIGINT NULL,
  synced_at DATETIME(3) NOT NULL,
  deleted_at DATETIME(3) NULL,
  PRIMARY KEY (room_id, feed_id, message_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE version = version
CREATE TABLE IF NOT EXISTS {p}changes (
  change_id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  position BIGINT NULL,
  committed_at BIGINT NOT NULL,
  kind VARCHAR(32) NOT NULL,
  op VARCHAR(8) NOT NULL,
  room_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL,
  entity_key LONGTEXT NOT NULL,
  cause JSON NOT NULL,
  payload JSON NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}changes_position ON {p}changes (position)
SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND COLUMN_NAME = ?
ALTER TABLE {p}targets ADD COLUMN marked_by VARCHAR(16) NOT NULL DEFAULT ''
SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = ? AND INDEX_NAME = ?
CREATE INDEX {p}changes_room ON {p}changes (room_id, change_id)
CREATE TABLE IF NOT EXISTS {p}change_sequence (
  id INTEGER NOT NULL,
  last_position BIGINT NOT NULL,
  pruned_through BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
CREATE TABLE IF NOT EXISTS {p}change_cursors (
  endpoint VARCHAR(255) NOT NULL,
  position BIGINT NOT NULL,
  lease_owner VARCHAR(128) NOT NULL DEFAULT '',
  lease_until BIGINT NOT NULL DEFAULT 0,
  failures INT NOT NULL DEFAULT 0,
  next_attempt_at BIGINT NOT NULL DEFAULT 0,
  last_error LONGTEXT NULL,
  delivered BIGINT NOT NULL DEFAULT 0,
  updated_at BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (endpoint)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin
INSERT INTO {p}schema_migrations (version, description, applied_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE version = version
-- record a webhook with two targets, then its redelivery from another replica
BEGIN
INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at, payload) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE webhook_id = webhook_id
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?) ON DUPLICATE KEY UPDATE first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE VALUES(first_dirty_at) END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN VALUES(next_attempt_at) WHEN attempts > 0 THEN next_attempt_at ELSE LEAST(GREATEST(next_attempt_at, VALUES(next_attempt_at)), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
COMMIT
BEGIN
INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at, payload) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE webhook_id = webhook_id
COMMIT
-- record a presence webhook (its session row) and the other targets
BEGIN
INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at, payload) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE webhook_id = webhook_id
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?) ON DUPLICATE KEY UPDATE first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE VALUES(first_dirty_at) END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN VALUES(next_attempt_at) WHEN attempts > 0 THEN next_attempt_at ELSE LEAST(GREATEST(next_attempt_at, VALUES(next_attempt_at)), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
UPDATE {p}room_sessions SET entered_at = ?, entered_known = 1, user_id = ?, user_info = ? WHERE room_id = ? AND connection_id = ? AND entered_known = 0 AND entered_at >= ?
INSERT INTO {p}room_sessions (room_id, connection_id, entered_at, entered_known, user_id, user_info, left_at) VALUES (?, ?, ?, 1, ?, ?, NULL) ON DUPLICATE KEY UPDATE entered_known = 1
COMMIT
BEGIN
INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at, payload) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE webhook_id = webhook_id
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?) ON DUPLICATE KEY UPDATE first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE VALUES(first_dirty_at) END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN VALUES(next_attempt_at) WHEN attempts > 0 THEN next_attempt_at ELSE LEAST(GREATEST(next_attempt_at, VALUES(next_attempt_at)), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
COMMIT
-- claim
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('room', 'storage', 'ydoc', 'presence', 'thread', 'notification') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
-- renew
UPDATE {p}targets SET lease_until = ? WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
-- complete every kind of row in one batch
SELECT JSON_VALID(?)
SELECT JSON_VALID(?)
SELECT JSON_VALID(?)
SELECT JSON_VALID(?)
SELECT JSON_VALID(?)
SELECT JSON_VALID(?)
SELECT JSON_VALID(?)
SELECT JSON_VALID(?)
SELECT JSON_VALID(?)
SELECT JSON_VALID(?)
SELECT JSON_VALID(?)
SELECT JSON_VALID(?)
SELECT JSON_VALID(?)
BEGIN
SELECT room_id, storage_key FROM {p}flow_nodes WHERE room_id IN (?) UNION SELECT room_id, storage_key FROM {p}flow_edges WHERE room_id IN (?)
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}notifications (inbox_notification_id, user_id, kind, room_id, thread_id, subject_id, notified_at, read_at, data, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON DUPLICATE KEY UPDATE user_id = VALUES(user_id), kind = VALUES(kind), room_id = VALUES(room_id), thread_id = VALUES(thread_id), subject_id = VALUES(subject_id), notified_at = VALUES(notified_at), read_at = VALUES(read_at), data = VALUES(data), synced_at = VALUES(synced_at), deleted_at = NULL
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
DELETE FROM {p}active_users WHERE room_id = ?
INSERT INTO {p}active_users (room_id, connection_id, user_id, user_info, synced_at) VALUES (?, ?, ?, ?, ?)
UPDATE {p}rooms SET active_users = ? WHERE room_id = ?
INSERT INTO {p}rooms (room_id, active_users, synced_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE active_users = VALUES(active_users)
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?) ON DUPLICATE KEY UPDATE first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE VALUES(first_dirty_at) END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN VALUES(next_attempt_at) WHEN attempts > 0 THEN next_attempt_at ELSE LEAST(GREATEST(next_attempt_at, VALUES(next_attempt_at)), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
UPDATE {p}targets SET next_attempt_at = CASE WHEN dirty_seq > done_seq THEN LEAST(next_attempt_at, ?) ELSE ? END, first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE ? END, dirty_seq = dirty_seq + 1 WHERE kind IN ('presence', 'storage', 'thread', 'ydoc') AND scope_id = ? AND EXISTS (SELECT 1 FROM {p}rooms WHERE room_id = ? AND deleted_at IS NOT NULL)
INSERT INTO {p}rooms (room_id, organization_id, metadata, default_accesses, users_accesses, groups_accesses, created_at, last_connection_at, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON DUPLICATE KEY UPDATE organization_id = VALUES(organization_id), metadata = VALUES(metadata), default_accesses = VALUES(default_accesses), users_accesses = VALUES(users_accesses), groups_accesses = VALUES(groups_accesses), created_at = VALUES(created_at), last_connection_at = VALUES(last_connection_at), synced_at = VALUES(synced_at), deleted_at = NULL
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
DELETE FROM {p}flow_nodes WHERE room_id = ? AND storage_key = ?
DELETE FROM {p}flow_edges WHERE room_id = ? AND storage_key = ?
INSERT INTO {p}flow_nodes (room_id, storage_key, node_id, type, position_x, position_y, data, node, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
INSERT INTO {p}flow_edges (room_id, storage_key, edge_id, type, source, target, data, edge, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}threads (thread_id, room_id, metadata, resolved, visibility, created_at, updated_at, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL) ON DUPLICATE KEY UPDATE room_id = VALUES(room_id), metadata = VALUES(metadata), resolved = VALUES(resolved), visibility = VALUES(visibility), created_at = VALUES(created_at), updated_at = VALUES(updated_at), synced_at = VALUES(synced_at), deleted_at = NULL
INSERT INTO {p}comments (comment_id, thread_id, room_id, user_id, body, body_text, metadata, attachments, created_at, edited_at, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE thread_id = VALUES(thread_id), room_id = VALUES(room_id), user_id = VALUES(user_id), body = VALUES(body), body_text = VALUES(body_text), metadata = VALUES(metadata), attachments = VALUES(attachments), created_at = VALUES(created_at), edited_at = VALUES(edited_at), synced_at = VALUES(synced_at), deleted_at = VALUES(deleted_at)
UPDATE {p}comments SET deleted_at = ? WHERE thread_id = ? AND deleted_at IS NULL AND comment_id NOT IN (?)
DELETE FROM {p}comment_reactions WHERE thread_id = ?
INSERT INTO {p}comment_reactions (comment_id, emoji, user_id, thread_id, room_id, created_at) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE created_at = VALUES(created_at)
UPDATE {p}comment_attachments SET deleted_at = ? WHERE thread_id = ? AND synced_at < ? AND deleted_at IS NULL
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}ydocs (room_id, data, deep_data, text, state, updated_at, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON DUPLICATE KEY UPDATE updated_at = CASE WHEN state <=> VALUES(state) AND deleted_at IS NULL THEN updated_at ELSE VALUES(updated_at) END, data = VALUES(data), deep_data = VALUES(deep_data), text = VALUES(text), state = VALUES(state), synced_at = VALUES(synced_at), deleted_at = NULL
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?) ON DUPLICATE KEY UPDATE first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE VALUES(first_dirty_at) END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN VALUES(next_attempt_at) WHEN attempts > 0 THEN next_attempt_at ELSE LEAST(GREATEST(next_attempt_at, VALUES(next_attempt_at)), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
INSERT INTO {p}documents (room_id, data, deep_data, synced_at, deleted_at) VALUES (?, ?, ?, ?, NULL) ON DUPLICATE KEY UPDATE updated_at = CASE WHEN data <=> VALUES(data) AND deep_data <=> VALUES(deep_data) AND deleted_at IS NULL THEN updated_at ELSE CURRENT_TIMESTAMP END, data = VALUES(data), deep_data = VALUES(deep_data), synced_at = VALUES(synced_at), deleted_at = NULL
COMMIT
-- a pass marks a user's inbox; its listing replaces the user's notifications
BEGIN
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at, marked_by) VALUES (?, ?, ?, 1, 0, ?, ?, ?) ON DUPLICATE KEY UPDATE first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE VALUES(first_dirty_at) END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN VALUES(next_attempt_at) WHEN attempts > 0 THEN next_attempt_at ELSE LEAST(GREATEST(next_attempt_at, VALUES(next_attempt_at)), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = VALUES(marked_by), dirty_seq = dirty_seq + 1
COMMIT
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('inbox') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
BEGIN
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}notifications (inbox_notification_id, user_id, kind, room_id, thread_id, subject_id, notified_at, read_at, data, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL) ON DUPLICATE KEY UPDATE user_id = VALUES(user_id), kind = VALUES(kind), room_id = VALUES(room_id), thread_id = VALUES(thread_id), subject_id = VALUES(subject_id), notified_at = VALUES(notified_at), read_at = VALUES(read_at), data = VALUES(data), synced_at = VALUES(synced_at), deleted_at = NULL
UPDATE {p}notifications SET deleted_at = ? WHERE user_id = ? AND synced_at < ? AND deleted_at IS NULL
COMMIT
-- a pass reads the project's groups; they and their members become the listing
BEGIN
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at, marked_by) VALUES (?, ?, ?, 1, 0, ?, ?, ?) ON DUPLICATE KEY UPDATE first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE VALUES(first_dirty_at) END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN VALUES(next_attempt_at) WHEN attempts > 0 THEN next_attempt_at ELSE LEAST(GREATEST(next_attempt_at, VALUES(next_attempt_at)), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = VALUES(marked_by), dirty_seq = dirty_seq + 1
COMMIT
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('groups') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
BEGIN
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}groups (group_id, organization_id, scopes, created_at, updated_at, data, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON DUPLICATE KEY UPDATE organization_id = VALUES(organization_id), scopes = VALUES(scopes), created_at = VALUES(created_at), updated_at = VALUES(updated_at), data = VALUES(data), synced_at = VALUES(synced_at), deleted_at = NULL
DELETE FROM {p}group_members WHERE group_id = ?
INSERT INTO {p}group_members (group_id, user_id, added_at, synced_at) VALUES (?, ?, ?, ?) ON DUPLICATE KEY UPDATE added_at = VALUES(added_at), synced_at = VALUES(synced_at)
DELETE FROM {p}group_members WHERE group_id IN (SELECT group_id FROM {p}groups WHERE synced_at < ?)
UPDATE {p}groups SET deleted_at = ? WHERE synced_at < ? AND deleted_at IS NULL
COMMIT
-- a pass reads a room's version history; new versions' content is marked to be read
BEGIN
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at, marked_by) VALUES (?, ?, ?, 1, 0, ?, ?, ?) ON DUPLICATE KEY UPDATE first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE VALUES(first_dirty_at) END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN VALUES(next_attempt_at) WHEN attempts > 0 THEN next_attempt_at ELSE LEAST(GREATEST(next_attempt_at, VALUES(next_attempt_at)), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = VALUES(marked_by), dirty_seq = dirty_seq + 1
COMMIT
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('versions') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
BEGIN
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}room_versions (room_id, version_id, created_at, authors, data, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, NULL) ON DUPLICATE KEY UPDATE created_at = VALUES(created_at), authors = VALUES(authors), data = VALUES(data), synced_at = VALUES(synced_at), deleted_at = NULL
UPDATE {p}room_versions SET deleted_at = ? WHERE room_id = ? AND synced_at < ? AND deleted_at IS NULL
UPDATE {p}room_version_ydocs SET deleted_at = ? WHERE room_id = ? AND synced_at < ? AND deleted_at IS NULL
SELECT v.version_id FROM {p}room_versions v LEFT JOIN {p}room_version_ydocs y ON y.room_id = v.room_id AND y.version_id = v.version_id WHERE v.room_id = ? AND v.deleted_at IS NULL AND y.version_id IS NULL
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?) ON DUPLICATE KEY UPDATE first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE VALUES(first_dirty_at) END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN VALUES(next_attempt_at) WHEN attempts > 0 THEN next_attempt_at ELSE LEAST(GREATEST(next_attempt_at, VALUES(next_attempt_at)), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
COMMIT
-- a pass reads a room's feeds (each feed's messages marked) and a thread's followers
BEGIN
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at, marked_by) VALUES (?, ?, ?, 1, 0, ?, ?, ?) ON DUPLICATE KEY UPDATE first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE VALUES(first_dirty_at) END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN VALUES(next_attempt_at) WHEN attempts > 0 THEN next_attempt_at ELSE LEAST(GREATEST(next_attempt_at, VALUES(next_attempt_at)), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = VALUES(marked_by), dirty_seq = dirty_seq + 1
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at, marked_by) VALUES (?, ?, ?, 1, 0, ?, ?, ?) ON DUPLICATE KEY UPDATE first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE VALUES(first_dirty_at) END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN VALUES(next_attempt_at) WHEN attempts > 0 THEN next_attempt_at ELSE LEAST(GREATEST(next_attempt_at, VALUES(next_attempt_at)), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = VALUES(marked_by), dirty_seq = dirty_seq + 1
COMMIT
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('feeds', 'thread_subs') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
BEGIN
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}feeds (room_id, feed_id, metadata, created_at_ms, updated_at_ms, data, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON DUPLICATE KEY UPDATE metadata = VALUES(metadata), created_at_ms = VALUES(created_at_ms), updated_at_ms = VALUES(updated_at_ms), data = VALUES(data), synced_at = VALUES(synced_at), deleted_at = NULL
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?) ON DUPLICATE KEY UPDATE first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE VALUES(first_dirty_at) END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN VALUES(next_attempt_at) WHEN attempts > 0 THEN next_attempt_at ELSE LEAST(GREATEST(next_attempt_at, VALUES(next_attempt_at)), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
UPDATE {p}feeds SET deleted_at = ? WHERE room_id = ? AND synced_at < ? AND deleted_at IS NULL
UPDATE {p}feed_messages SET deleted_at = ? WHERE room_id = ? AND feed_id NOT IN (SELECT feed_id FROM {p}feeds WHERE room_id = ? AND deleted_at IS NULL) AND deleted_at IS NULL
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}thread_subscriptions (thread_id, user_id, room_id, kind, created_at, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, NULL) ON DUPLICATE KEY UPDATE room_id = VALUES(room_id), kind = VALUES(kind), created_at = VALUES(created_at), synced_at = VALUES(synced_at), deleted_at = NULL
UPDATE {p}thread_subscriptions SET deleted_at = ? WHERE thread_id = ? AND synced_at < ? AND deleted_at IS NULL
COMMIT
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('feed_messages') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
BEGIN
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}feed_messages (room_id, feed_id, message_id, data, created_at_ms, updated_at_ms, synced_at, deleted_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL) ON DUPLICATE KEY UPDATE data = VALUES(data), created_at_ms = VALUES(created_at_ms), updated_at_ms = VALUES(updated_at_ms), synced_at = VALUES(synced_at), deleted_at = NULL
UPDATE {p}feed_messages SET deleted_at = ? WHERE room_id = ? AND feed_id = ? AND synced_at < ? AND deleted_at IS NULL
COMMIT
-- fail, then release
BEGIN
INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at, payload) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE webhook_id = webhook_id
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?) ON DUPLICATE KEY UPDATE first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE VALUES(first_dirty_at) END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN VALUES(next_attempt_at) WHEN attempts > 0 THEN next_attempt_at ELSE LEAST(GREATEST(next_attempt_at, VALUES(next_attempt_at)), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
COMMIT
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('storage', 'thread') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
UPDATE {p}targets SET lease_owner = '', lease_until = 0, next_attempt_at = ?, last_error = ? WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
UPDATE {p}targets SET lease_owner = '', lease_until = 0, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
-- every kind of deletion, the room last
BEGIN
INSERT INTO {p}events (webhook_id, type, room_id, webhook_timestamp, received_at, payload) VALUES (?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE webhook_id = webhook_id
INSERT INTO {p}targets (kind, scope_id, object_id, dirty_seq, done_seq, next_attempt_at, first_dirty_at) VALUES (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?), (?, ?, ?, 1, 0, ?, ?) ON DUPLICATE KEY UPDATE first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE VALUES(first_dirty_at) END, next_attempt_at = CASE WHEN dirty_seq <= done_seq THEN VALUES(next_attempt_at) WHEN attempts > 0 THEN next_attempt_at ELSE LEAST(GREATEST(next_attempt_at, VALUES(next_attempt_at)), first_dirty_at + 1) END, attempts = CASE WHEN dirty_seq > done_seq THEN attempts ELSE 0 END, marked_by = CASE WHEN dirty_seq > done_seq THEN marked_by ELSE '' END, dirty_seq = dirty_seq + 1
COMMIT
SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq AND kind IN ('room', 'storage', 'ydoc', 'presence', 'thread', 'notification') ORDER BY next_attempt_at LIMIT ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?, attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND ((kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?) OR (kind = ? AND scope_id = ? AND object_id = ? AND fence = ?))
BEGIN
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
UPDATE {p}notifications SET deleted_at = ? WHERE inbox_notification_id = ? AND deleted_at IS NULL
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
INSERT INTO {p}rooms (room_id, synced_at, deleted_at) VALUES (?, ?, ?) ON DUPLICATE KEY UPDATE deleted_at = COALESCE(deleted_at, VALUES(deleted_at)), synced_at = VALUES(synced_at)
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
UPDATE {p}rooms SET active_users = 0 WHERE room_id = ?
UPDATE {p}targets SET fence = fence + 1, lease_owner = '', lease_until = 0, attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, next_attempt_at = CASE WHEN dirty_seq > done_seq THEN LEAST(next_attempt_at, ?) ELSE ? END, first_dirty_at = CASE WHEN dirty_seq > done_seq THEN first_dirty_at ELSE ? END, dirty_seq = dirty_seq + 1 WHERE kind IN ('presence', 'storage', 'thread', 'ydoc') AND scope_id = ? AND lease_until > 0
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
SELECT fence, lease_until, done_seq FROM {p}targets WHERE kind = ? AND scope_id = ? AND object_id = ?
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
SELECT fence, lease_until, done_seq FROM {p}targets WHERE kind = ? AND scope_id = ? AND object_id = ?
UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0, last_error = NULL, last_success_at = ?, first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END, next_attempt_at = CASE WHEN dirty_seq > ? THEN ? ELSE ? END WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0
SELECT fence, lease_until, done_seq FROM {p}targets WHERE kind = ? AND scope_id = ? AND object_id = ?
COMMIT
-- search
SELECT 'comment', room_id, thread_id, comment_id, body_text, MATCH(body_text) AGAINST (? IN NATURAL LANGUAGE MODE) AS score FROM {p}comments WHERE deleted_at IS NULL AND MATCH(body_text) AGAINST (? IN NATURAL LANGUAGE MODE) UNION ALL SELECT 'ydoc', room_id, '', room_id, text, MATCH(text) AGAINST (? IN NATURAL LANGUAGE MODE) FROM {p}ydocs WHERE deleted_at IS NULL AND MATCH(text) AGAINST (? IN NATURAL LANGUAGE MODE) ORDER BY 6 DESC LIMIT ?
SELECT 'comment', room_id, thread_id, comment_id, body_text FROM {p}comments WHERE deleted_at IS NULL AND body_text LIKE ? UNION ALL SELECT 'ydoc', room_id, '', room_id, text FROM {p}ydocs WHERE deleted_at IS NULL AND text LIKE ? LIMIT ?
