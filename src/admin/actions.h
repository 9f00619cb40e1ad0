// What operators ask for, checked and read once for the command line (lbmirror status, retry,
// replay, room) and the admin API (GET /api/queue, /api/room, POST /api/retry, /api/replay,
// /api/mirror): one set of checks and one set of messages; each side only presents the result
// (text or JSON). The messages name the fields with `prefix` before them ("--" on the command
// line: "--since").
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/store.h"
#include "store/target.h"
#include "sync/passes.h"
#include "sync/replay.h"

namespace lbmirror::admin {

// A reconciliation pass as its checkpoint records it, with its kind's targets in the queue.
struct PassReport {
  sync::PassProgress progress;
  store::QueueStatus::Counts targets;  // of its kind, pending and failed
};

// The work queue, the passes and the stored webhooks at one moment, with the ages worked out.
struct StatusReport {
  store::QueueStatus queue;
  std::optional<int64_t> oldest_pending_age_ms;  // how long the longest-waiting target waited
  std::vector<int64_t> next_attempt_in_ms;       // per queue.failures entry, never negative
  std::vector<PassReport> passes;                // in the order of `specs`
  std::vector<store::LastEvent> events;          // per webhook type: count, last received
  // Forwarding's endpoints: their cursors, each with its lag and when it tries again.
  struct Endpoint {
    store::CursorState cursor;
    int64_t lag = 0;                 // changes given a position that it has not passed
    int64_t next_attempt_in_ms = 0;  // never negative
  };
  std::vector<Endpoint> forwarding;
};

// What ReadStatus reads from.
struct StatusSources {
  store::OperatorViews& views;
  store::EventLog& events;
  store::MirrorReads& mirror;  // the passes' checkpoints
  store::ChangeFeed& feed;     // forwarding's cursors
};

// Reads the queue (with at most `max_failures` failures, the most recent first), the progress
// of the passes of `specs` and the webhooks stored per type, at `now_ms`. The error says what
// could not be read.
Result<StatusReport> ReadStatus(const StatusSources& sources,
                                const std::vector<sync::PassSpec>& specs, int64_t now_ms,
                                int max_failures);

// What the mirror holds of `room_id`, table by table, with its pending targets and latest
// comments; kInvalidArgument for an empty room id.
Result<store::RoomSummary> RoomReport(store::OperatorViews& views, std::string_view room_id);

// A replay as an operator gives it: webhooks received since `since` ago (a duration such as
// 2h), until `until` ago (empty: now), of one type and one room (empty: any).
struct ReplayRequest {
  std::string since;
  std::string until;
  std::string type;
  std::string room;
};

// The replay's options at `now_ms`; kInvalidArgument with the reason when a duration is not
// one, or `until` is not shorter ago than `since`.
Result<sync::ReplayOptions> CheckReplay(const ReplayRequest& request, int64_t now_ms,
                                        std::string_view prefix);

// The target to retry: the one `target` names (KIND:ROOM, thread:ROOM:THREAD,
// notification:USER:ID), or, with `failed` and no target, every failed one (nullopt).
// kInvalidArgument when both or neither are given, or the name is not a target's.
Result<std::optional<store::TargetKey>> CheckRetry(std::string_view target, bool failed,
                                                   std::string_view prefix);

// Marks every target of `room_id` dirty, to be read anew: the room, its Storage, Yjs document
// and presence, and each of its live threads. Returns how many it marked; kInvalidArgument for
// an empty room id.
Result<int64_t> MirrorAgain(store::OperatorViews& views, store::TargetQueue& queue,
                            std::string_view room_id);

// The change filter an operator gives: `kinds` a comma-separated list of ChangeKinds() (empty:
// all), `room_prefix` as is. kInvalidArgument names a kind that is not one.
Result<store::ChangeFilter> CheckChangeFilter(std::string_view kinds, std::string_view room_prefix,
                                              std::string_view prefix);

// One change as the command line prints it and the admin API and forwarding send it:
// {"position","committed_at_ms","kind","op","room_id","key","cause","payload"}.
std::string ChangeJson(const store::Change& change);

}  // namespace lbmirror::admin
