// lbmirror backfill: lists every room through the REST API, marks its targets and mirrors them
// with an in-process worker pool, showing progress. Resumable: an interrupted run continues
// from its last listed page when started again with the same filters.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <functional>
#include <optional>
#include <thread>

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/store_factory.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/text.h"
#include "sync/engine.h"
#include "sync/passes.h"
#include "sync/reconciler.h"

namespace lbmirror::cli {

namespace {
std::atomic<int> g_signal{0};
extern "C" void OnSignal(int signal) { g_signal = signal; }

// Progress on one terminal line, or a log line every few seconds when not on a terminal.
class ProgressDisplay {
 public:
  explicit ProgressDisplay(const Clock& clock)
      : clock_(clock), tty_(isatty(STDERR_FILENO) == 1), start_ms_(clock.NowMs()) {}

  void Show(const sync::ReconcileCounts& counts, const store::QueueStatus* queue, int64_t total,
            bool final) {
    int64_t now = clock_.NowMs();
    if (!final && now - last_ms_ < (tty_ ? 200 : 5'000)) return;
    last_ms_ = now;
    double seconds = std::max<int64_t>(1, now - start_ms_) / 1000.0;
    std::string line = Cat(counts.rooms_listed, " rooms found");
    if (queue != nullptr) {
      int64_t done = std::max<int64_t>(0, total - queue->pending);
      double rate = done / seconds;
      line += Cat(", ", done, "/", total, " targets done, ", queue->failed, " failed, ",
                  static_cast<int64_t>(rate * 10) / 10.0, "/s");
      int64_t left = queue->pending - queue->failed;
      if (!final && rate > 0 && left > 0)
        line += Cat(", about ", static_cast<int64_t>(left / rate) + 1, " s left");
    } else {
      line += Cat(", ", counts.targets_marked, " targets marked");
    }
    if (tty_) {
      std::fprintf(stderr, "\r\033[Kbackfill: %s%s", line.c_str(), final ? "\n" : "");
      std::fflush(stderr);
    } else {
      log::Info("backfill: " + line);
    }
  }

 private:
  const Clock& clock_;
  bool tty_;
  int64_t start_ms_;
  int64_t last_ms_ = 0;
};
// What a backfill does: the room kinds it marks through the reconciler, and whether it then
// runs the passes of data no webhook announces (every known user's inbox, the groups).
struct BackfillScope {
  sync::ReconcileOptions rooms;
  sync::PassIntervals passes;  // 1: run once now; 0: not
};

// The scope of the options; nullopt, with the exit code in `code`, when wrong.
std::optional<BackfillScope> ReadBackfillScope(const ApiOptions& api,
                                               const BackfillOptions& options, int& code) {
  auto fail = [&code](const std::string& message) {
    code = ConfigError(message);
    return std::nullopt;
  };
  if (std::string problem = CheckApiOptions(api); !problem.empty()) return fail(problem);
  BackfillScope scope;
  scope.rooms.room_prefix = options.room_prefix;
  scope.rooms.kinds.clear();
  for (const std::string& name : SplitAny(options.kinds, ", ")) {
    auto kind = store::ParseTargetKind(name);
    if (!kind || *kind == store::TargetKind::kNotification ||
        *kind == store::TargetKind::kVersionYdoc) {
      return fail(Cat("--kinds: unknown kind \"", name,
                      "\" (choose from room, storage, ydoc, presence, thread, inbox, groups, ",
                      "versions, user_settings, room_settings, thread_subs, feeds)"));
    }
    if (*kind == store::TargetKind::kInbox) {
      scope.passes.inbox_ms = 1;
    } else if (*kind == store::TargetKind::kGroups) {
      scope.passes.groups_ms = 1;
    } else if (*kind == store::TargetKind::kVersions) {
      scope.passes.versions_ms = 1;
    } else if (*kind == store::TargetKind::kNotificationSettings ||
               *kind == store::TargetKind::kRoomSubscriptionSettings) {
      scope.passes.settings_ms = 1;
    } else if (*kind == store::TargetKind::kThreadSubscriptions) {
      scope.passes.subscriptions_ms = 1;
    } else if (*kind == store::TargetKind::kFeeds) {
      scope.passes.feeds_ms = 1;
    } else if (*kind == store::TargetKind::kFeedMessages) {
      return fail("--kinds: feed_messages are read with their feeds (feeds)");
    } else {
      scope.rooms.kinds.push_back(*kind);
    }
  }
  if (scope.rooms.kinds.empty() && !scope.passes.Any()) {
    return fail("--kinds needs at least one kind");
  }
  if (options.workers < 1) return fail("--workers must be at least 1");
  return scope;
}

// Cancels the reconciler's listing on SIGINT or SIGTERM until destroyed.
class InterruptWatcher {
 public:
  explicit InterruptWatcher(sync::Reconciler& reconciler) {
    std::signal(SIGINT, OnSignal);
    std::signal(SIGTERM, OnSignal);
    thread_ = std::thread([this, &reconciler] {
      while (!finished_ && g_signal == 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      if (g_signal != 0) reconciler.Cancel();
    });
  }
  ~InterruptWatcher() {
    finished_ = true;
    thread_.join();
  }
  InterruptWatcher(const InterruptWatcher&) = delete;
  InterruptWatcher& operator=(const InterruptWatcher&) = delete;

  static bool Interrupted() { return g_signal != 0; }

 private:
  std::atomic<bool> finished_{false};
  std::thread thread_;
};

// Waits until every target is done or failed, showing progress, then runs `finish` (which
// records the stage as done); returns the exit code.
int AwaitTargets(store::Store& store, const std::function<void()>& finish,
                 const sync::ReconcileCounts& counts, int64_t total, ProgressDisplay& display) {
  for (;;) {
    if (InterruptWatcher::Interrupted()) {
      log::Warn("backfill interrupted: run the same command again to resume");
      return 130;
    }
    auto queue = store.Queue(5);
    if (!queue) {
      log::Warn(Cat("cannot read the work queue: ", queue.error().ToString()));
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    bool done = queue->pending - queue->failed <= 0;
    display.Show(counts, &*queue, total, done);
    if (!done) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      continue;
    }
    for (const store::FailedTarget& failure : queue->failures) {
      log::Warn(Cat(failure.key.ToString(), " failed ", failure.attempts,
                    " time(s): ", failure.last_error));
    }
    if (queue->failed > 0) {
      log::Error(
          Cat("backfill finished with ", queue->failed,
              " failed targets; they are retried by `lbmirror serve`, see `lbmirror status`"));
      return 1;
    }
    finish();
    return 0;
  }
}
}  // namespace

// After the rooms: the passes asked for (the inbox of every user the mirror now knows, the
// groups), as serve runs them (resuming an interrupted one).
int BackfillPasses(store::Store& store, sync::Engine& engine, const Clock& clock,
                   const sync::PassIntervals& intervals, const sync::ReconcileCounts& rooms,
                   ProgressDisplay& display) {
  auto before = store.Queue(0);
  if (!before) {
    log::Error(Cat("cannot read the work queue: ", before.error().ToString()));
    return 1;
  }
  sync::Passes passes(
      store, store, clock, sync::PassSpecs(intervals),
      [&engine](store::TargetKind kind) { return engine.Unsupported(kind); },
      [&engine] { engine.Notify(); });
  auto marked = passes.RunDue();
  if (!marked) {
    log::Error(Cat("backfill failed: ", marked.error().ToString()));
    return 1;
  }
  auto report = [&] {
    const std::vector<sync::PassProgress> progress = passes.Progress();
    for (size_t i = 0; i < progress.size(); ++i) {
      const sync::PassSpec& spec = passes.specs()[i];
      if (spec.interval_ms == 0) continue;
      log::Info(engine.Unsupported(spec.kind)
                    ? Cat(spec.name,
                          ": Liveblocks answers 501 (this server does not offer it); "
                          "skipped")
                    : Cat(spec.name, " done: ", progress[i].marked, " targets read"));
    }
  };
  return AwaitTargets(store, report, rooms, before->pending + *marked, display);
}

int RunBackfill(const CommonOptions& common, const ApiOptions& api,
                const BackfillOptions& options) {
  int code = 0;
  std::optional<BackfillScope> backfill = ReadBackfillScope(api, options, code);
  if (!backfill) return code;
  const sync::ReconcileOptions* scope = &backfill->rooms;
  const Clock& clock = SystemClock::Instance();
  auto store = OpenStore(common.database_url, common.table_prefix, options.workers + 2, clock,
                         /*hard_deletes=*/false, /*coalesce_ms=*/0, {},
                         options.change_feed ? "backfill" : "");
  if (!store) return ConfigError(store.error().ToString());
  if ((code = PrepareSchema(**store, false)) != 0) return code;

  MirrorWorkers workers(**store, api, clock, options.workers, options.flow_keys);
  sync::Engine& engine = workers.engine();
  sync::Reconciler reconciler(**store, **store, workers.client(), *scope);
  InterruptWatcher interrupts(reconciler);
  struct StopEngine {  // workers finish or hand back their targets, before the watcher ends
    sync::Engine& engine;
    ~StopEngine() { engine.Stop(); }
  } stop_engine{engine};

  const std::string checkpoint = Cat("backfill:", options.room_prefix, ":", options.kinds);
  auto before = (*store)->Queue(0);
  if (!before) {
    log::Error(Cat("cannot read the work queue: ", before.error().ToString()));
    return 1;
  }
  ProgressDisplay display(clock);
  engine.Start();
  if (scope->kinds.empty()) {
    return BackfillPasses(**store, engine, clock, backfill->passes, {}, display);
  }
  sync::ReconcileCounts listed;
  auto counts =
      reconciler.MarkAll(checkpoint, options.restart, [&](const sync::ReconcileCounts& c) {
        listed = c;
        engine.Notify();
        display.Show(c, nullptr, 0, false);
      });
  if (!counts) {
    if (InterruptWatcher::Interrupted()) {
      display.Show(listed, nullptr, 0, true);
      log::Warn("backfill interrupted while listing rooms: run the same command again to resume");
      return 130;
    }
    log::Error(Cat("backfill failed: ", counts.error().ToString()));
    return 1;
  }
  if (counts->resumed) {
    log::Info(Cat("resuming an interrupted backfill after ", counts->rooms_listed, " rooms"));
  }
  if (counts->rooms_gone > 0) {
    log::Info(Cat(counts->rooms_gone,
                  " mirrored rooms are no longer in Liveblocks: they will be marked deleted"));
  }
  code = AwaitTargets(
      **store,
      [&] {
        if (Status saved = reconciler.Finish(checkpoint); !saved) {
          log::Warn(Cat("cannot record the end of the backfill: ", saved.error().ToString()));
        }
        log::Info(Cat("backfill done: ", counts->rooms_listed, " rooms, ", counts->targets_marked,
                      " targets marked"));
      },
      *counts, before->pending + counts->targets_marked, display);
  if (code != 0 || !backfill->passes.Any()) return code;
  return BackfillPasses(**store, engine, clock, backfill->passes, *counts, display);
}

}  // namespace lbmirror::cli
