#include "admin/actions.h"

#include <vector>

#include "core/text.h"

namespace lbmirror::admin {

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
  LBMIRROR_RETURN_IF_ERROR(queue.MarkDirty(targets));
  return static_cast<int64_t>(targets.size());
}

}  // namespace lbmirror::admin
