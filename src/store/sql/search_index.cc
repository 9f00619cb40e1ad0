#include "store/sql/search_index.h"

#include <algorithm>
#include <cstdint>

#include "core/text.h"
#include "store/sql/dialect.h"
#include "store/sql/values.h"

namespace lbmirror::store::sql {

namespace {
// A window of about `width` bytes of `text` around the first match of any query word
// (ASCII case-insensitive), cut on UTF-8 boundaries, newlines shown as " / ".
std::string Snippet(const std::string& text, const std::vector<std::string>& words, size_t width) {
  std::string lower = ToLower(text);
  size_t hit = std::string::npos;
  for (const std::string& word : words) hit = std::min(hit, lower.find(ToLower(word)));
  if (hit == std::string::npos) hit = 0;
  size_t begin = hit > width / 3 ? hit - width / 3 : 0;
  size_t end = std::min(text.size(), begin + width);
  auto continuation = [&](size_t i) {
    return i < text.size() && (uint8_t(text[i]) & 0xC0) == 0x80;
  };
  while (begin > 0 && continuation(begin)) --begin;
  while (continuation(end)) ++end;
  std::string out =
      (begin > 0 ? "…" : "") + text.substr(begin, end - begin) + (end < text.size() ? "…" : "");
  for (size_t pos; (pos = out.find('\n')) != std::string::npos;) out.replace(pos, 1, " / ");
  return out;
}

std::string LikePattern(std::string_view query) {
  std::string pattern = "%";
  for (char c : query) {
    if (c == '%' || c == '_' || c == '\\') pattern += '\\';
    pattern += c;
  }
  return pattern + "%";
}
}  // namespace

SearchIndex::SearchIndex(Dialect dialect, std::string prefix) : fts_(dialect == Dialect::kSqlite) {
  auto render = [&](const char* sql) { return RenderSql(sql, dialect, prefix); };
  search_fts_ = render(
      "SELECT kind, room_id, thread_id, object_id, text FROM {p}search"
      " WHERE {p}search MATCH ? ORDER BY rank LIMIT ?");
  search_like_ = render(
      "SELECT kind, room_id, thread_id, object_id, text FROM {p}search"
      " WHERE text LIKE ? ESCAPE '\\' LIMIT ?");
  // Postgres: the words of the 'simple' configuration (no stemming, no stop words), through
  // the GIN indexes on the same expressions.
  search_fulltext_ =
      dialect == Dialect::kPostgres
          ? render(
                "SELECT 'comment', room_id, thread_id, comment_id, body_text,"
                " ts_rank(to_tsvector('simple', body_text), plainto_tsquery('simple', ?)) AS score"
                " FROM {p}comments WHERE deleted_at IS NULL"
                " AND to_tsvector('simple', body_text) @@ plainto_tsquery('simple', ?)"
                " UNION ALL SELECT 'ydoc', room_id, '', room_id, text,"
                " ts_rank(to_tsvector('simple', text), plainto_tsquery('simple', ?)) FROM {p}ydocs"
                " WHERE deleted_at IS NULL"
                " AND to_tsvector('simple', text) @@ plainto_tsquery('simple', ?)"
                " ORDER BY 6 DESC LIMIT ?")
          : render(
                "SELECT 'comment', room_id, thread_id, comment_id, body_text,"
                " MATCH(body_text) AGAINST (? IN NATURAL LANGUAGE MODE) AS score FROM "
                "{p}comments"
                " WHERE deleted_at IS NULL AND MATCH(body_text) AGAINST (? IN NATURAL LANGUAGE "
                "MODE)"
                " UNION ALL SELECT 'ydoc', room_id, '', room_id, text,"
                " MATCH(text) AGAINST (? IN NATURAL LANGUAGE MODE) FROM {p}ydocs"
                " WHERE deleted_at IS NULL AND MATCH(text) AGAINST (? IN NATURAL LANGUAGE MODE)"
                " ORDER BY 6 DESC LIMIT ?");
  search_fulltext_like_ = render(
      "SELECT 'comment', room_id, thread_id, comment_id, body_text FROM {p}comments"
      " WHERE deleted_at IS NULL AND body_text LIKE ? UNION ALL"
      " SELECT 'ydoc', room_id, '', room_id, text FROM {p}ydocs"
      " WHERE deleted_at IS NULL AND text LIKE ? LIMIT ?");
  remove_document_ = render("DELETE FROM {p}search WHERE kind = 'ydoc' AND object_id = ?");
  insert_document_ = render(
      "INSERT INTO {p}search (kind, room_id, thread_id, object_id,"
      " text) VALUES ('ydoc', ?, '', ?, ?)");
  remove_thread_ = render("DELETE FROM {p}search WHERE kind = 'comment' AND thread_id = ?");
  insert_comment_ = render(
      "INSERT INTO {p}search (kind, room_id, thread_id, object_id, text)"
      " VALUES ('comment', ?, ?, ?, ?)");
  remove_room_ = render("DELETE FROM {p}search WHERE room_id = ?");
}

Result<std::vector<SearchHit>> SearchIndex::Search(SqlConnection& connection,
                                                   std::string_view query, int limit) const {
  std::vector<std::string> words = SplitAny(query, " \t\n");
  bool short_word = false;
  for (const std::string& w : words) short_word |= w.size() < 3;
  std::string trimmed(Trim(query));
  std::string like = LikePattern(trimmed);
  Result<std::vector<SqlRow>> rows = std::vector<SqlRow>{};
  if (fts_) {
    // Trigram FTS5: every word must occur (as a substring); shorter words use LIKE.
    std::string match;
    for (const std::string& w : words) {
      std::string quoted = "\"";
      for (char c : w) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
      match += (match.empty() ? "" : " ") + quoted + "\"";
    }
    SqlValue params[] = {std::string_view(short_word ? like : match), int64_t{limit}};
    rows = connection.Query(short_word ? search_like_ : search_fts_, params);
  } else {
    std::string_view text = trimmed;
    SqlValue params[] = {text, text, text, text, int64_t{limit}};
    rows = connection.Query(search_fulltext_, params);
    if (rows && rows->empty()) {
      // Full-text parsers skip short words (InnoDB), stopwords and unspaced scripts (CJK).
      SqlValue like_params[] = {std::string_view(like), std::string_view(like), int64_t{limit}};
      rows = connection.Query(search_fulltext_like_, like_params);
    }
  }
  if (!rows) return rows.error().WithContext("searching");
  std::vector<SearchHit> hits;
  for (const SqlRow& row : *rows) {
    hits.push_back({row[0].value_or(""), row[1].value_or(""), row[2].value_or(""),
                    row[3].value_or(""), Snippet(row[4].value_or(""), words, 120)});
  }
  return hits;
}

Status SearchIndex::IndexDocument(SqlConnection& connection, const std::string& room_id,
                                  const std::string& text) const {
  if (!fts_) return Ok();
  LBMIRROR_RETURN_IF_ERROR(RemoveDocument(connection, room_id));
  if (text.empty()) return Ok();
  SqlValue row[] = {std::string_view(room_id), std::string_view(room_id), std::string_view(text)};
  return Run(connection, insert_document_, row);
}

Status SearchIndex::RemoveDocument(SqlConnection& connection, const std::string& room_id) const {
  if (!fts_) return Ok();
  SqlValue key[] = {std::string_view(room_id)};
  return Run(connection, remove_document_, key);
}

Status SearchIndex::IndexThread(SqlConnection& connection, const ThreadSnapshot& snapshot) const {
  if (!fts_) return Ok();
  LBMIRROR_RETURN_IF_ERROR(RemoveThread(connection, snapshot.thread.thread_id));
  for (const CommentRow& c : snapshot.comments) {
    if (c.deleted_at || c.body_text.empty()) continue;
    SqlValue row[] = {std::string_view(c.room_id), std::string_view(c.thread_id),
                      std::string_view(c.comment_id), std::string_view(c.body_text)};
    LBMIRROR_RETURN_IF_ERROR(Run(connection, insert_comment_, row));
  }
  return Ok();
}

Status SearchIndex::RemoveThread(SqlConnection& connection, const std::string& thread_id) const {
  if (!fts_) return Ok();
  SqlValue key[] = {std::string_view(thread_id)};
  return Run(connection, remove_thread_, key);
}

Status SearchIndex::RemoveRoom(SqlConnection& connection, const std::string& room_id) const {
  if (!fts_) return Ok();
  SqlValue key[] = {std::string_view(room_id)};
  return Run(connection, remove_room_, key);
}

}  // namespace lbmirror::store::sql
