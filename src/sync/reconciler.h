// Reconciler: walks every room of the project through the REST API (GET /v2/rooms, paginated)
// and marks targets dirty so that the workers mirror them. Two uses:
//  * MarkAll (`lbmirror backfill`): every room, Storage, Yjs, presence and thread target of every
//    listed room, resumable through a checkpoint after each page;
//  * Compare (reconciliation inside `serve`, and `--poll`): marks only what differs from the
//    API and counts it: room rows whose metadata, accesses or last connection changed (rooms
//    send no event for that), and content (Storage, Yjs state, threads) that differed while no
//    read of it was pending, which means a webhook was lost (or not sent yet: Liveblocks
//    throttles storageUpdated and ydocUpdated).
// Either way, live mirrored rooms that the API no longer lists are marked to be re-read, and a
// 404 then marks them deleted. Not thread-safe: one pass at a time per Reconciler.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/periodic.h"
#include "core/result.h"
#include "liveblocks/client.h"
#include "store/store.h"

namespace lbmirror::sync {

struct ReconcileOptions {
  std::string room_prefix;  // only rooms whose id starts with this
  // Kinds to mark: room, storage, ydoc, presence, thread.
  std::vector<store::TargetKind> kinds = {store::TargetKind::kRoom, store::TargetKind::kStorage,
                                          store::TargetKind::kYdoc, store::TargetKind::kPresence,
                                          store::TargetKind::kThread};
  int page_size = 100;
};

struct ReconcileCounts {
  int64_t pages = 0;
  int64_t rooms_listed = 0;   // rooms the API listed (matching the prefix)
  int64_t rooms_checked = 0;  // rooms whose content was compared (Compare)
  int64_t targets_marked = 0;
  int64_t rooms_gone = 0;       // live in the mirror but no longer listed
  int64_t rooms_refreshed = 0;  // room rows that differed (Compare)
  int64_t repaired = 0;         // rows that differed from the API with no read pending (Compare)
  bool resumed = false;         // MarkAll continued an interrupted pass
};

class Reconciler {
 public:
  using Progress = std::function<void(const ReconcileCounts&)>;

  // All must outlive the reconciler. It reads the mirror and marks what differs.
  Reconciler(store::MirrorReads& mirror, store::TargetQueue& queue,
             liveblocks::LiveblocksClient& client, ReconcileOptions options);

  // Marks every target of every listed room. With a checkpoint name, progress is saved after
  // each page and an unfinished pass of that name is resumed (restart=true starts over).
  Result<ReconcileCounts> MarkAll(const std::string& checkpoint, bool restart,
                                  const Progress& progress = {});
  // Records that the pass behind `checkpoint` has been mirrored completely.
  Status Finish(const std::string& checkpoint);

  // Marks what differs. Content is compared for every room when `content_since_ms` is nullopt;
  // otherwise for rooms whose lastConnectionAt is at or after it, and for rooms that report
  // none when `unknown_too` (the dev server never reports it; in production such a room was
  // never connected to and changes only through REST writes, which send webhooks).
  Result<ReconcileCounts> Compare(std::optional<int64_t> content_since_ms, bool unknown_too = true);

  // Makes a running pass return early (with kUnavailable) at the next room.
  void Cancel() { cancelled_ = true; }

 private:
  struct Page;
  Result<Page> ListPage(const std::string& cursor);
  bool Wants(store::TargetKind kind) const;
  // Thread ids the API lists for a room; nullopt when the API does not offer the listing.
  Result<std::optional<std::vector<std::string>>> ListThreads(const std::string& room_id,
                                                              std::vector<std::string>* updated);
  Result<int64_t> MarkGoneRooms(const std::vector<std::string>& listed);
  // Compare, for one mirrored room: marks its Storage, Yjs document and threads that differ
  // from the REST API (and its presence, always) unless their read is pending.
  Status CompareContent(const std::string& room_id, const store::RoomContent& content,
                        std::vector<store::TargetKey>& targets, ReconcileCounts& counts);
  Result<bool> StorageDiffers(const std::string& room_id, const store::RoomContent& content);
  Result<bool> YdocDiffers(const std::string& room_id, const store::RoomContent& content);
  Status CompareThreads(const std::string& room_id, const store::RoomContent& content,
                        std::vector<store::TargetKey>& targets, ReconcileCounts& counts);

  store::MirrorReads& mirror_;
  store::TargetQueue& queue_;
  liveblocks::LiveblocksClient& client_;
  ReconcileOptions options_;
  std::atomic<bool> cancelled_{false};
  bool threads_unavailable_logged_ = false;
  bool threads_unavailable_ = false;  // the API answered 501 to a threads listing
};

struct ReconcileLoopOptions {
  int64_t interval_ms = 300'000;
  // The first pass compares every room's content. Later ones compare the rooms connected to
  // since the pass before; in poll mode (no webhooks), the rooms connected to in the last hour
  // and those that report no connection time.
  bool poll = false;
};

struct ReconcileLoopCounters {
  std::atomic<int64_t> passes{0};
  std::atomic<int64_t> failed_passes{0};
  std::atomic<int64_t> repaired{0};
  std::atomic<int64_t> rooms_refreshed{0};
  std::atomic<int64_t> rooms_gone{0};
  std::atomic<int64_t> last_pass_end_ms{0};
};

// Runs Compare passes in the background every interval. Replicas sharing a database take
// turns: a pass is skipped when another process started one less than half an interval ago.
class ReconcileLoop {
 public:
  // `marked` is called after a pass that marked targets (to wake the workers).
  ReconcileLoop(store::MirrorReads& mirror, store::TargetQueue& queue,
                liveblocks::LiveblocksClient& client, const Clock& clock, ReconcileOptions options,
                ReconcileLoopOptions loop, std::function<void()> marked);
  ~ReconcileLoop();
  void Start();
  void Stop();  // interrupts a pass in progress and joins
  const ReconcileLoopCounters& counters() const { return counters_; }

 private:
  void Pass();

  store::MirrorReads& mirror_;
  const Clock& clock_;
  Reconciler reconciler_;
  ReconcileLoopOptions loop_;
  std::function<void()> marked_;
  ReconcileLoopCounters counters_;
  std::optional<int64_t> last_pass_start_ms_;
  Periodic periodic_;
};

}  // namespace lbmirror::sync
