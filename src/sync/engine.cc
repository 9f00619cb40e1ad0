#include "sync/engine.h"

#include <unistd.h>

#include <algorithm>
#include <limits>
#include <random>

#include "core/log.h"
#include "core/text.h"
#include "core/thread_name.h"
#include "sync/pass_kinds.h"
#include "sync/projection.h"

namespace lbmirror::sync {

namespace {
std::string DefaultOwner() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  return Cat(host, ":", getpid());
}
}  // namespace

Engine::Engine(store::TargetQueue& queue, liveblocks::LiveblocksClient& client, const Clock& clock,
               EngineOptions options)
    : queue_(queue),
      client_(client),
      clock_(clock),
      options_(std::move(options)),
      idle_(options_.workers, clock, options_.idle_wait) {
  if (options_.owner.empty()) options_.owner = DefaultOwner();
}

Engine::~Engine() { Stop(); }

void Engine::Start() {
  for (int i = 0; i < options_.workers; ++i) {
    threads_.emplace_back([this, i] {
      NameThisThread(Cat("lbm-worker-", i));
      WorkerLoop(i);
    });
  }
  for (int i = 0; i < options_.background_workers; ++i) {
    const int index = options_.workers + i;
    threads_.emplace_back([this, index] {
      NameThisThread(Cat("lbm-passes-", index - options_.workers));
      BackgroundLoop(index);
    });
  }
  keeper_ = std::thread([this] {
    NameThisThread("lbm-leases");
    LeaseKeeperLoop();
  });
}

void Engine::Stop() {
  {
    std::lock_guard lock(sleep_mutex_);
    stopping_ = true;
  }
  idle_.Stop();
  sleep_wake_.notify_all();
  for (auto& thread : threads_) thread.join();
  threads_.clear();
  // Only now: workers finishing their target at shutdown still need their leases.
  {
    std::lock_guard lock(in_flight_mutex_);
    keeper_stopping_ = true;
  }
  keeper_wake_.notify_all();
  if (keeper_.joinable()) keeper_.join();
}

void Engine::LeaseKeeperLoop() {
  const auto period = std::chrono::milliseconds(std::max<int64_t>(options_.lease_ms / 3, 1));
  std::unique_lock lock(in_flight_mutex_);
  while (!keeper_wake_.wait_for(lock, period, [this] { return keeper_stopping_; })) {
    std::vector<store::Claim> claims;
    for (const auto& [index, held] : in_flight_)
      claims.insert(claims.end(), held.begin(), held.end());
    lock.unlock();
    for (const store::Claim& claim : claims) {
      Result<bool> renewed = queue_.Renew(claim, options_.lease_ms);
      if (!renewed) {
        log::Warn(
            Cat(claim.key.ToString(), ": cannot renew the lease: ", renewed.error().ToString()));
      } else if (!*renewed) {
        log::Debug(Cat(claim.key.ToString(), ": the lease is no longer held"));
      }
    }
    lock.lock();
  }
}

bool Engine::Sleep(std::chrono::milliseconds duration) {
  std::unique_lock lock(sleep_mutex_);
  return !sleep_wake_.wait_for(lock, duration, [this] { return stopping_.load(); });
}

int64_t Engine::BackoffMs(int attempts, int64_t base_ms, int64_t cap_ms, uint32_t random) {
  int shift = std::clamp(attempts - 1, 0, 30);
  int64_t bound = std::min(cap_ms, base_ms << shift);
  // Between half and all of the bound, so retries of many targets spread out.
  return bound / 2 + static_cast<int64_t>(random % static_cast<uint32_t>(bound / 2 + 1));
}

bool Engine::Unsupported(store::TargetKind kind) const {
  return unsupported_[static_cast<size_t>(kind)].load();
}

