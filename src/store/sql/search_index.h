// Full-text search over live comments and Yjs document text, and its upkeep. MySQL/MariaDB
// search the rows themselves through FULLTEXT indexes (natural-language mode, then a substring
// match for what their parser skips: short words, stopwords, CJK), so their upkeep does
// nothing; SQLite keeps an FTS5 table (trigram tokenizer) beside the rows, written in the
// same transaction as them. Thread-safe (no state of its own).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/rows.h"
#include "store/sql/sql_connection.h"
#include "store/store.h"

namespace lbmirror::store::sql {

class SearchIndex {
 public:
  SearchIndex(Dialect dialect, std::string prefix);

  // Up to `limit` hits for the words of `query`, best first. REQUIRES: `query` has a word.
  Result<std::vector<SearchHit>> Search(SqlConnection& connection, std::string_view query,
                                        int limit) const;

  // Upkeep, inside the transaction that writes the rows: a room's document text (replaced),
  // a thread's live comments (replaced), and what a deletion removes.
  Status IndexDocument(SqlConnection& connection, const std::string& room_id,
                       const std::string& text) const;
  Status RemoveDocument(SqlConnection& connection, const std::string& room_id) const;
  Status IndexThread(SqlConnection& connection, const ThreadSnapshot& snapshot) const;
  Status RemoveThread(SqlConnection& connection, const std::string& thread_id) const;
  Status RemoveRoom(SqlConnection& connection, const std::string& room_id) const;

 private:
  bool fts_;  // SQLite: the FTS5 table is kept
  std::string search_fts_, search_like_, search_fulltext_, search_fulltext_like_;
  std::string remove_document_, insert_document_, remove_thread_, insert_comment_, remove_room_;
};

}  // namespace lbmirror::store::sql
