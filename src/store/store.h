// The store layer's front header. A Store is the durable side of lbmirror: the inbox of
// accepted webhooks, the queue of dirty targets, the mirrored tables and their schema.
// SqlStore implements it over a ConnectionPool of one backend (store/mysql/ or store/sqlite/).
// Every method is thread-safe; every failure is an Error value (retryable when the
// database is unreachable or a transaction lost a race).
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "store/inbox.h"
#include "store/target_queue.h"

namespace lbmirror::store {

struct SearchHit {
  std::string kind;       // "comment" or "ydoc"
  std::string room_id;
  std::string thread_id;  // comments only
  std::string object_id;  // the comment id; the room id for documents
  std::string snippet;    // the matching text around the first match
};

class Store : public Inbox, public TargetQueue {
 public:
  // The binary Yjs state last mirrored for a room (nullopt when there is none).
  virtual Result<std::optional<std::string>> YdocState(std::string_view room_id) = 0;
  // Full-text search over comment text and document text (live rows only), best first.
  virtual Result<std::vector<SearchHit>> Search(std::string_view query, int limit) = 0;
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

}  // namespace lbmirror::store