Result<Projection> Engine::ProjectOrError(const store::TargetKey& key,
                                          liveblocks::RestResponse response,
                                          int64_t read_started_ms) const {
  // Projections report bad content as errors; this is the last line, so that whatever a
  // document holds, the worker lives on and the target fails with a reason.
  try {
    return Project(key, std::move(response), options_.projection, read_started_ms);
  } catch (const std::exception& e) {
    return Error(ErrorCode::kInternal, Cat(store::TargetKindName(key.kind), ": ", e.what()));
  }
}

std::optional<store::Completion> Engine::Read(const store::Claim& claim) {
  static thread_local std::minstd_rand random(std::random_device{}());
  if (IsPassKind(claim.key.kind) && Unsupported(claim.key.kind)) {
    // Known not to be offered by this server (until restart): nothing to read.
    counters_.unsupported.fetch_add(1, std::memory_order_relaxed);
    return store::Completion{claim, {}, {}};
  }
  counters_.rest_reads.fetch_add(1, std::memory_order_relaxed);
  const int64_t started = clock_.NowMs();
  const std::optional<liveblocks::Listing> listing = ListingOf(claim.key);
  Result<liveblocks::RestResponse> response = listing ? liveblocks::ReadAllPages(client_, *listing)
                                              : IsPassKind(claim.key.kind)
                                                  ? client_.GetBackground(ReadPath(claim.key))
                                                  : client_.Get(ReadPath(claim.key));
  const bool dummy = response && response->dummy;
  Result<Projection> projection = response
                                      ? ProjectOrError(claim.key, std::move(*response), started)
                                      : Result<Projection>(response.error());
  if (projection && projection->unsupported) {
    counters_.unsupported.fetch_add(1, std::memory_order_relaxed);
    if (!unsupported_[static_cast<size_t>(claim.key.kind)].exchange(true)) {
      log::Warn(
          Cat("Liveblocks answers ", dummy ? "with a dummy response" : "501 (not implemented)",
              " to ", claim.key.ToString(), ": this server does not offer ",
              store::TargetKindName(claim.key.kind), " reads; their passes stop until restart"));
    }
  }
  if (projection) {
    return store::Completion{claim, std::move(projection->writes),
                             std::move(projection->also_dirty)};
  }
  if (stopping_.load() && projection.error().retryable()) {
    (void)queue_.Release(claim);  // interrupted by shutdown: not a real attempt
    return std::nullopt;
  }
  const std::string name = claim.key.ToString();
  const Error& error = projection.error();
  int64_t delay = BackoffMs(claim.attempts, options_.backoff_base_ms, options_.backoff_cap_ms,
                            static_cast<uint32_t>(random()));
  if (error.code() == ErrorCode::kUnauthenticated) {
    delay = options_.backoff_cap_ms;  // a wrong key does not fix itself quickly: do not spin
    log::Error(Cat(name, ": ", error.message()));
  } else {
    log::Warn(Cat(name, ": attempt ", claim.attempts, " failed: ", error.ToString(),
                  "; retrying in ", delay, " ms"));
  }
  counters_.failed.fetch_add(1, std::memory_order_relaxed);
  Status failed = queue_.Fail(claim, error.ToString(), clock_.NowMs() + delay);
  if (!failed) log::Warn(Cat(name, ": could not record the failure: ", failed.error().ToString()));
  return std::nullopt;
}

void Engine::Write(std::span<const store::Completion> completions) {
  static thread_local std::minstd_rand random(std::random_device{}());
  const auto write_start = std::chrono::steady_clock::now();
  Result<std::vector<bool>> completed = queue_.CompleteAll(completions);
  counters_.write_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - write_start).count());
  if (!completed && !completed.error().retryable() && completions.size() > 1) {
    // The transaction was refused: write each alone, so that only a target at fault fails.
    for (const store::Completion& completion : completions) Write(std::span(&completion, 1));
    return;
  }
  for (size_t i = 0; i < completions.size(); ++i) {
    const store::Claim& claim = completions[i].claim;
    if (!completed) {
      int64_t delay = BackoffMs(claim.attempts, options_.backoff_base_ms, options_.backoff_cap_ms,
                                static_cast<uint32_t>(random()));
      log::Warn(Cat(claim.key.ToString(), ": writing failed: ", completed.error().ToString()));
      counters_.failed.fetch_add(1, std::memory_order_relaxed);
      // If the database is down this fails too; the lease then expires and the target is due.
      (void)queue_.Fail(claim, completed.error().ToString(), clock_.NowMs() + delay);
    } else if (!(*completed)[i]) {
      counters_.fenced_out.fetch_add(1, std::memory_order_relaxed);
      log::Warn(Cat(claim.key.ToString(),
                    ": the claim was taken over (its lease ran out, or the room was deleted "
                    "meanwhile); result discarded"));
    } else {
      counters_.completed.fetch_add(1, std::memory_order_relaxed);
      if (log::DebugEnabled()) log::Debug(Cat(claim.key.ToString(), ": mirrored"));
    }
  }
}

