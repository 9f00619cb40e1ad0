#include "admin/actions.h"

#include <algorithm>
#include <boost/json.hpp>
#include <vector>

#include "core/limits.h"
#include "core/text.h"

namespace lbmirror::admin {

Result<StatusReport> ReadStatus(const StatusSources& sources,
                                const std::vector<sync::PassSpec>& specs, int64_t now_ms,
                                int max_failures) {
  StatusReport report;
  auto queue = sources.views.Queue(max_failures);
  if (!queue) return queue.error().WithContext("cannot read the work queue");
  report.queue = std::move(*queue);
  if (report.queue.oldest_pending_ms) {
    report.oldest_pending_age_ms = std::max<int64_t>(0, now_ms - *report.queue.oldest_pending_ms);
  }
  for (const store::FailedTarget& failure : report.queue.failures) {
    report.next_attempt_in_ms.push_back(std::max<int64_t>(0, failure.next_attempt_at_ms - now_ms));
  }
  for (const sync::PassSpec& spec : specs) {
    auto saved = sources.mirror.Checkpoint(sync::PassCheckpoint(spec.name));
    if (!saved) return saved.error().WithContext(Cat("cannot read the ", spec.name, " pass"));
    auto counts = report.queue.by_kind.find(std::string(store::TargetKindName(spec.kind)));
    report.passes.push_back(
        {sync::ParsePassProgress(spec, *saved),
         counts == report.queue.by_kind.end() ? store::QueueStatus::Counts{} : counts->second});
  }
  auto last = sources.events.LastEvents();
  if (!last) return last.error().WithContext("cannot read the stored webhooks");
  report.events = std::move(*last);
  auto forwarding = sources.feed.Forwarding();
  if (!forwarding) return forwarding.error().WithContext("cannot read forwarding's cursors");
  for (store::CursorState& cursor : forwarding->cursors) {
    const int64_t lag = std::max<int64_t>(0, forwarding->head - cursor.position);
    const int64_t wait = std::max<int64_t>(0, cursor.next_attempt_at_ms - now_ms);
    report.forwarding.push_back({std::move(cursor), lag, wait});
  }
  return report;
}

Result<store::RoomSummary> RoomReport(store::OperatorViews& views, std::string_view room_id) {
  if (room_id.empty()) return InvalidArgument("give the room's id");
  return views.Summary(room_id);
}

Result<sync::ReplayOptions> CheckReplay(const ReplayRequest& request, int64_t now_ms,
                                        std::string_view prefix) {
  auto since = ParseDurationMs(request.since);
  if (!since) return InvalidArgument(Cat(prefix, "since must be a duration such as 2h, 30m or 7d"));
  sync::ReplayOptions options;
  options.since_ms = now_ms - *since;
  if (!request.until.empty()) {
    auto until = ParseDurationMs(request.until);
    if (!until) return InvalidArgument(Cat(prefix, "until must be a duration such as 1h or 10m"));
    if (*until >= *since) {
      return InvalidArgument(Cat(prefix, "until must be shorter ago than ", prefix, "since"));
    }
    options.until_ms = now_ms - *until;
  }
  options.type = request.type;
  options.room_id = request.room;
  return options;
}

Result<std::optional<store::TargetKey>> CheckRetry(std::string_view target, bool failed,
                                                   std::string_view prefix) {
  if (target.empty() == !failed) {
    return InvalidArgument(
        Cat("give a target (such as storage:my-room), or ", prefix, "failed for every failed one"));
  }
  if (failed) return std::optional<store::TargetKey>();
  auto key = store::TargetKey::Parse(target);
  if (!key) {
    return InvalidArgument(Cat("\"", target, "\" is not a target: KIND:ROOM (room, storage, ydoc,",
                               " presence), thread:ROOM:THREAD or notification:USER:ID"));
  }
  return std::optional<store::TargetKey>(std::move(*key));
}

Result<int64_t> MirrorAgain(store::OperatorViews& views, store::TargetQueue& queue,
                            std::string_view room_id) {
  if (room_id.empty()) return InvalidArgument("give the room's id");
  auto summary = views.Summary(room_id);
  if (!summary) return summary.error();
  std::vector<store::TargetKey> targets;
  for (store::TargetKind kind : {store::TargetKind::kRoom, store::TargetKind::kStorage,
                                 store::TargetKind::kYdoc, store::TargetKind::kPresence}) {
    targets.push_back({kind, std::string(room_id), ""});
  }
  for (const std::string& thread : summary->live_threads) {
    targets.push_back({store::TargetKind::kThread, std::string(room_id), thread});
  }
  LBMIRROR_RETURN_IF_ERROR(queue.MarkDirty(targets, "mirror_again"));
  return static_cast<int64_t>(targets.size());
}

Result<store::ChangeFilter> CheckChangeFilter(std::string_view kinds, std::string_view room_prefix,
                                              std::string_view prefix) {
  store::ChangeFilter filter;
  filter.room_prefix = std::string(room_prefix);
  const auto& known = store::ChangeKinds();
  for (const std::string& kind : SplitAny(kinds, ", ")) {
    if (std::find(known.begin(), known.end(), kind) == known.end()) {
      std::string names;
      for (std::string_view name : known) names += names.empty() ? name : Cat(", ", name);
      return InvalidArgument(Cat(prefix, "kind: ", kind, " is not a kind of change (", names, ")"));
    }
    filter.kinds.push_back(kind);
  }
  return filter;
}

std::string ChangeJson(const store::Change& change) {
  namespace json = boost::json;
  // As deep as the documents the mirror keeps, and the three levels of a patch that holds one
  // ({"patch":[{"value":…}]}).
  auto as_json = [](const std::string& text) {
    json::parse_options deep;
    deep.max_depth = kMaxNestingDepth + 3;
    boost::system::error_code ec;
    json::value value = json::parse(text, ec, {}, deep);
    return ec ? json::value(text) : value;
  };
  json::object line{{"position", change.position.value_or(0)},
                    {"committed_at_ms", change.committed_at_ms},
                    {"kind", change.kind},
                    {"op", change.op},
                    {"room_id", change.room_id ? json::value(*change.room_id) : nullptr},
                    {"key", change.entity_key},
                    {"cause", as_json(change.cause)},
                    {"payload", as_json(change.payload)}};
  return json::serialize(line);
}

}  // namespace lbmirror::admin
