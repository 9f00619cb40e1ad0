#include "sync/passes.h"

#include <algorithm>
#include <boost/json.hpp>
#include <memory>

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

std::string Serialize(const PassProgress& progress, const std::string& after) {
  json::object out{{"marked", progress.marked}, {"after", after}};
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
       intervals.settings_ms}};
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

Result<std::vector<std::string>> Passes::Scopes(const PassSpec& spec) {
  if (spec.kind == store::TargetKind::kGroups)
    return std::vector<std::string>{std::string(kProjectScope)};
  if (spec.kind == store::TargetKind::kVersions) {
    auto rooms = mirror_.LiveRooms("");
    if (!rooms) return rooms.error();
    std::vector<std::string> ids;
    for (const store::RoomRow& room : *rooms) ids.push_back(room.room_id);
    std::sort(ids.begin(), ids.end());
    return ids;
  }
  if (spec.kind != store::TargetKind::kInbox &&
      spec.kind != store::TargetKind::kNotificationSettings &&
      spec.kind != store::TargetKind::kRoomSubscriptionSettings) {
    return Internal(Cat("no scopes for ", store::TargetKindName(spec.kind), " passes"));
  }
  auto users = mirror_.KnownUsers();
  if (!users) return users.error();
  // Users given access to a room by id are known too, whether or not they wrote anything.
  auto rooms = mirror_.LiveRooms("");
  if (!rooms) return rooms.error();
  for (const store::RoomRow& room : *rooms) {
    boost::system::error_code ec;
    json::value accesses = json::parse(room.users_accesses, ec);
    if (ec || !accesses.is_object()) continue;
    for (const auto& entry : accesses.as_object()) users->emplace_back(entry.key());
  }
  std::sort(users->begin(), users->end());
  users->erase(std::unique(users->begin(), users->end()), users->end());
  return users;
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
  std::string after;
  if (running) {
    boost::system::error_code ec;
    json::value value = json::parse(saved->value_or("{}"), ec);
    const json::value* at =
        !ec && value.is_object() ? value.as_object().if_contains("after") : nullptr;
    if (at != nullptr && at->is_string()) after = std::string(at->as_string());
    log::Info(Cat("pass ", spec.name, ": resuming after \"", after, "\" (", progress.marked,
                  " targets marked so far)"));
  } else {
    progress = PassProgress{spec.name, spec.interval_ms, now, std::nullopt, 0, false};
  }
  progress.unsupported = false;  // a restart tries again
  auto scopes = Scopes(spec);
  if (!scopes) return scopes.error();
  auto next = std::upper_bound(scopes->begin(), scopes->end(), after);
  int64_t marked = 0;
  while (next != scopes->end()) {
    std::vector<store::TargetKey> batch;
    for (; next != scopes->end() && batch.size() < kBatch; ++next) {
      batch.push_back({spec.kind, *next, ""});
    }
    LBMIRROR_RETURN_IF_ERROR(queue_.MarkDirty(batch));
    marked += static_cast<int64_t>(batch.size());
    progress.marked += static_cast<int64_t>(batch.size());
    LBMIRROR_RETURN_IF_ERROR(mirror_.SetCheckpoint(PassCheckpoint(spec.name),
                                                   Serialize(progress, batch.back().scope_id)));
    if (marked_) marked_();
  }
  progress.finished_ms = clock_.NowMs();
  LBMIRROR_RETURN_IF_ERROR(
      mirror_.SetCheckpoint(PassCheckpoint(spec.name), Serialize(progress, "")));
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