void Engine::ProcessInFlight(int index, const std::vector<store::Claim>& claims) {
  {
    std::lock_guard lock(in_flight_mutex_);
    in_flight_[index] = claims;
  }
  Process(claims);
  std::lock_guard lock(in_flight_mutex_);
  in_flight_.erase(index);
}

void Engine::Process(std::span<const store::Claim> claims) {
  // Each target is read in turn; the rows of all are written in one transaction. Claims not
  // read yet when the engine stops are given back.
  std::vector<store::Completion> completions;
  for (const store::Claim& claim : claims) {
    if (stopping_.load()) {
      (void)queue_.Release(claim);
      continue;
    }
    if (auto completion = Read(claim)) completions.push_back(std::move(*completion));
  }
  if (!completions.empty()) Write(completions);
}

void Engine::WorkerLoop(int index) {
  const std::string owner = Cat(options_.owner, "/", index);
  int64_t error_delay_ms = 250;
  while (!stopping_.load()) {
    const uint64_t ticket = idle_.BeforeLook();
    std::optional<int64_t> next_due;
    auto claims = queue_.ClaimDue(owner, SupportedKinds(), options_.claim_batch, options_.lease_ms,
                                  &next_due);
    if (!claims) {
      // The database is unreachable: wait and try again; nothing is lost meanwhile.
      log::Warn(Cat("worker ", index, ": cannot claim work: ", claims.error().ToString()));
      Sleep(std::chrono::milliseconds(error_delay_ms));
      error_delay_ms = std::min<int64_t>(error_delay_ms * 2, 5'000);
      continue;
    }
    error_delay_ms = 250;
    if (claims->empty()) {
      idle_.WaitToLook(index, ticket, next_due, options_.idle_poll_ms);
      continue;
    }
    // Busy now: an idle worker takes over watching the queue when more is pending and no idle
    // worker looks by its due time (with nothing more pending, the next webhook notifies).
    if (next_due) Notify(*next_due);
    ProcessInFlight(index, *claims);
  }
}

void Engine::BackgroundLoop(int index) {
  const std::string owner = Cat(options_.owner, "/", index);
  while (!stopping_.load()) {
    auto claims = queue_.ClaimDue(owner, PassKinds(), options_.claim_batch, options_.lease_ms);
    if (!claims) {
      log::Warn(Cat("pass worker: cannot claim work: ", claims.error().ToString()));
      Sleep(std::chrono::milliseconds(1'000));
      continue;
    }
    if (claims->empty()) {
      Sleep(std::chrono::milliseconds(options_.idle_poll_ms));
      continue;
    }
    ProcessInFlight(index, *claims);
  }
}

int Engine::RunUntilIdle() {
  std::vector<store::TargetKind> kinds = SupportedKinds();
  kinds.insert(kinds.end(), PassKinds().begin(), PassKinds().end());
  int processed = 0;
  for (;;) {
    auto claims = queue_.ClaimDue(options_.owner, kinds, options_.claim_batch, options_.lease_ms);
    if (!claims || claims->empty()) return processed;
    Process(*claims);
    processed += static_cast<int>(claims->size());
  }
}

}  // namespace lbmirror::sync
