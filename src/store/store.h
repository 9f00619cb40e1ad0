// The store layer's front header. The store is the durable side of lbmirror, seen through
// roles: the Inbox of accepted webhooks (inbox.h), the TargetQueue of dirty targets
// (target_queue.h), and below the mirror's reads, the event log, the operators' views, the
// documents' reads and the schema. A consumer takes the roles it uses; Store is all of them.
// sql::SqlStore (store/sql/sql_store.h) implements them over a ConnectionPool of one backend
// (store/mysql/, store/postgres/ or store/sqlite/). Every method is thread-safe; every failure is
// an Error value (retryable when the database is unreachable or a transaction lost a race).
#pragma once

#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "store/inbox.h"
#include "store/target_queue.h"

namespace lbmirror::store {

struct SearchHit {
  std::string kind;  // "comment" or "ydoc"
  std::string room_id;
  std::string thread_id;  // comments only
  std::string object_id;  // the comment id; the room id for documents
  std::string snippet;    // the matching text around the first match
};

// What the mirror holds of one room's content, for comparison with the API.
struct RoomContent {
  std::optional<std::string> document;    // liveblocks_documents.data (live rows only)
  std::optional<std::string> ydoc_state;  // liveblocks_ydocs.state (live rows only)
  std::map<std::string, std::optional<std::string>> threads;  // live thread id -> updated_at
  std::vector<TargetKind> pending;  // kinds of this room's targets waiting to be read
};

// What the mirror holds of one room, table by table, for operators.
struct RoomTableSummary {
  std::string table;  // without the prefix: "documents", "threads", ...
  int64_t rows = 0;
  int64_t live = 0;                           // rows not marked deleted
  std::optional<std::string> last_synced_at;  // the latest synced_at of its rows
};
struct RoomSummary {
  bool known = false;                     // the room has a row in rooms
  std::optional<std::string> deleted_at;  // of the room
  std::vector<RoomTableSummary> tables;
  std::vector<std::string> live_threads;  // ids of its threads not deleted
  struct Comment {
    std::string thread_id;
    std::string comment_id;
    std::string user_id;
    std::string text;  // the comment's plain text
    std::optional<std::string> created_at;
  };
  std::vector<Comment> latest_comments;  // its 10 latest live comments, newest first
  struct Pending {
    TargetKey key;
    int attempts = 0;
    std::string last_error;
  };
  std::vector<Pending> pending;  // its targets waiting to be read
};

// A target that failed its last attempt, for operators.
struct FailedTarget {
  TargetKey key;
  int attempts = 0;
  std::string last_error;
  int64_t next_attempt_at_ms = 0;
};

struct QueueStatus {
  int64_t pending = 0;                       // targets waiting to be read (dirty)
  int64_t failed = 0;                        // pending targets whose last attempt failed
  std::optional<int64_t> oldest_pending_ms;  // when the longest-waiting target became dirty
  std::vector<FailedTarget> failures;        // the most recent failures first
  struct Counts {
    int64_t pending = 0;
    int64_t failed = 0;
  };
  std::map<std::string, Counts> by_kind;  // pending and failed targets by kind name
};

// A stored webhook, as received.
struct StoredEvent {
  std::string webhook_id;
  std::string type;
  std::string room_id;      // empty when the event has none
  std::string received_at;  // "YYYY-MM-DD HH:MM:SS.mmm" UTC
  std::string payload;      // the body (Postgres: the same JSON value, its own spelling)
};

// Which stored webhooks Events() returns, oldest first.
struct EventFilter {
  std::optional<int64_t> since_ms;  // received at or after (epoch ms)
  std::optional<int64_t> until_ms;  // received before
  std::string type;                 // only this type (empty: any)
  std::string room_id;              // only this room (empty: any)
  int limit = 100;
  // Paging: only events after this one in (received_at, webhook_id) order (before it, when
  // newest_first).
  std::optional<std::pair<std::string, std::string>> after;
  bool newest_first = false;  // the most recent first (the console's log)
};

struct LastEvent {
  std::string type;
  int64_t count = 0;
  std::string last_received_at;  // "YYYY-MM-DD HH:MM:SS.mmm" UTC
};

// The store's roles: each consumer takes the ones it uses. sql::SqlStore plays them all.

// The mirror as reconciliation and backfill read it: the rooms it holds and their content,
// and the progress records of long passes.
class MirrorReads {
 public:
  virtual ~MirrorReads() = default;
  // Live (not deleted) mirrored rooms whose id starts with `prefix`, in id order.
  virtual Result<std::vector<RoomRow>> LiveRooms(std::string_view prefix) = 0;
  virtual Result<RoomContent> Content(std::string_view room_id) = 0;
  // Every user id the mirror's rows name: notification recipients, comment authors, reaction
  // and active users, session users, group members, thread subscribers (no endpoint lists users;
  // rooms' usersAccesses keys are in LiveRooms). Distinct, in no particular order.
  virtual Result<std::vector<std::string>> KnownUsers() = 0;
  // Every live thread whose room is not deleted, as (room id, thread id), in no particular order.
  virtual Result<std::vector<std::pair<std::string, std::string>>> LiveThreads() = 0;
  // Named progress records of long passes (backfill, reconciliation), JSON text.
  virtual Result<std::optional<std::string>> Checkpoint(std::string_view name) = 0;
  virtual Status SetCheckpoint(std::string_view name, std::string_view value) = 0;
};

// The stored webhooks: the audit log.
class EventLog {
 public:
  virtual ~EventLog() = default;
  // Stored webhooks per type with the time of the last one.
  virtual Result<std::vector<LastEvent>> LastEvents() = 0;
  // Stored webhooks by the filter, oldest first (received_at, then webhook_id), or newest first.
  virtual Result<std::vector<StoredEvent>> Events(const EventFilter& filter) = 0;
  // Deletes stored webhooks received before `before_ms` (epoch ms); returns how many.
  virtual Result<int64_t> PruneEvents(int64_t before_ms) = 0;
};

// What operators look at and ask for.
class OperatorViews {
 public:
  virtual ~OperatorViews() = default;
  // Everything mirrored for one room, in counts and times.
  virtual Result<RoomSummary> Summary(std::string_view room_id) = 0;
  // The work queue at a glance; up to `max_failures` failures with their errors.
  virtual Result<QueueStatus> Queue(int max_failures) = 0;
  // Makes targets due now (after fixing what made them fail): `target` alone (a target that
  // is not pending is marked dirty), or, without one, every failed target. Returns how many
  // targets it made due.
  virtual Result<int64_t> RetryNow(const std::optional<TargetKey>& target) = 0;
};

// Mirrored documents read for people: full-text search and the Yjs state.
class DocumentReads {
 public:
  virtual ~DocumentReads() = default;
  // The binary Yjs state last mirrored for a room (nullopt when there is none).
  virtual Result<std::optional<std::string>> YdocState(std::string_view room_id) = 0;
  // Full-text search over comment text and document text (live rows only), best first.
  virtual Result<std::vector<SearchHit>> Search(std::string_view query, int limit) = 0;
};

// The schema and the database's reachability.
class SchemaAdmin {
 public:
  virtual ~SchemaAdmin() = default;
  // Creates or upgrades the tables to the latest schema. Safe to run again and from several
  // processes at once.
  virtual Status Migrate() = 0;
  // The schema version recorded in the database (0 when lbmirror's tables are absent).
  virtual Result<int> SchemaVersion() = 0;
  // Writes the migration SQL (statements ending in ';') without touching the database.
  virtual void PrintMigrations(std::ostream& out) const = 0;
  // Cheap round trip to the database.
  virtual Status Ping() = 0;
};

// One change the mirror made, as the change feed keeps it (sql/change_log.h).
struct Change {
  std::optional<int64_t> position;  // none until the sequencer gives it one
  int64_t committed_at_ms = 0;
  std::string kind;  // "document", "thread", "comment", ...
  std::string op;    // "insert", "update" or "delete"
  std::optional<std::string> room_id;
  std::string entity_key;
  std::string cause;    // JSON
  std::string payload;  // JSON
};

// Which changes a reader wants: kinds among ChangeKinds() (none: all), and rooms whose id
// starts with `room_prefix` (empty: all, changes without a room included).
struct ChangeFilter {
  std::vector<std::string> kinds;
  std::string room_prefix;
};
// The kinds of change the feed holds ("room", "document", "comment", ...).
const std::vector<std::string_view>& ChangeKinds();

// One round of an endpoint's delivery (ChangeFeed::SaveCursor).
struct CursorUpdate {
  int64_t position = 0;
  int64_t delivered = 0;
  std::optional<std::string> error;
  int64_t next_attempt_at_ms = 0;
};
// An endpoint's cursor as stored.
struct CursorState {
  std::string endpoint;
  int64_t position = 0;
  std::string lease_owner;
  int64_t lease_until_ms = 0;
  int failures = 0;  // in a row
  int64_t next_attempt_at_ms = 0;
  std::optional<std::string> last_error;
  int64_t delivered = 0;  // in all
  int64_t updated_at_ms = 0;
};
struct ForwardingStatus {
  int64_t head = 0;  // the newest position given
  std::vector<CursorState> cursors;
};

// The change feed: positions given to committed changes, and the changes after a position.
// Any process may sequence; they take turns.
class ChangeFeed {
 public:
  virtual ~ChangeFeed() = default;
  // One sequencing transaction: up to `limit` committed changes get the next positions.
  virtual Result<int64_t> SequenceChanges(int limit) = 0;
  // Up to `limit` changes after position `after` that `filter` lets through, in position
  // order. A position retention has pruned past is an error (kInvalidArgument) naming where
  // to start.
  virtual Result<std::vector<Change>> ReadChanges(int64_t after, int limit,
                                                  const ChangeFilter& filter) = 0;
  // The latest `limit` changes of a room, newest first (those not sequenced yet included, without
  // a position): the room's audit trail.
  virtual Result<std::vector<Change>> RoomChanges(std::string_view room_id, int limit) = 0;
  // Deletes up to `limit` of the oldest changes committed before `before_ms`; how many.
  virtual Result<int64_t> PruneChanges(int64_t before_ms, int limit) = 0;

