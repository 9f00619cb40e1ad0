#include "sync/reconciler.h"

#include <algorithm>
#include <boost/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "core/limits.h"
#include "core/log.h"
#include "core/text.h"
#include "sync/projection.h"

namespace lbmirror::sync {

namespace json = boost::json;
using store::TargetKey;
using store::TargetKind;

struct Reconciler::Page {
  std::vector<json::value> rooms;
  std::string next_cursor;  // empty on the last page
};

namespace {
Error ResponseError(const liveblocks::RestResponse& response, std::string_view what) {
  if (response.status == 401 || response.status == 403) {
    return Error(ErrorCode::kUnauthenticated,
                 Cat(what, ": ", liveblocks::DescribeErrorResponse(response),
                     " (check LIVEBLOCKS_SECRET_KEY: it must be a secret key of this project)"),
                 false, response.status);
  }
  if (response.status == 429 || response.status >= 500) {
    return Unavailable(Cat(what, ": ", liveblocks::DescribeErrorResponse(response)),
                       response.status);
  }
  return Error(ErrorCode::kInternal, Cat(what, ": ", liveblocks::DescribeErrorResponse(response)),
               false, response.status);
}

// The same JSON value: the same text, or texts that differ only in spelling (spaces, the
// order of keys: Postgres's jsonb and MySQL's JSON keep the value, not the text).
bool SameJson(const std::string& a, const std::string& b) {
  if (a == b) return true;
  json::parse_options options;
  options.max_depth = kMaxNestingDepth;
  boost::system::error_code ec_a, ec_b;
  json::value va = json::parse(a, ec_a, {}, options);
  json::value vb = json::parse(b, ec_b, {}, options);
  return !ec_a && !ec_b && va == vb;
}

// Whether the mirrored room row equals the room the API lists.
bool SameRoom(const store::RoomRow& mirrored, const store::RoomRow& api) {
  return mirrored.organization_id == api.organization_id && mirrored.created_at == api.created_at &&
         mirrored.last_connection_at == api.last_connection_at &&
         SameJson(mirrored.metadata, api.metadata) &&
         SameJson(mirrored.default_accesses, api.default_accesses) &&
         SameJson(mirrored.users_accesses, api.users_accesses) &&
         SameJson(mirrored.groups_accesses, api.groups_accesses);
}

std::optional<int64_t> LastConnectionMs(const json::value& room) {
  const json::value* at =
      room.is_object() ? room.as_object().if_contains("lastConnectionAt") : nullptr;
  if (at == nullptr || !at->is_string()) return std::nullopt;
  return ParseIsoTimestampMs(at->as_string());
}

bool Pending(const store::RoomContent& content, TargetKind kind) {
  return std::find(content.pending.begin(), content.pending.end(), kind) != content.pending.end();
}

// An empty Yjs document: what ydoc-binary answers for a room without one.
bool EmptyYdoc(std::string_view state) { return state == std::string_view("\0\0", 2); }
}  // namespace

Reconciler::Reconciler(store::MirrorReads& mirror, store::TargetQueue& queue,
                       liveblocks::LiveblocksClient& client, ReconcileOptions options)
    : mirror_(mirror), queue_(queue), client_(client), options_(std::move(options)) {
  options_.page_size = std::clamp(options_.page_size, 1, 100);
}

bool Reconciler::Wants(TargetKind kind) const {
  return std::find(options_.kinds.begin(), options_.kinds.end(), kind) != options_.kinds.end();
}

Result<Reconciler::Page> Reconciler::ListPage(const std::string& cursor) {
  auto response = client_.GetBackground(liveblocks::RoomsPath(cursor, options_.page_size));
  if (!response) return response.error();
  if (response->status != 200) return ResponseError(*response, "listing rooms");
  boost::system::error_code ec;
  json::value body = json::parse(response->body, ec);
  const json::value* data =
      !ec && body.is_object() ? body.as_object().if_contains("data") : nullptr;
  if (data == nullptr || !data->is_array()) {
    return Internal("listing rooms: the answer has no \"data\" array");
  }
  Page page;
  for (const json::value& room : data->as_array()) page.rooms.push_back(room);
  const json::value* next = body.as_object().if_contains("nextCursor");
  // The SDK stops on any falsy cursor: null, absent or "".
  if (next != nullptr && next->is_string()) page.next_cursor = std::string(next->as_string());
  return page;
}

Result<std::optional<std::vector<std::string>>> Reconciler::ListThreads(
    const std::string& room_id, std::vector<std::string>* updated) {
  if (threads_unavailable_) return std::optional<std::vector<std::string>>();
  auto response = client_.GetBackground(liveblocks::ThreadsPath(room_id));
  if (!response) return response.error();
  if (response->status == 404)
    return std::optional<std::vector<std::string>>(std::vector<std::string>());
  if (response->status == 401 || response->status == 403 || response->status == 429 ||
      (response->status >= 500 && response->status != 501)) {
    return ResponseError(*response, Cat("listing the threads of ", room_id));
  }
  if (response->status != 200) {
    if (response->status == 501) threads_unavailable_ = true;  // not offered: do not ask again
    if (!threads_unavailable_logged_) {
      threads_unavailable_logged_ = true;
      log::Info(Cat("this Liveblocks API does not list threads (",
                    liveblocks::DescribeErrorResponse(*response),
                    "): threads are mirrored from their webhooks only"));
    }
    return std::optional<std::vector<std::string>>();
  }
  boost::system::error_code ec;
  json::value body = json::parse(response->body, ec);
  const json::value* data =
      !ec && body.is_object() ? body.as_object().if_contains("data") : nullptr;
  if (data == nullptr || !data->is_array()) {
    return Internal(Cat("listing the threads of ", room_id, ": the answer has no \"data\" array"));
  }
  std::vector<std::string> ids;
  for (const json::value& thread : data->as_array()) {
    const json::value* id = thread.is_object() ? thread.as_object().if_contains("id") : nullptr;
    if (id == nullptr || !id->is_string()) continue;
    ids.emplace_back(id->as_string());
    if (updated != nullptr) {
      const json::value* at = thread.as_object().if_contains("updatedAt");
      auto ms =
          at != nullptr && at->is_string() ? ParseIsoTimestampMs(at->as_string()) : std::nullopt;
      updated->push_back(ms ? FormatSqlTimestamp(*ms) : std::string());
    }
  }
  return std::optional<std::vector<std::string>>(std::move(ids));
}

Result<int64_t> Reconciler::MarkGoneRooms(const std::vector<std::string>& listed) {
  if (!Wants(TargetKind::kRoom)) return 0;
  auto mirrored = mirror_.LiveRooms(options_.room_prefix);
  if (!mirrored) return mirrored.error();
  std::unordered_set<std::string> present(listed.begin(), listed.end());
  std::vector<TargetKey> targets;
  for (const store::RoomRow& row : *mirrored) {
    if (!present.contains(row.room_id)) targets.push_back({TargetKind::kRoom, row.room_id, ""});
  }
  LBMIRROR_RETURN_IF_ERROR(queue_.MarkDirty(targets, ""));
  return static_cast<int64_t>(targets.size());
}

Result<ReconcileCounts> Reconciler::MarkAll(const std::string& checkpoint, bool restart,
                                            const Progress& progress) {
  ReconcileCounts counts;
  std::string cursor;
  if (!checkpoint.empty() && !restart) {
    auto saved = mirror_.Checkpoint(checkpoint);
    if (!saved) return saved.error();
    boost::system::error_code ec;
    json::value value = *saved ? json::parse(**saved, ec) : json::value();
    if (!ec && value.is_object() && !value.as_object().contains("finished")) {
      const json::object& state = value.as_object();
      counts.resumed = true;
      if (const auto* c = state.if_contains("cursor"); c != nullptr && c->is_string()) {
        cursor = std::string(c->as_string());
      }
      if (const auto* n = state.if_contains("rooms"); n != nullptr && n->is_int64()) {
        counts.rooms_listed = n->as_int64();
      }
      if (state.contains("listed")) return counts;  // only the mirroring was left to do
    }
  }
  std::vector<std::string> listed;
  for (;;) {
    if (cancelled_) return Unavailable("backfill interrupted");
    auto page = ListPage(cursor);
    if (!page) return page.error();
    std::vector<TargetKey> targets;
    for (const json::value& room : page->rooms) {
      const json::value* id = room.is_object() ? room.as_object().if_contains("id") : nullptr;
      if (id == nullptr || !id->is_string()) continue;
      std::string room_id(id->as_string());
      if (!StartsWith(room_id, options_.room_prefix)) continue;
      ++counts.rooms_listed;
      for (TargetKind kind :
           {TargetKind::kRoom, TargetKind::kStorage, TargetKind::kYdoc, TargetKind::kPresence}) {
        if (Wants(kind)) targets.push_back({kind, room_id, ""});
      }
      if (Wants(TargetKind::kThread)) {
        auto threads = ListThreads(room_id, nullptr);
        if (!threads) return threads.error();
        for (const std::string& thread_id : threads->value_or(std::vector<std::string>())) {
          targets.push_back({TargetKind::kThread, room_id, thread_id});
        }
      }
      listed.push_back(std::move(room_id));
    }
    LBMIRROR_RETURN_IF_ERROR(queue_.MarkDirty(targets, ""));
    counts.targets_marked += static_cast<int64_t>(targets.size());
    ++counts.pages;
    cursor = page->next_cursor;
    if (!checkpoint.empty()) {
      json::object state{{"cursor", cursor}, {"rooms", counts.rooms_listed}};
      if (cursor.empty()) state["listed"] = true;
      LBMIRROR_RETURN_IF_ERROR(mirror_.SetCheckpoint(checkpoint, json::serialize(state)));
    }
    if (progress) progress(counts);
    if (cursor.empty()) break;
  }
  // Rooms deleted while nobody listened. A resumed pass has not seen the first pages, so it
  // leaves this to the next complete one.
  if (!counts.resumed) {
    auto gone = MarkGoneRooms(listed);
    if (!gone) return gone.error();
    counts.rooms_gone = *gone;
    counts.targets_marked += *gone;
  }
  if (progress) progress(counts);
  return counts;
}

Status Reconciler::Finish(const std::string& checkpoint) {
  return mirror_.SetCheckpoint(checkpoint, R"({"finished":true})");
}

Result<bool> Reconciler::StorageDiffers(const std::string& room_id,
                                        const store::RoomContent& content) {
  auto storage = client_.GetBackground(liveblocks::StoragePath(room_id));
  if (!storage) return storage.error();
  if (storage->status == 404) return content.document.has_value();
  if (storage->status != 200)
    return ResponseError(*storage, Cat("reading the Storage of ", room_id));
  return !content.document || !SameJson(*content.document, storage->body);
}

Result<bool> Reconciler::YdocDiffers(const std::string& room_id,
                                     const store::RoomContent& content) {
  auto ydoc = client_.GetBackground(liveblocks::YdocBinaryPath(room_id));
  if (!ydoc) return ydoc.error();
  if (ydoc->status == 404) return content.ydoc_state.has_value();
  if (ydoc->status != 200) {
    return ResponseError(*ydoc, Cat("reading the Yjs document of ", room_id));
  }
  return content.ydoc_state ? *content.ydoc_state != ydoc->body : !EmptyYdoc(ydoc->body);
}

Status Reconciler::CompareThreads(const std::string& room_id, const store::RoomContent& content,
                                  std::vector<TargetKey>& targets, ReconcileCounts& counts) {
  std::vector<std::string> updated;
  auto threads = ListThreads(room_id, &updated);
  if (!threads) return threads.error();
  if (!*threads) return Ok();  // this API does not list threads
  auto repair = [&](const std::string& thread_id) {
    targets.push_back({TargetKind::kThread, room_id, thread_id});
    ++counts.repaired;
  };
  std::unordered_set<std::string> seen;
  for (size_t i = 0; i < (*threads)->size(); ++i) {
    const std::string& thread_id = (**threads)[i];
    seen.insert(thread_id);
    auto mirrored = content.threads.find(thread_id);
    if (mirrored == content.threads.end() || mirrored->second.value_or("") != updated[i]) {
      repair(thread_id);
    }
  }
  for (const auto& [thread_id, at] : content.threads) {
    if (!seen.contains(thread_id)) repair(thread_id);
  }
  return Ok();
}

Status Reconciler::CompareContent(const std::string& room_id, const store::RoomContent& content,
                                  std::vector<TargetKey>& targets, ReconcileCounts& counts) {
  // Each kind with a read pending is left to that read.
  auto repair_if = [&](TargetKind kind,
                       Result<bool> (Reconciler::*differs)(const std::string&,
                                                           const store::RoomContent&)) -> Status {
    if (!Wants(kind) || Pending(content, kind)) return Ok();
    auto result = (this->*differs)(room_id, content);
    if (!result) return result.error();
    if (*result) {
      targets.push_back({kind, room_id, ""});
      ++counts.repaired;
    }
    return Ok();
  };
  LBMIRROR_RETURN_IF_ERROR(repair_if(TargetKind::kStorage, &Reconciler::StorageDiffers));
  LBMIRROR_RETURN_IF_ERROR(repair_if(TargetKind::kYdoc, &Reconciler::YdocDiffers));
  // Presence changes all the time and has its own events: re-read, not counted.
  if (Wants(TargetKind::kPresence)) targets.push_back({TargetKind::kPresence, room_id, ""});
  if (Wants(TargetKind::kThread) && !Pending(content, TargetKind::kThread)) {
    return CompareThreads(room_id, content, targets, counts);
  }
  return Ok();
}

Result<ReconcileCounts> Reconciler::Compare(std::optional<int64_t> content_since_ms,
                                            bool unknown_too) {
  ReconcileCounts counts;
  auto mirrored_rows = mirror_.LiveRooms(options_.room_prefix);
  if (!mirrored_rows) return mirrored_rows.error();
  std::unordered_map<std::string, store::RoomRow> mirrored;
  for (store::RoomRow& row : *mirrored_rows) mirrored.emplace(row.room_id, std::move(row));

  std::vector<std::string> listed;
  std::string cursor;
  for (;;) {
    auto page = ListPage(cursor);
    if (!page) return page.error();
    for (const json::value& room : page->rooms) {
      if (cancelled_) return Unavailable("reconciliation interrupted");
      auto api = RoomFromJson(room);
      if (!api || !StartsWith(api->room_id, options_.room_prefix)) continue;
      ++counts.rooms_listed;
      const std::string& room_id = api->room_id;
      listed.push_back(room_id);
      std::vector<TargetKey> targets;
      auto it = mirrored.find(room_id);
      const bool room_differs =
          it != mirrored.end() && Wants(TargetKind::kRoom) && !SameRoom(it->second, *api);
      std::optional<int64_t> connected = LastConnectionMs(room);
      const bool check =
          it != mirrored.end() &&
          (!content_since_ms || (connected ? *connected >= *content_since_ms : unknown_too));
      if (it != mirrored.end() && !room_differs && !check) continue;  // nothing to look at
      auto content = mirror_.Content(room_id);
      if (!content) return content.error();

      if (it == mirrored.end()) {
        // Not mirrored at all: its roomCreated was lost (unless its read is on the way), or
        // the room was renamed to this id (no webhook says so). Its threads too, by the listing.
        if (!Pending(*content, TargetKind::kRoom)) {
          for (TargetKind kind : {TargetKind::kRoom, TargetKind::kStorage, TargetKind::kYdoc,
                                  TargetKind::kPresence}) {
            if (Wants(kind)) targets.push_back({kind, room_id, ""});
          }
          ++counts.repaired;
          if (Wants(TargetKind::kThread)) {
            LBMIRROR_RETURN_IF_ERROR(CompareThreads(room_id, *content, targets, counts));
          }
        }
      } else if (room_differs && !Pending(*content, TargetKind::kRoom)) {
        targets.push_back({TargetKind::kRoom, room_id, ""});
        ++counts.rooms_refreshed;
      }

      if (check) {
        ++counts.rooms_checked;
        LBMIRROR_RETURN_IF_ERROR(CompareContent(room_id, *content, targets, counts));
      }
      LBMIRROR_RETURN_IF_ERROR(queue_.MarkDirty(targets, ""));
      counts.targets_marked += static_cast<int64_t>(targets.size());
    }
    ++counts.pages;
    cursor = page->next_cursor;
    if (cursor.empty()) break;
  }
  auto gone = MarkGoneRooms(listed);
  if (!gone) return gone.error();
  counts.rooms_gone = *gone;
  counts.repaired += *gone;
  counts.targets_marked += *gone;
  return counts;
}

ReconcileLoop::ReconcileLoop(store::MirrorReads& mirror, store::TargetQueue& queue,
                             liveblocks::LiveblocksClient& client, const Clock& clock,
                             ReconcileOptions options, ReconcileLoopOptions loop,
                             std::function<void()> marked)
    : mirror_(mirror),
      clock_(clock),
      reconciler_(mirror, queue, client, std::move(options)),
      loop_(loop),
      marked_(std::move(marked)),
      periodic_(loop.interval_ms, [this] { Pass(); }) {}

ReconcileLoop::~ReconcileLoop() { Stop(); }

void ReconcileLoop::Start() { periodic_.Start(); }

void ReconcileLoop::Stop() {
  reconciler_.Cancel();  // a pass in progress returns at its next room
  periodic_.Stop();
}

void ReconcileLoop::Pass() {
  constexpr std::string_view kCheckpoint = "reconcile";
  const int64_t start = clock_.NowMs();
  // Another replica may have just done it.
  if (auto saved = mirror_.Checkpoint(kCheckpoint); saved && *saved) {
    boost::system::error_code ec;
    json::value value = json::parse(**saved, ec);
    const json::value* at =
        !ec && value.is_object() ? value.as_object().if_contains("started_at") : nullptr;
    if (at != nullptr && at->is_int64() && start - at->as_int64() < loop_.interval_ms / 2 &&
        last_pass_start_ms_.has_value()) {
      log::Debug("reconciliation: another process passed recently; skipping this turn");
      return;
    }
  }
  (void)mirror_.SetCheckpoint(kCheckpoint, json::serialize(json::object{{"started_at", start}}));
  constexpr int64_t kRecentlyActiveMs = 3'600'000;
  std::optional<int64_t> since;
  if (last_pass_start_ms_) {
    since = loop_.poll ? start - kRecentlyActiveMs : *last_pass_start_ms_ - loop_.interval_ms;
  }
  auto counts = reconciler_.Compare(since, /*unknown_too=*/loop_.poll);
  if (!counts) {
    counters_.failed_passes.fetch_add(1);
    log::Warn(Cat("reconciliation pass failed: ", counts.error().ToString()));
    return;
  }
  last_pass_start_ms_ = start;
  counters_.passes.fetch_add(1);
  counters_.repaired.fetch_add(counts->repaired);
  counters_.rooms_refreshed.fetch_add(counts->rooms_refreshed);
  counters_.rooms_gone.fetch_add(counts->rooms_gone);
  counters_.last_pass_end_ms = clock_.NowMs();
  std::string summary = Cat("reconciliation: ", counts->rooms_listed, " rooms listed, ",
                            counts->rooms_checked, " compared, ", counts->repaired,
                            " rows repaired, ", counts->rooms_refreshed, " room rows refreshed, ",
                            counts->rooms_gone, " rooms gone (", clock_.NowMs() - start, " ms)");
  if (counts->repaired > 0 && !loop_.poll) {
    log::Warn(summary + ": rows differed from the API, so a webhook was lost or is still to come");
  } else if (counts->targets_marked > 0 && !loop_.poll) {
    log::Info(summary);
  } else {
    log::Debug(summary);
  }
  if (counts->targets_marked > 0 && marked_) marked_();
}

}  // namespace lbmirror::sync
