#include "store/sql/row_changes.h"

#include <boost/json.hpp>
#include <charconv>

#include "core/json_patch.h"
#include "core/limits.h"
#include "core/text.h"

namespace lbmirror::store::sql {

namespace {
namespace json = boost::json;
using enum ColumnType;

// Key columns first. Large derived values (a Storage or Yjs document, a version's Yjs
// document) are not rows a change carries: their changes are JSON Patches (RowWriter) or,
// for a whole room's deletion, only the key.
const std::vector<ChangeTable>& Tables() {
  static const std::vector<ChangeTable> kTables = {
      {"rooms",
       "room",
       1,
       {{"room_id", kText},
        {"organization_id", kText},
        {"metadata", kJson},
        {"default_accesses", kJson},
        {"users_accesses", kJson},
        {"groups_accesses", kJson},
        {"created_at", kTime},
        {"last_connection_at", kTime}},
       true},
      {"documents", "document", 1, {{"room_id", kText}}, true},
      {"ydocs", "ydoc", 1, {{"room_id", kText}}, true},
      {"threads",
       "thread",
       1,
       {{"thread_id", kText},
        {"room_id", kText},
        {"metadata", kJson},
        {"resolved", kBool},
        {"visibility", kText},
        {"created_at", kTime},
        {"updated_at", kTime}},
       true},
      {"comments",
       "comment",
       1,
       {{"comment_id", kText},
        {"thread_id", kText},
        {"room_id", kText},
        {"user_id", kText},
        {"body", kJson},
        {"body_text", kText},
        {"metadata", kJson},
        {"attachments", kJson},
        {"created_at", kTime},
        {"edited_at", kTime}},
       true},
      {"comment_reactions",
       "reaction",
       3,
       {{"comment_id", kText},
        {"emoji", kText},
        {"user_id", kText},
        {"thread_id", kText},
        {"room_id", kText},
        {"created_at", kTime}},
       false},
      {"comment_attachments",
       "attachment",
       1,
       {{"attachment_id", kText},
        {"comment_id", kText},
        {"thread_id", kText},
        {"room_id", kText},
        {"name", kText},
        {"size", kInt},
        {"mime_type", kText}},
       true},
      {"notifications",
       "notification",
       1,
       {{"inbox_notification_id", kText},
        {"user_id", kText},
        {"kind", kText},
        {"room_id", kText},
        {"thread_id", kText},
        {"subject_id", kText},
        {"notified_at", kTime},
        {"read_at", kTime},
        {"data", kJson}},
       true},
      {"active_users",
       "active_user",
       2,
       {{"room_id", kText}, {"connection_id", kInt}, {"user_id", kText}, {"user_info", kJson}},
       false},
      {"room_sessions",
       "session",
       3,
       {{"room_id", kText},
        {"connection_id", kInt},
        {"entered_at", kTime},
        {"entered_known", kBool},
        {"user_id", kText},
        {"user_info", kJson},
        {"left_at", kTime}},
       false},
      {"flow_nodes",
       "flow_node",
       3,
       {{"room_id", kText},
        {"storage_key", kText},
        {"node_id", kText},
        {"type", kText},
        {"position_x", kReal},
        {"position_y", kReal},
        {"data", kJson},
        {"node", kJson}},
       false},
      {"flow_edges",
       "flow_edge",
       3,
       {{"room_id", kText},
        {"storage_key", kText},
        {"edge_id", kText},
        {"type", kText},
        {"source", kText},
        {"target", kText},
        {"data", kJson},
        {"edge", kJson}},
       false},
      {"groups",
       "group",
       1,
       {{"group_id", kText},
        {"organization_id", kText},
        {"scopes", kJson},
        {"created_at", kTime},
        {"updated_at", kTime},
        {"data", kJson}},
       true},
      {"group_members",
       "group_member",
       2,
       {{"group_id", kText}, {"user_id", kText}, {"added_at", kTime}},
       false},
      {"room_versions",
       "version",
       2,
       {{"room_id", kText},
        {"version_id", kText},
        {"created_at", kTime},
        {"authors", kJson},
        {"data", kJson}},
       true},
      {"room_version_ydocs", "version_ydoc", 2, {{"room_id", kText}, {"version_id", kText}}, true},
      {"notification_settings",
       "notification_settings",
       1,
       {{"user_id", kText}, {"settings", kJson}},
       true},
      {"room_subscription_settings",
       "room_subscription_settings",
       2,
       {{"room_id", kText}, {"user_id", kText}, {"threads", kText}, {"text_mentions", kText}},
       true},
      {"thread_subscriptions",
       "thread_subscription",
       2,
       {{"thread_id", kText},
        {"user_id", kText},
        {"room_id", kText},
        {"kind", kText},
        {"created_at", kTime}},
       true},
      {"feeds",
       "feed",
       2,
       {{"room_id", kText},
        {"feed_id", kText},
        {"metadata", kJson},
        {"created_at_ms", kInt},
        {"updated_at_ms", kInt},
        {"data", kJson}},
       true},
      {"feed_messages",
       "feed_message",
       3,
       {{"room_id", kText},
        {"feed_id", kText},
        {"message_id", kText},
        {"data", kJson},
        {"created_at_ms", kInt},
        {"updated_at_ms", kInt}},
       true},
  };
  return kTables;
}

json::value ColumnValue(const ChangeColumn& column, const std::optional<std::string>& text) {
  if (!text) return nullptr;
  switch (column.type) {
    case kText:
      return json::string(*text);
    case kTime:
      return json::string(FeedTimestamp(*text));
    case kBool:
      return *text != "0" && *text != "f" && *text != "false";
    case kInt: {
      int64_t value = 0;
      auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
      if (ec == std::errc() && end == text->data() + text->size()) return value;
      return json::string(*text);
    }
    case kReal: {
      // Every backend's spelling of a DOUBLE ("1", "1.0", "1e+20") is a JSON double.
      double value = 0;
      auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), value);
      if (ec == std::errc() && end == text->data() + text->size()) return value;
      return json::string(*text);
    }
    case kJson: {
      json::parse_options deep;
      deep.max_depth = kMaxNestingDepth;
      boost::system::error_code ec;
      json::value value = json::parse(*text, ec, {}, deep);
      if (!ec) return value;
      return json::string(*text);
    }
  }
  return nullptr;
}

