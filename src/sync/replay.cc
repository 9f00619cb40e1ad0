#include "sync/replay.h"

#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "webhook/event.h"

namespace lbmirror::sync {

namespace {
constexpr int kPageSize = 500;

struct KeyLess {
  bool operator()(const store::TargetKey& a, const store::TargetKey& b) const {
    return std::tie(a.kind, a.scope_id, a.object_id) < std::tie(b.kind, b.scope_id, b.object_id);
  }
};
}  // namespace

Result<ReplayCounts> Replay(store::EventLog& events, store::TargetQueue& queue,
                            const ReplayOptions& options) {
  store::EventFilter filter;
  filter.since_ms = options.since_ms;
  filter.until_ms = options.until_ms;
  filter.type = options.type;
  filter.room_id = options.room_id;
  filter.limit = kPageSize;
  ReplayCounts counts;
  std::set<store::TargetKey, KeyLess> marked;
  for (;;) {
    auto page = events.Events(filter);
    if (!page) return page.error().WithContext("reading stored webhooks");
    std::vector<store::TargetKey> targets;
    for (const store::StoredEvent& stored : *page) {
      ++counts.webhooks;
      auto event = webhook::ParseEvent(stored.payload);
      if (!event) {
        ++counts.unreadable;
        continue;
      }
      if (event->targets.empty()) ++counts.without_targets;
      for (store::TargetKey& key : event->targets) {
        if (marked.insert(key).second) targets.push_back(std::move(key));
      }
    }
    if (!targets.empty()) {
      Status status = queue.MarkDirty(targets, "replay");
      if (!status) return status.error().WithContext("marking targets dirty");
    }
    if (static_cast<int>(page->size()) < kPageSize) break;
    filter.after = std::make_pair(page->back().received_at, page->back().webhook_id);
  }
  counts.targets = static_cast<int64_t>(marked.size());
  return counts;
}

}  // namespace lbmirror::sync
