// Projections: pure functions from a target and the REST API's answer to the rows the mirror
// must hold (events are only hints: the REST API's answer is the truth). No I/O, thread-safe.
#pragma once

#include <boost/json/fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.h"
#include "liveblocks/client.h"
#include "store/rows.h"
#include "store/target.h"

namespace lbmirror::sync {

// The target kinds this version reads because webhooks, reconciliation or operators mark
// them (the workers' kinds).
const std::vector<store::TargetKind>& SupportedKinds();
// The kinds of reconciliation passes are in sync/pass_kinds.h.

struct ProjectionOptions {
  // Root keys of Storage documents that hold React Flow diagrams.
  std::vector<std::string> flow_keys = {"flow"};
};

// The REST path to read for a target (a Yjs document is read as its binary state).
std::string ReadPath(const store::TargetKey& target);

struct Projection {
  std::vector<store::RowWrite> writes;
  std::vector<store::TargetKey> also_dirty;  // targets to re-read because of what was seen
  // The server does not implement the endpoint of this pass kind (501, as the local dev
  // server answers): nothing to write, and nothing to retry.
  bool unsupported = false;
};

// 200 gives the target's rows; 404 marks them deleted. Errors: kUnauthenticated for 401/403
// (wrong secret key, not retryable), retryable kUnavailable for 429/5xx, kInternal for a body
// that is not what the API documents or another status, kInvalidArgument for a Yjs state that
// does not decode. A Storage document is passed through as received (its body is moved into
// the row, never re-serialised); it is only parsed to a tree when it holds a diagram key.
// `read_started_ms`: when the read began (a listing's rows written later are newer than it).
Result<Projection> Project(const store::TargetKey& target, liveblocks::RestResponse response,
                           const ProjectionOptions& options = {}, int64_t read_started_ms = 0);

// The row of an InboxNotification object (GET …/inbox-notifications/{id}, or an element of a
// user's inbox listing); `raw` is its JSON text, kept whole.
store::NotificationRow NotificationFromJson(const std::string& user_id,
                                            const boost::json::object& notification,
                                            std::string raw);

// The room row of a Room object (GET /v2/rooms/{id}, or an element of GET /v2/rooms).
Result<store::RoomRow> RoomFromJson(const boost::json::value& room);

// A Yjs document's binary state (one update) decoded: its exact JSON, its text and the state
// itself. Errors name `what` and the byte where the update stopped making sense.
Result<store::YdocRow> DecodeYdoc(const std::string& room_id, const std::string& state,
                                  std::string_view what);

// The rows of one thread as GET /v2/rooms/{room}/threads/{thread} returns it.
Result<store::ThreadSnapshot> ProjectThread(const store::TargetKey& target,
                                            const boost::json::value& thread);
// The React Flow diagram stored under `key` of a Storage document (format=json); nodes and
// edges may be a map by id (LiveMap) or an array of objects with "id".
store::FlowSnapshot ProjectFlow(const std::string& room_id, const std::string& key,
                                const boost::json::object& storage);

}  // namespace lbmirror::sync
