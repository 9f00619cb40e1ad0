// Passes: reconciliation of the data no webhook announces. Each pass marks, at its own cadence,
// one target per scope (every known user's inbox, for the readAt and the deletions of inbox
// notifications; the project's groups); the background workers read them within the REST
// budget's leftover.
// A pass keeps its progress in the checkpoint "pass:NAME" ({"started_ms", "after" and, for
// kinds with objects, "after_object", "finished_ms", "marked"}): one interrupted by a restart
// resumes after the last scope it marked, and a finished one waits for its interval from its start,
// whichever process ran it. RunDue is not thread-safe (one caller: the loop, or a test).
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/periodic.h"
#include "core/result.h"
#include "store/store.h"

namespace lbmirror::sync {

struct PassSpec {
  std::string name;         // "inbox": the checkpoint is "pass:inbox"
  store::TargetKind kind;   // what it marks, one target per scope
  int64_t interval_ms = 0;  // from one start to the next; 0: the pass is off
};

// A pass as its checkpoint says it went (for status, metrics and the console).
struct PassProgress {
  std::string name;
  int64_t interval_ms = 0;
  std::optional<int64_t> started_ms;   // the latest pass's start
  std::optional<int64_t> finished_ms;  // when it had marked every scope; unset while running
  int64_t marked = 0;                  // targets it marked so far
  bool unsupported = false;            // the server answers 501 to its reads: not marked
};

// How often each pass of this version runs (0: off).
struct PassIntervals {
  int64_t inbox_ms = 0;          // every known user's inbox
  int64_t groups_ms = 0;         // the project's groups and their members
  int64_t versions_ms = 0;       // every live room's version history
  int64_t settings_ms = 0;       // every known user's notification and room subscription settings
  int64_t subscriptions_ms = 0;  // every live thread's subscriptions
  int64_t feeds_ms = 0;          // every live room's feeds (and then each feed's messages)

  bool Any() const {
    return inbox_ms > 0 || groups_ms > 0 || versions_ms > 0 || settings_ms > 0 ||
           subscriptions_ms > 0 || feeds_ms > 0;
  }
};
std::vector<PassSpec> PassSpecs(const PassIntervals& intervals);

// The checkpoint name of a pass, and its progress as the checkpoint's value records it.
std::string PassCheckpoint(std::string_view name);
PassProgress ParsePassProgress(const PassSpec& spec, const std::optional<std::string>& value);

class Passes {
 public:
  // Whether the server is known not to implement a kind's reads (Engine::Unsupported).
  using Unsupported = std::function<bool(store::TargetKind)>;

  // `mirror`, `queue` and `clock` must outlive this; `marked` runs after targets were marked.
  Passes(store::MirrorReads& mirror, store::TargetQueue& queue, const Clock& clock,
         std::vector<PassSpec> specs, Unsupported unsupported, std::function<void()> marked);
  ~Passes();

  // Runs, to its end, every pass whose time has come (and resumes an interrupted one);
  // returns how many targets were marked.
  Result<int64_t> RunDue();
  // Looks on a thread of its own, from now: every half of the shortest interval, between
  // half a second and ten seconds.
  void Start();
  void Stop();
  // The latest progress of each pass, as this process last read or wrote it.
  std::vector<PassProgress> Progress() const;
  const std::vector<PassSpec>& specs() const { return specs_; }

 private:
  // The targets a pass marks, in (scope, object) order: for an inbox, one per user the mirror
  // knows; for thread subscriptions, one per live thread.
  Result<std::vector<store::TargetKey>> Targets(const PassSpec& spec);
  Result<int64_t> Run(const PassSpec& spec, PassProgress& progress);

  store::MirrorReads& mirror_;
  store::TargetQueue& queue_;
  const Clock& clock_;
  std::vector<PassSpec> specs_;
  Unsupported unsupported_;
  std::function<void()> marked_;
  mutable std::mutex mutex_;
  std::vector<PassProgress> progress_;  // by spec, guarded by mutex_
  std::unique_ptr<Periodic> periodic_;
};

}  // namespace lbmirror::sync
