// What the change feed says about rows (sql/change_log.h holds the feed itself): for each table
// it describes, the change kind, its key and the columns a change carries; an "image" of the
// live rows a write may touch, read before and after the write in its transaction; and the
// changes between two images: "insert" with the new row, "update" with the new row and the
// previous values of the columns that changed, "delete" with the row as it was. Rows marked
// deleted count as gone. Bookkeeping columns (synced_at, deleted_at) are not compared, so a
// read that changes nothing makes no change. Thread-safe (constant tables).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/sql/dialect.h"
#include "store/sql/sql_connection.h"
#include "store/store.h"

namespace lbmirror::store::sql {

// How a column's text becomes a JSON value in a change.
enum class ColumnType { kText, kJson, kInt, kBool, kReal, kTime };

struct ChangeColumn {
  std::string_view name;
  ColumnType type;
};

struct ChangeTable {
  std::string_view table;  // without the prefix
  std::string_view kind;   // the change's kind: "thread", "comment", ...
  size_t key_count;        // the first key_count columns are the primary key
  std::vector<ChangeColumn> columns;
  bool soft_deletes;  // has deleted_at: a row with it set counts as gone
};

// The description of `table` (one of the tables the feed covers); null for any other.
const ChangeTable* ChangeTableFor(std::string_view table);

// The live rows of a table that a `where` picks, by entity key (the key's values, each escaped
// as a JSON Pointer token and joined by "/": "room-1/storage/n1").
using TableImage = std::map<std::string, SqlRow>;

Result<TableImage> ReadImage(SqlConnection& connection, Dialect dialect, const std::string& prefix,
                             const ChangeTable& table, std::string_view where,
                             std::span<const SqlValue> params);

// The changes (kind, op, room, entity key, payload; no time or cause) turning `before` into
// `after`, in entity key order.
std::vector<Change> DiffImages(const ChangeTable& table, const TableImage& before,
                               const TableImage& after);

// A database timestamp as the feed writes it: "2024-05-01T10:00:00.000Z" (MySQL's and SQLite's
// "2024-05-01 10:00:00.000" and Postgres' "2024-05-01 10:00:00+00" alike); other text as is.
std::string FeedTimestamp(std::string_view text);

}  // namespace lbmirror::store::sql
