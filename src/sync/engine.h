// The sync layer's front header. Engine runs the worker pool: each worker claims a due target
// (lease + fencing token), reads it from the Liveblocks REST API, projects the answer into
// rows and completes the target in one transaction. Failures are retried with exponential
// backoff and jitter; the last error stays on the target for operators. Start/Stop/Notify
// are thread-safe.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/metrics.h"
#include "liveblocks/client.h"
#include "store/target_queue.h"
#include "sync/idle_workers.h"
#include "sync/projection.h"

namespace lbmirror::sync {

struct EngineOptions {
  int workers = 4;
  // Workers of their own for the targets reconciliation passes mark (PassKinds), so that
  // those reads, which wait behind webhook-driven ones for the REST budget, never hold up a
  // worker that webhooks need.
  int background_workers = 1;
  int64_t lease_ms = 30'000;         // a crashed worker's target is taken over after this;
                                     // live claims renew it every third of it
  int64_t idle_poll_ms = 500;        // how often idle workers look for work from elsewhere
  int claim_batch = 4;               // targets a worker claims at once (read in turn, written
                                     // in one transaction)
  int64_t backoff_base_ms = 1'000;   // first retry delay of a failing target
  int64_t backoff_cap_ms = 300'000;  // longest retry delay
  std::string owner;                 // lease owner name (host:pid by default)
  ProjectionOptions projection;
  IdleWorkers::Wait idle_wait;  // how idle workers wait (empty: for real; tests: a fake)
};

struct EngineCounters {
  std::atomic<int64_t> completed{0};
  std::atomic<int64_t> failed{0};
  std::atomic<int64_t> fenced_out{0};
  std::atomic<int64_t> rest_reads{0};
  std::atomic<int64_t> unsupported{0};  // pass targets the server does not implement (501)
  // Time of a transaction that writes the rows of one or several targets (CompleteAll).
  metrics::Histogram write_seconds;
};

class Engine {
 public:
  // The queue, client and clock must outlive the engine.
  Engine(store::TargetQueue& queue, liveblocks::LiveblocksClient& client, const Clock& clock,
         EngineOptions options);
  ~Engine();

  void Start();
  // Stops claiming, lets each worker finish or release its target, joins the workers.
  void Stop();
  // New work was recorded that becomes due at `due_at_ms` (clock time; default now). Wakes
  // one idle worker unless one of them is already going to look for work by then, so a
  // burst of webhooks whose targets are coalesced does not wake a worker per webhook; woken
  // for work due later, it sleeps until then without looking at the queue.
  void Notify(std::optional<int64_t> due_at_ms = std::nullopt) { idle_.Notify(due_at_ms); }
  // Sleeps up to `duration`; returns false at once when the engine is stopping. For the REST
  // client's retry waits.
  bool Sleep(std::chrono::milliseconds duration);

  // Claims and processes due targets on the calling thread until none is due; returns how
  // many were processed (tests, one-shot commands).
  int RunUntilIdle();

  const EngineCounters& counters() const { return counters_; }
  // Whether the server answered 501 to a read of this pass kind (the local dev server does):
  // passes stop marking it.
  bool Unsupported(store::TargetKind kind) const;

  // The retry delay after `attempts` failed attempts (exponential with jitter, capped).
  static int64_t BackoffMs(int attempts, int64_t base_ms, int64_t cap_ms, uint32_t random);

 private:
  void WorkerLoop(int index);
  // A background worker: claims pass kinds only, looking every idle poll when there are none.
  void BackgroundLoop(int index);
  // Renews the leases of the claims in progress until the workers have stopped.
  void LeaseKeeperLoop();
  // Reads and writes claimed targets; never throws.
  void Process(std::span<const store::Claim> claims);
  // Process, with the claims held in flight for the lease keeper meanwhile.
  void ProcessInFlight(int index, const std::vector<store::Claim>& claims);
  // Reads one target and projects it; nullopt when it failed (recorded) or was given back.
  std::optional<store::Completion> Read(const store::Claim& claim);
  // Project(), with anything it might throw turned into an error of the target.
  Result<Projection> ProjectOrError(const store::TargetKey& key, liveblocks::RestResponse response,
                                    int64_t read_started_ms) const;
  // Writes completed reads, together when possible.
  void Write(std::span<const store::Completion> completions);

  store::TargetQueue& queue_;
  liveblocks::LiveblocksClient& client_;
  const Clock& clock_;
  EngineOptions options_;
  EngineCounters counters_;
  std::atomic<bool> stopping_{false};
  IdleWorkers idle_;
  std::mutex sleep_mutex_;
  std::condition_variable sleep_wake_;  // Sleep() (REST retry waits): woken by Stop()
  std::vector<std::thread> threads_;
  // Claims in progress by worker index, for the lease keeper.
  std::mutex in_flight_mutex_;
  std::map<int, std::vector<store::Claim>> in_flight_;
  std::condition_variable keeper_wake_;
  bool keeper_stopping_ = false;  // guarded by in_flight_mutex_
  std::thread keeper_;
  std::array<std::atomic<bool>, store::kTargetKindCount> unsupported_{};  // by TargetKind
};

}  // namespace lbmirror::sync