json::object RowObject(const ChangeTable& table, const SqlRow& row) {
  json::object object;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    object[table.columns[i].name] = ColumnValue(table.columns[i], row[i]);
  }
  return object;
}

std::optional<std::string> RoomOf(const ChangeTable& table, const SqlRow& row) {
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (table.columns[i].name == "room_id") return row[i];
  }
  return std::nullopt;
}

Change MakeChange(const ChangeTable& table, std::string_view op, const std::string& key,
                  const SqlRow& row, const json::object& payload) {
  Change change;
  change.kind = std::string(table.kind);
  change.op = std::string(op);
  change.room_id = RoomOf(table, row);
  change.entity_key = key;
  change.payload = json::serialize(payload);
  return change;
}
}  // namespace

const ChangeTable* ChangeTableFor(std::string_view name) {
  for (const ChangeTable& table : Tables()) {
    if (table.table == name) return &table;
  }
  return nullptr;
}

Result<TableImage> ReadImage(SqlConnection& connection, Dialect dialect, const std::string& prefix,
                             const ChangeTable& table, std::string_view where,
                             std::span<const SqlValue> params) {
  std::string columns;
  for (const ChangeColumn& column : table.columns) {
    if (!columns.empty()) columns += ", ";
    columns += column.type == kJson ? Cat("{text:", column.name, "}") : std::string(column.name);
  }
  std::string sql = Cat("SELECT ", columns, " FROM {p}", table.table, " WHERE ", where);
  if (table.soft_deletes) sql += " AND deleted_at IS NULL";
  auto rows = connection.Query(RenderSql(sql, dialect, prefix), params);
  if (!rows) return rows.error();
  TableImage image;
  for (SqlRow& row : *rows) {
    std::string key;
    for (size_t i = 0; i < table.key_count; ++i) {
      if (i > 0) key += '/';
      key += JsonPointerToken(row[i].value_or(""));
    }
    image.emplace(std::move(key), std::move(row));
  }
  return image;
}

std::vector<Change> DiffImages(const ChangeTable& table, const TableImage& before,
                               const TableImage& after) {
  std::vector<Change> changes;
  auto old_row = before.begin();
  auto new_row = after.begin();
  while (old_row != before.end() || new_row != after.end()) {
    if (new_row == after.end() || (old_row != before.end() && old_row->first < new_row->first)) {
      changes.push_back(MakeChange(table, "delete", old_row->first, old_row->second,
                                   {{"previous", RowObject(table, old_row->second)}}));
      ++old_row;
    } else if (old_row == before.end() || new_row->first < old_row->first) {
      changes.push_back(MakeChange(table, "insert", new_row->first, new_row->second,
                                   {{"row", RowObject(table, new_row->second)}}));
      ++new_row;
    } else {
      json::object previous;
      for (size_t i = 0; i < table.columns.size(); ++i) {
        if (old_row->second[i] != new_row->second[i]) {
          previous[table.columns[i].name] = ColumnValue(table.columns[i], old_row->second[i]);
        }
      }
      if (!previous.empty()) {
        changes.push_back(MakeChange(
            table, "update", new_row->first, new_row->second,
            {{"row", RowObject(table, new_row->second)}, {"previous", std::move(previous)}}));
      }
      ++old_row;
      ++new_row;
    }
  }
  return changes;
}

std::string FeedTimestamp(std::string_view text) {
  // A trailing offset ("+00", "+02:00", "-05:30") is taken off and applied.
  int64_t offset_minutes = 0;
  std::string_view base = text;
  if (size_t sign = text.find_last_of("+-"); sign != std::string_view::npos && sign >= 19) {
    std::string_view zone = text.substr(sign + 1);
    int hours = 0, minutes = 0;
    bool ok =
        zone.size() >= 2 && std::from_chars(zone.data(), zone.data() + 2, hours).ec == std::errc();
    if (ok && zone.size() == 5 && zone[2] == ':') {
      ok = std::from_chars(zone.data() + 3, zone.data() + 5, minutes).ec == std::errc();
    } else if (zone.size() != 2) {
      ok = false;
    }
    if (!ok) return std::string(text);
    offset_minutes = (text[sign] == '-' ? -1 : 1) * (hours * 60 + minutes);
    base = text.substr(0, sign);
  }
  auto ms = ParseIsoTimestampMs(base);
  if (!ms) return std::string(text);
  return FormatIsoTimestamp(*ms - offset_minutes * 60'000);
}

}  // namespace lbmirror::store::sql
