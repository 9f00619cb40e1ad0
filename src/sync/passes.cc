#include "sync/passes.h"

#include <algorithm>
#include <boost/json.hpp>
#include <memory>
#include <tuple>

#include "core/log.h"
#include "core/text.h"
#include "sync/pass_kinds.h"

namespace lbmirror::sync {

namespace json = boost::json;

namespace {

constexpr size_t kBatch = 500;  // targets marked per transaction, then the checkpoint

std::optional<int64_t> IntMember(const json::object& object, std::string_view name) {
  const json::value* value = object.if_contains(name);
  return value != nullptr && value->is_int64() ? std::optional(value->as_int64()) : std::nullopt;
}

std::string Serialize(const PassProgress& progress, const store::TargetKey* after) {
  json::object out{{"marked", progress.marked}, {"after", after ? after->scope_id : ""}};
  if (after != nullptr && !after->object_id.empty()) out["after_object"] = after->object_id;
  if (progress.unsupported) out["unsupported"] = true;
  out["started_ms"] = progress.started_ms ? json::value(*progress.started_ms) : nullptr;
  out["finished_ms"] = progress.finished_ms ? json::value(*progress.finished_ms) : nullptr;
  return json::serialize(out);
}

}  // namespace

std::vector<PassSpec> PassSpecs(const PassIntervals& intervals) {
  return {
      {"inbox", store::TargetKind::kInbox, intervals.inbox_ms},
      {"groups", store::TargetKind::kGroups, intervals.groups_ms},
      {"versions", store::TargetKind::kVersions, intervals.versions_ms},
      {"notification_settings", store::TargetKind::kNotificationSettings, intervals.settings_ms},
      {"room_subscription_settings", store::TargetKind::kRoomSubscriptionSettings,
       intervals.settings_ms},
      {"thread_subscriptions", store::TargetKind::kThreadSubscriptions, intervals.subscriptions_ms},
      {"feeds", store::TargetKind::kFeeds, intervals.feeds_ms}};
}

std::string PassCheckpoint(std::string_view name) { return Cat("pass:", name); }

PassProgress ParsePassProgress(const PassSpec& spec, const std::optional<std::string>& value) {
  PassProgress progress{spec.name, spec.interval_ms, std::nullopt, std::nullopt, 0, false};
  if (!value) return progress;
  boost::system::error_code ec;
  json::value parsed = json::parse(*value, ec);
  if (ec || !parsed.is_object()) return progress;
  const json::object& object = parsed.as_object();
  progress.started_ms = IntMember(object, "started_ms");
  progress.finished_ms = IntMember(object, "finished_ms");
  progress.marked = IntMember(object, "marked").value_or(0);
  const json::value* unsupported = object.if_contains("unsupported");
  progress.unsupported = unsupported != nullptr && unsupported->is_bool() && unsupported->as_bool();
  return progress;
}

Passes::Passes(store::MirrorReads& mirror, store::TargetQueue& queue, const Clock& clock,
               std::vector<PassSpec> specs, Unsupported unsupported, std::function<void()> marked)
    : mirror_(mirror),
      queue_(queue),
      clock_(clock),
      specs_(std::move(specs)),
      unsupported_(std::move(unsupported)),
      marked_(std::move(marked)) {
  for (const PassSpec& spec : specs_) progress_.push_back(ParsePassProgress(spec, std::nullopt));
}

Passes::~Passes() { Stop(); }

void Passes::Start() {
  int64_t tick_ms = 10'000;
  for (const PassSpec& spec : specs_) {
    if (spec.interval_ms > 0) tick_ms = std::min(tick_ms, spec.interval_ms / 2);
  }
  tick_ms = std::max<int64_t>(tick_ms, 500);
  periodic_ = std::make_unique<Periodic>(tick_ms, [this] {
    if (auto marked = RunDue(); !marked) {
      log::Warn(Cat("passes: ", marked.error().ToString(), "; trying again later"));
    }
  });
  periodic_->Start();
}

void Passes::Stop() {
  if (periodic_) periodic_->Stop();
}

std::vector<PassProgress> Passes::Progress() const {
  std::lock_guard lock(mutex_);
  return progress_;
}

Result<std::vector<store::TargetKey>> Passes::Targets(const PassSpec& spec) {
  std::vector<store::TargetKey> targets;
  auto each = [&](std::vector<std::string> scopes) {
    std::sort(scopes.begin(), scopes.end());
    scopes.erase(std::unique(scopes.begin(), scopes.end()), scopes.end());
    for (std::string& scope : scopes) targets.push_back({spec.kind, std::move(scope), ""});
    return targets;
  };
  if (spec.kind == store::TargetKind::kGroups) return each({std::string(kProjectScope)});
  if (spec.kind == store::TargetKind::kThreadSubscriptions) {
    auto threads = mirror_.LiveThreads();
    if (!threads) return threads.error();
    for (auto& [room, thread] : *threads) targets.push_back({spec.kind, room, thread});
    std::sort(targets.begin(), targets.end(), [](const auto& a, const auto& b) {
      return std::tie(a.scope_id, a.object_id) < std::tie(b.scope_id, b.object_id);
    });
    return targets;
  }
  auto rooms = mirror_.LiveRooms("");
  if (!rooms) return rooms.error();
  if (spec.kind == store::TargetKind::kVersions || spec.kind == store::TargetKind::kFeeds) {
    std::vector<std::string> ids;
    for (const store::RoomRow& room : *rooms) ids.push_back(room.room_id);
    return each(std::move(ids));
  }
  if (spec.kind != store::TargetKind::kInbox &&
      spec.kind != store::TargetKind::kNotificationSettings &&
      spec.kind != store::TargetKind::kRoomSubscriptionSettings) {
    return Internal(Cat("no scopes for ", store::TargetKindName(spec.kind), " passes"));
  }
  auto users = mirror_.KnownUsers();
  if (!users) return users.error();
  // Users given access to a room by id are known too, whether or not they wrote anything.
  for (const store::RoomRow& room : *rooms) {
    boost::system::error_code ec;
    json::value accesses = json::parse(room.users_accesses, ec);
    if (ec || !accesses.is_object()) continue;
    for (const auto& entry : accesses.as_object()) users->emplace_back(entry.key());
  }
  return each(std::move(*users));
}

Result<int64_t> Passes::Run(const PassSpec& spec, PassProgress& progress) {
  auto saved = mirror_.Checkpoint(PassCheckpoint(spec.name));
  if (!saved) return saved.error();
  progress = ParsePassProgress(spec, *saved);
  progress.unsupported = unsupported_ && unsupported_(spec.kind);
  const int64_t now = clock_.NowMs();
  const bool running = progress.started_ms && !progress.finished_ms;
  if (progress.unsupported ||
      (!running && progress.started_ms && now - *progress.started_ms < spec.interval_ms)) {
    return int64_t{0};
  }
  store::TargetKey after{spec.kind, "", ""};
  if (running) {
    boost::system::error_code ec;
    json::value value = json::parse(saved->value_or("{}"), ec);
    const json::object* object = !ec ? value.if_object() : nullptr;
    for (auto [field, into] :
         {std::pair{"after", &after.scope_id}, std::pair{"after_object", &after.object_id}}) {
      const json::value* at = object != nullptr ? object->if_contains(field) : nullptr;
      if (at != nullptr && at->is_string()) *into = std::string(at->as_string());
    }
    log::Info(Cat("pass ", spec.name, ": resuming after \"", after.ToString(), "\" (",
                  progress.marked, " targets marked so far)"));
  } else {
    progress = PassProgress{spec.name, spec.interval_ms, now, std::nullopt, 0, false};
  }
  progress.unsupported = false;  // a restart tries again
  auto targets = Targets(spec);
  if (!targets) return targets.error();
  auto next =
      std::upper_bound(targets->begin(), targets->end(), after, [](const auto& a, const auto& b) {
        return std::tie(a.scope_id, a.object_id) < std::tie(b.scope_id, b.object_id);
      });
  int64_t marked = 0;
  while (next != targets->end()) {
    std::vector<store::TargetKey> batch;
    for (; next != targets->end() && batch.size() < kBatch; ++next) batch.push_back(*next);
    LBMIRROR_RETURN_IF_ERROR(queue_.MarkDirty(batch, ""));
    marked += static_cast<int64_t>(batch.size());
    progress.marked += static_cast<int64_t>(batch.size());
    LBMIRROR_RETURN_IF_ERROR(
        mirror_.SetCheckpoint(PassCheckpoint(spec.name), Serialize(progress, &batch.back())));
    if (marked_) marked_();
  }
  progress.finished_ms = clock_.NowMs();
  LBMIRROR_RETURN_IF_ERROR(
      mirror_.SetCheckpoint(PassCheckpoint(spec.name), Serialize(progress, nullptr)));
  log::Info(Cat("pass ", spec.name, ": marked ", progress.marked, " ",
                store::TargetKindName(spec.kind), " targets"));
  return marked;
}

Result<int64_t> Passes::RunDue() {
  int64_t marked = 0;
  for (size_t i = 0; i < specs_.size(); ++i) {
    if (specs_[i].interval_ms <= 0) continue;
    PassProgress progress;
    {
      std::lock_guard lock(mutex_);
      progress = progress_[i];
    }
    auto ran = Run(specs_[i], progress);
    {
      std::lock_guard lock(mutex_);
      progress_[i] = progress;
    }
    if (!ran) return ran.error().WithContext(Cat("pass ", specs_[i].name));
    marked += *ran;
  }
  return marked;
}

}  // namespace lbmirror::sync
