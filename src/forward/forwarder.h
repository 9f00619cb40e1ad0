// Forwarding: serve POSTs the change feed to each configured endpoint, signed per Standard
// Webhooks with the endpoint's secret (webhook-id "chg_POSITION", so that receivers deduplicate
// redeliveries). Each endpoint has a cursor in the database, leased by one replica at a time
// (replicas share the endpoints; a restart resumes from the cursor). A round reads up to 200
// changes after the cursor that the endpoint's filter lets through, delivers each room's in
// position order (a room's first failure stops its round), rooms in parallel, then moves the
// cursor past the longest run of delivered changes; so each change is delivered at least once,
// and, once deduplicated by webhook-id, each room's in order. A failing endpoint waits, with
// exponential backoff (0.5 s doubling to at most 10 s), and holds no other back. A replica that
// stops gives its endpoints back; one that dies holds them until its lease ends (20 s).
// Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/periodic.h"
#include "core/result.h"
#include "forward/endpoints.h"
#include "store/store.h"

namespace lbmirror::forward {

// One POST: the HTTP status, or an error for a network failure (its message never holds the
// URL's credentials).
using Headers = std::vector<std::pair<std::string, std::string>>;
using Post = std::function<Result<int>(const std::string& url, const Headers& headers,
                                       const std::string& body)>;

struct ForwarderOptions {
  std::string owner;  // this replica's name in the cursors' leases (empty: host:pid)
  // How long a replica keeps an endpoint it does not renew (one that dies, say): above the
  // longest round, which starts no POST after round_ms (each takes at most 10 s).
  int64_t lease_ms = 20'000;
  int64_t round_ms = 5'000;
  int64_t idle_ms = 250;            // between rounds when there was nothing to deliver
  int batch = 200;                  // changes a round reads
  int parallel_rooms = 8;           // rooms delivered at once, per endpoint
  int64_t backoff_base_ms = 500;    // the first retry's wait, doubling
  int64_t backoff_cap_ms = 10'000;  // ... up to this
};

class Forwarder {
 public:
  // `feed` and `clock` must outlive this.
  Forwarder(std::vector<Endpoint> endpoints, store::ChangeFeed& feed, const Clock& clock, Post post,
            ForwarderOptions options);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  void Start();
  // The round in flight finishes first (its POSTs under way); the leases are given back.
  void Stop();

  // One round for `endpoint` (what each endpoint's thread runs): how many changes it read (0:
  // nothing to do, not leased here or not due).
  Result<int> Round(const Endpoint& endpoint);

 private:
  // Delivers `changes` (in position order) to `endpoint`; element i tells whether changes[i]
  // was delivered; `error` gets the first failure's reason.
  std::vector<bool> Deliver(const Endpoint& endpoint, const std::vector<store::Change>& changes,
                            std::string& error);
  Result<int> PostOne(const Endpoint& endpoint, const store::Change& change);

  std::vector<Endpoint> endpoints_;
  store::ChangeFeed& feed_;
  const Clock& clock_;
  Post post_;
  ForwarderOptions options_;
  std::atomic<bool> stopping_{false};
  std::vector<std::unique_ptr<Periodic>> loops_;
};

}  // namespace lbmirror::forward
