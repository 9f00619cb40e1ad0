// Row writes produced by projections and applied by the store in the transaction that
// completes a target. Plain values; timestamps are "YYYY-MM-DD HH:MM:SS.mmm" UTC strings.
#pragma once

#include <optional>
#include <string>
#include <variant>

namespace lbmirror::store {

// liveblocks_documents: Storage as plain JSON (the REST body, passed through verbatim).
struct DocumentRow {
  std::string room_id;
  std::string data;
};
// liveblocks_ydocs: the Yjs JSON view and plain text derived from it.
struct YdocRow {
  std::string room_id;
  std::string data;
  std::string text;
};
// liveblocks_rooms: one room as the REST API returned it. JSON fields are JSON text.
struct RoomRow {
  std::string room_id;
  std::string organization_id;
  std::string metadata;
  std::string default_accesses;
  std::string users_accesses;
  std::string groups_accesses;
  std::optional<std::string> created_at;
  std::optional<std::string> last_connection_at;
};
// The Storage document or Yjs document of a room is gone (REST 404): soft-delete the row.
struct DocumentGone {
  std::string room_id;
};
struct YdocGone {
  std::string room_id;
};
// The room is gone (REST 404): soft-delete the room and everything mirrored for it.
struct RoomGone {
  std::string room_id;
};

using RowWrite = std::variant<DocumentRow, YdocRow, RoomRow, DocumentGone, YdocGone, RoomGone>;

}  // namespace lbmirror::store