  // Forwarding's cursors, one per endpoint, shared by the replicas: one at a time holds an
  // endpoint's lease and delivers its changes.
  // The cursor of `endpoint` leased to `owner` until now + `lease_ms` when it is free (or
  // already `owner`'s) and due; a cursor seen for the first time starts at the newest position
  // given. Its position, or nullopt when another replica holds it or it is not due.
  virtual Result<std::optional<int64_t>> LeaseCursor(std::string_view endpoint,
                                                     std::string_view owner, int64_t lease_ms) = 0;
  // What one round of delivery did, saved while `owner` holds the lease: the cursor moves to
  // `position` (never back), `delivered` more changes were delivered; with `error`, one more
  // failure in a row and the next attempt at `next_attempt_at`, else the failures cleared.
  // False when the lease was lost.
  virtual Result<bool> SaveCursor(std::string_view endpoint, std::string_view owner,
                                  const CursorUpdate& update) = 0;
  // Every endpoint's cursor, and the newest position given (for the lag).
  virtual Result<ForwardingStatus> Forwarding() = 0;
  // Gives `owner`'s lease of `endpoint` back (a replica stopping), so that another takes it
  // over at once.
  virtual Status ReleaseCursor(std::string_view endpoint, std::string_view owner) = 0;
  // Makes a failing endpoint's next attempt due now; false when there is no such endpoint.
  virtual Result<bool> RetryCursor(std::string_view endpoint) = 0;
};

// Every role at once: what the command line opens and wires.
class Store : public Inbox,
              public TargetQueue,
              public MirrorReads,
              public EventLog,
              public OperatorViews,
              public DocumentReads,
              public SchemaAdmin,
              public ChangeFeed {};

}  // namespace lbmirror::store
