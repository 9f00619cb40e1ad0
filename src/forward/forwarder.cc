#include "forward/forwarder.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include "admin/actions.h"
#include "core/log.h"
#include "core/text.h"
#include "webhook/signature_verifier.h"

namespace lbmirror::forward {

Forwarder::Forwarder(std::vector<Endpoint> endpoints, store::ChangeFeed& feed, const Clock& clock,
                     Post post, ForwarderOptions options)
    : endpoints_(std::move(endpoints)),
      feed_(feed),
      clock_(clock),
      post_(std::move(post)),
      options_(std::move(options)) {
  if (options_.owner.empty()) {
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    options_.owner = Cat(host, ":", getpid());
  }
}

Forwarder::~Forwarder() { Stop(); }

void Forwarder::Start() {
  for (const Endpoint& endpoint : endpoints_) {
    loops_.push_back(std::make_unique<Periodic>(options_.idle_ms, [this, &endpoint] {
      // Rounds follow each other at once while there is a backlog.
      while (!stopping_.load()) {
        auto read = Round(endpoint);
        if (!read) {
          log::Warn(Cat("forwarding to ", endpoint.name, ": ", read.error().ToString()));
          return;
        }
        if (*read < options_.batch) return;
      }
    }));
    loops_.back()->Start();
  }
  if (!endpoints_.empty()) {
    log::Info(Cat("forwarding the change feed to ", endpoints_.size(), " endpoint(s)"));
  }
}

void Forwarder::Stop() {
  stopping_.store(true);
  if (loops_.empty()) return;
  for (auto& loop : loops_) loop->Stop();
  loops_.clear();
  for (const Endpoint& endpoint : endpoints_) {
    if (Status released = feed_.ReleaseCursor(endpoint.name, options_.owner); !released) {
      log::Warn(Cat("forwarding to ", endpoint.name,
                    ": giving the lease back: ", released.error().ToString()));
    }
  }
}

Result<int> Forwarder::Round(const Endpoint& endpoint) {
  auto leased = feed_.LeaseCursor(endpoint.name, options_.owner, options_.lease_ms);
  if (!leased) return leased.error();
  if (!*leased) return 0;  // another replica's, or waiting after a failure
  const int64_t cursor = **leased;
  // The newest position before reading: when the filter leaves nothing after the cursor up to
  // there, the cursor moves there (positions become visible in order), so that a filter that
  // lets little through does not read the same changes again each round.
  auto state = feed_.Forwarding();
  if (!state) return state.error();
  int failures = 0;
  for (const store::CursorState& c : state->cursors) {
    if (c.endpoint == endpoint.name) failures = c.failures;
  }
  auto changes = feed_.ReadChanges(cursor, options_.batch, endpoint.filter);
  if (!changes) return changes.error();
  store::CursorUpdate update;
  update.position = cursor;
  if (changes->empty()) {
    if (state->head <= cursor) return 0;
    update.position = state->head;
    auto saved = feed_.SaveCursor(endpoint.name, options_.owner, update);
    if (!saved) return saved.error();
    return 0;
  }
  std::string error;
  const std::vector<bool> delivered = Deliver(endpoint, *changes, error);
  // The cursor passes the longest run of delivered changes from the start.
  size_t run = 0;
  while (run < changes->size() && delivered[run]) ++run;
  if (run > 0) update.position = (*changes)[run - 1].position.value_or(cursor);
  if (run == changes->size() && static_cast<int>(run) < options_.batch) {
    update.position = std::max(update.position, state->head);
  }
  update.delivered = std::count(delivered.begin(), delivered.end(), true);
  if (!error.empty()) {
    const int64_t wait =
        std::min(options_.backoff_cap_ms, options_.backoff_base_ms << std::min(failures, 20));
    update.error = error;
    update.next_attempt_at_ms = clock_.NowMs() + wait;
    log::Warn(Cat("forwarding to ", endpoint.name, ": ", error, "; next attempt in ", wait, " ms (",
                  failures + 1, " failure(s) in a row)"));
  }
  auto saved = feed_.SaveCursor(endpoint.name, options_.owner, update);
  if (!saved) return saved.error();
  return error.empty() ? static_cast<int>(changes->size()) : 0;
}

std::vector<bool> Forwarder::Deliver(const Endpoint& endpoint,
                                     const std::vector<store::Change>& changes,
                                     std::string& error) {
  // Each room's changes in position order; the changes without a room form one more "room".
  std::map<std::string, std::vector<size_t>> rooms;
  for (size_t i = 0; i < changes.size(); ++i) rooms[changes[i].room_id.value_or("")].push_back(i);
  std::vector<const std::vector<size_t>*> queue;
  queue.reserve(rooms.size());
  for (const auto& [room, indexes] : rooms) queue.push_back(&indexes);
  std::vector<char> delivered(changes.size(), 0);
  std::mutex mutex;  // guards `next` and `error`
  size_t next = 0;
  // No POST starts after the round's time: the lease outlasts the round.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.round_ms);
  auto work = [&] {
    for (;;) {
      const std::vector<size_t>* room = nullptr;
      {
        std::lock_guard lock(mutex);
        if (next == queue.size()) return;
        room = queue[next++];
      }
      for (size_t i : *room) {
        if (stopping_.load() || std::chrono::steady_clock::now() > deadline) return;
        auto status = PostOne(endpoint, changes[i]);
        if (status && *status >= 200 && *status < 300) {
          delivered[i] = 1;
          continue;
        }
        std::lock_guard lock(mutex);
        if (error.empty()) {
          error = status ? Cat("position ", changes[i].position.value_or(0), ": HTTP ", *status)
                         : Cat("position ", changes[i].position.value_or(0), ": ",
                               status.error().message());
        }
        break;  // this room waits for the next round, in order
      }
    }
  };
  const size_t threads = std::min<size_t>(queue.size(), options_.parallel_rooms);
  std::vector<std::thread> helpers;
  for (size_t t = 1; t < threads; ++t) helpers.emplace_back(work);
  work();
  for (std::thread& helper : helpers) helper.join();
  return {delivered.begin(), delivered.end()};
}

Result<int> Forwarder::PostOne(const Endpoint& endpoint, const store::Change& change) {
  const std::string body = admin::ChangeJson(change);
  const std::string id = Cat("chg_", change.position.value_or(0));
  const std::string timestamp = std::to_string(clock_.NowMs() / 1000);
  auto signer = webhook::SignatureVerifier::Create(endpoint.secret, 300);
  if (!signer) return Internal("the endpoint's secret does not parse");
  const Headers headers = {{"content-type", "application/json"},
                           {"webhook-id", id},
                           {"webhook-timestamp", timestamp},
                           {"webhook-signature", "v1," + signer->Sign(id, timestamp, body)}};
  return post_(endpoint.url, headers, body);
}

}  // namespace lbmirror::forward
