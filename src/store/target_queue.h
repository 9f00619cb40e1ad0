// TargetQueue: dirty targets waiting to be mirrored, claimed with a lease and a fencing
// token. Several workers and several processes may share one queue; the database is the only
// coordinator. All methods are thread-safe and return errors as values.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "store/rows.h"
#include "store/target.h"

namespace lbmirror::store {

struct Claim {
  TargetKey key;
  int64_t fence = 0;      // fencing token: the claim is valid while the row still holds it
  int64_t dirty_seq = 0;  // how dirty the target was when claimed
  int attempts = 0;       // attempts including this one
};

// One claim's result, ready to be written: its rows and the targets to re-read.
struct Completion {
  Claim claim;
  std::vector<RowWrite> writes;
  std::vector<TargetKey> also_dirty;
};

class TargetQueue {
 public:
  virtual ~TargetQueue() = default;

  // Claims up to `limit` due targets of the given kinds for `lease_ms`. An empty vector means
  // nothing is due. `next_due_ms`, if given, is set to when the next pending target not leased
  // and not claimed by this call becomes due (now or earlier: more is due already; nullopt:
  // none is pending).
  virtual Result<std::vector<Claim>> ClaimDue(std::string_view owner,
                                              std::span<const TargetKind> kinds, int limit,
                                              int64_t lease_ms,
                                              std::optional<int64_t>* next_due_ms = nullptr) = 0;

  // Marks targets dirty (due now unless already pending), in one transaction. `reason` says
  // why, when an operator asked ("replay", "mirror_again"; RetryNow sets "retry"; "" for
  // reconciliation and passes): the change feed names it as the cause of the read when no
  // stored webhook explains it.
  virtual Status MarkDirty(std::span<const TargetKey> targets, std::string_view reason) = 0;
  // In one transaction: checks that the claim is still in flight (it holds its fencing token
  // and its lease was not given back), applies the row writes, marks `also_dirty` targets,
  // and clears the target unless it was marked dirty again after the claim (then it is due
  // again at once). Returns false, writing nothing, when the lease was taken over or given
  // back; true, writing nothing again, when this completion committed before (its
  // transaction was run again after the COMMIT's reply was lost).
  virtual Result<bool> Complete(const Claim& claim, std::span<const RowWrite> writes,
                                std::span<const TargetKey> also_dirty) = 0;

  // Completes several claims in one transaction, each as Complete() would. Element i is false
  // when completions[i]'s claim was lost (its writes are skipped, not the others').
  virtual Result<std::vector<bool>> CompleteAll(std::span<const Completion> completions) = 0;

  // Gives the target back after a failed attempt: it is retried at `retry_at_ms`, and
  // `error` (no secrets) is kept for operators.
  virtual Status Fail(const Claim& claim, std::string_view error, int64_t retry_at_ms) = 0;

  // Extends a claim's lease to now + `lease_ms` while its work goes on. False when the claim
  // no longer holds the target (its lease was taken over, or it was completed or given back).
  virtual Result<bool> Renew(const Claim& claim, int64_t lease_ms) = 0;

  // Gives the target back untouched (shutdown): due again at once, attempt not counted.
  virtual Status Release(const Claim& claim) = 0;
};

}  // namespace lbmirror::store
