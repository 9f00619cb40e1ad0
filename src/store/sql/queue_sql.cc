#include "store/sql/queue_sql.h"

#include <algorithm>
#include <limits>
#include <random>

#include "core/text.h"
#include "store/sql/values.h"

namespace lbmirror::store::sql {

namespace {
// next_attempt_at of a target with nothing to do: pending targets sort before it.
constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

std::string KindList(std::span<const TargetKind> kinds) {
  std::string list;
  for (TargetKind kind : kinds) {
    if (!list.empty()) list += ", ";
    list += "'";
    list += TargetKindName(kind);
    list += "'";
  }
  return list.empty() ? "''" : list;
}
}  // namespace

QueueSql::QueueSql(Dialect dialect, const std::string& prefix, int64_t coalesce_ms, size_t max_rows)
    : dialect_(dialect), prefix_(prefix), coalesce_ms_(coalesce_ms), max_rows_(max_rows) {
  auto render = [&](const std::string& sql) { return RenderSql(sql, dialect, prefix); };
  // Claims candidates still as they were read (same fence, not leased, still dirty).
  // Disjunctions of primary-key equalities: a range lookup per row on every backend.
  const std::string key_and_fence = "(kind = ? AND scope_id = ? AND object_id = ? AND fence = ?)";
  claim_ = ManyRowStatements(
      dialect, prefix,
      "UPDATE {p}targets SET fence = fence + 1, lease_owner = ?, lease_until = ?,"
      " attempts = attempts + 1 WHERE lease_until <= ? AND dirty_seq > done_seq AND (",
      key_and_fence, ")", max_rows, " OR ");
  claimed_ = ManyRowStatements(dialect, prefix,
                               "SELECT kind, scope_id, object_id FROM {p}targets WHERE"
                               " lease_owner = ? AND lease_until = ? AND (",
                               key_and_fence, ")", max_rows, " OR ");
  // Dirtied again during the read: pending from now (the read saw what came before).
  // A claim in flight is one whose fencing token is still the target's and whose lease was
  // not given back (lease_until > 0; an expired lease not taken over still counts): only such
  // a claim completes, fails, renews or gives back. A completion run again after its COMMIT
  // landed but the reply was lost, or one whose claim was given back, finds none and writes
  // nothing; the room deletion's fence (FenceRoomReads) uses the same notion. A completion
  // always changes the row it matches (lease_until goes to 0), so the count of rows it changed
  // is the count it matched on every backend, whatever the server counts as "affected".
  const std::string in_flight =
      " WHERE kind = ? AND scope_id = ? AND object_id = ? AND fence = ? AND lease_until > 0";
  complete_ = render(
      "UPDATE {p}targets SET done_seq = ?, lease_owner = '', lease_until = 0, attempts = 0,"
      " last_error = NULL, last_success_at = ?,"
      " first_dirty_at = CASE WHEN dirty_seq > ? THEN ? ELSE first_dirty_at END,"
      " next_attempt_at = CASE WHEN dirty_seq > ? THEN {bigint:?} ELSE ? END" +
      in_flight);
  completed_ = render(
      "SELECT fence, lease_until, done_seq FROM {p}targets"
      " WHERE kind = ? AND scope_id = ? AND object_id = ?");
  fail_ = render(
      "UPDATE {p}targets SET lease_owner = '', lease_until = 0, next_attempt_at = ?,"
      " last_error = ?" +
      in_flight);
  renew_ = render("UPDATE {p}targets SET lease_until = ?" + in_flight);
  const std::string give_back =
      "UPDATE {p}targets SET lease_owner = '', lease_until = 0,"
      " attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END";
  release_ = render(give_back + in_flight);
  // The same for the targets of one group of a claim that this claim leased (its owner and
  // lease end, and the fencing token it gave each); the claim's earlier groups keep theirs.
  unclaim_ = ManyRowStatements(dialect, prefix,
                               give_back + " WHERE lease_owner = ? AND lease_until = ? AND (",
                               key_and_fence, ")", max_rows, " OR ");
}

Result<std::vector<Claim>> QueueSql::ClaimDue(SqlConnection& connection, std::string_view owner,
                                              std::span<const TargetKind> kinds, int limit,
                                              int64_t lease_ms, int64_t now,
                                              std::optional<int64_t>* next_due_ms) const {
  limit = std::clamp(limit, 1, static_cast<int>(max_rows_));
  if (dialect_ == Dialect::kPostgres) {
    return ClaimSkippingLocked(connection, owner, kinds, limit, lease_ms, now, next_due_ms);
  }
  static thread_local std::minstd_rand random(std::random_device{}());
  // Candidates are read without locks; the conditional UPDATE below decides who wins.
  // Reading more than needed and shuffling keeps concurrent workers off the same rows. The
  // earliest pending targets not leased come first (clean ones have next_attempt_at =
  // kNever): when none is due yet, the first tells when one will be.
  std::string select = ReplaceAll(
      "SELECT kind, scope_id, object_id, fence, dirty_seq, attempts, next_attempt_at"
      " FROM {p}targets WHERE next_attempt_at < ? AND lease_until <= ? AND dirty_seq > done_seq"
      " AND kind IN (" +
          KindList(kinds) + ") ORDER BY next_attempt_at LIMIT ?",
      "{p}", prefix_);
  SqlValue select_params[] = {kNever, now, int64_t{limit} * 4};
  auto rows = connection.Query(select, select_params);
  if (!rows) return rows.error().WithContext("reading due targets");
  // The first target due later (the rows are in due order); due ones left unclaimed below
  // make that now.
  std::optional<int64_t> later;
  for (const SqlRow& row : *rows) {
    if (int64_t due = IntField(row[6]); due > now) {
      later = due;
      break;
    }
  }
  std::erase_if(*rows, [&](const SqlRow& row) { return IntField(row[6]) > now; });
  std::shuffle(rows->begin(), rows->end(), random);
  std::vector<Claim> candidates;
  for (const SqlRow& row : *rows) {
    auto kind = ParseTargetKind(row[0].value_or(""));
    if (!kind) continue;
    candidates.push_back(Claim{{*kind, row[1].value_or(""), row[2].value_or("")},
                               IntField(row[3]) + 1,
                               IntField(row[4]),
                               static_cast<int>(IntField(row[5])) + 1});
  }
  // Claimed a group at a time with one statement; a candidate taken by another worker meanwhile
  // (its fence moved, or it was leased or completed) is left out, and the next ones are tried.
  std::vector<Claim> claims;
  auto partly_claimed = [&] {
    if (next_due_ms != nullptr) *next_due_ms = now;  // the rest may be due
    return claims;
  };
  const int64_t lease_until = now + lease_ms;
  std::vector<SqlValue> params;
  for (size_t next = 0; next < candidates.size() && static_cast<int>(claims.size()) < limit;) {
    size_t take = std::min(candidates.size() - next, static_cast<size_t>(limit) - claims.size());
    std::span<const Claim> group(candidates.data() + next, take);
    next += take;
    params = {owner, lease_until, now};
    for (const Claim& claim : group) {
      params.insert(params.end(),
                    {TargetKindName(claim.key.kind), std::string_view(claim.key.scope_id),
                     std::string_view(claim.key.object_id), claim.fence - 1});
    }
    auto changed = connection.Execute(claim_.at(take), params);
    if (!changed) {
      // Nothing of this group was claimed (the statement was rolled back); what the earlier
      // groups claimed is the caller's to process, or it would stay leased by nobody.
      if (!claims.empty()) return partly_claimed();
      return changed.error().WithContext("claiming targets");
    }
    if (*changed == static_cast<int64_t>(take)) {
      claims.insert(claims.end(), group.begin(), group.end());
      continue;
    }
    if (*changed == 0) continue;
    // Some were taken by others: the rows now leased by this call are the claimed ones.
    params = {owner, lease_until};
    for (const Claim& claim : group) {
      params.insert(params.end(),
                    {TargetKindName(claim.key.kind), std::string_view(claim.key.scope_id),
                     std::string_view(claim.key.object_id), claim.fence});
    }
    auto won = connection.Query(claimed_.at(take), params);
    if (!won) {
      // Which of this group are claimed is unknown: they are given back (due again at once,
      // as if never claimed), or, if that fails too, taken again when the lease ends. Either
      // way none of them is returned: a claim given back must not be processed (its lease is
      // 0, so a room's deletion would not fence it out). The earlier groups' claims are
      // still leased and are returned.
      (void)connection.Execute(unclaim_.at(take), params);
      if (!claims.empty()) return partly_claimed();
      return won.error().WithContext("reading claimed targets");
    }
    for (const Claim& claim : group) {
      bool held = std::any_of(won->begin(), won->end(), [&](const SqlRow& row) {
        return row[0] == TargetKindName(claim.key.kind) && row[1] == claim.key.scope_id &&
               row[2] == claim.key.object_id;
      });
      if (held) claims.push_back(claim);
    }
  }
  if (next_due_ms != nullptr) {
    *next_due_ms = claims.size() < candidates.size() ? std::optional<int64_t>(now) : later;
  }
  return claims;
}

Result<std::vector<Claim>> QueueSql::ClaimSkippingLocked(
    SqlConnection& connection, std::string_view owner, std::span<const TargetKind> kinds, int limit,
    int64_t lease_ms, int64_t now, std::optional<int64_t>* next_due_ms) const {
  // One statement: the earliest due targets that no other transaction is claiming at this
  // moment (those are skipped, never waited for) are leased and returned, and a last row
  // (kind NULL) tells when the first of the others is due. That row reads the table as it was
  // before the update, so the claimed ones are left out by name; one being claimed by another
  // worker counts as due now, as in the other claim.
  const std::string due =
      "lease_until <= ? AND dirty_seq > done_seq AND kind IN (" + KindList(kinds) + ")";
  std::string claim = RenderSql(
      "WITH c AS (SELECT kind, scope_id, object_id FROM {p}targets WHERE next_attempt_at <= ?"
      " AND " +
          due +
          " ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED),"
          " u AS (UPDATE {p}targets AS t SET fence = t.fence + 1, lease_owner = ?, lease_until = ?,"
          " attempts = t.attempts + 1 FROM c WHERE t.kind = c.kind AND t.scope_id = c.scope_id"
          " AND t.object_id = c.object_id"
          " RETURNING t.kind, t.scope_id, t.object_id, t.fence, t.dirty_seq, t.attempts)"
          " SELECT kind, scope_id, object_id, fence, dirty_seq, attempts FROM u UNION ALL"
          " SELECT NULL, NULL, NULL, NULL, NULL, MIN(next_attempt_at) FROM {p}targets AS o"
          " WHERE next_attempt_at < ? AND " +
          due +
          " AND NOT EXISTS (SELECT 1 FROM c WHERE c.kind = o.kind AND c.scope_id = o.scope_id"
          " AND c.object_id = o.object_id)",
      dialect_, prefix_);
  SqlValue params[] = {now, now, int64_t{limit}, owner, now + lease_ms, kNever, now};
  auto rows = connection.Query(claim, params);
  if (!rows) return rows.error().WithContext("claiming targets");
  std::vector<Claim> claims;
  for (const SqlRow& row : *rows) {
    if (!row[0]) {
      if (next_due_ms != nullptr && row[5]) *next_due_ms = std::max(now, IntField(row[5]));
      continue;
    }
    auto kind = ParseTargetKind(*row[0]);
    if (!kind) continue;
    claims.push_back(Claim{{*kind, row[1].value_or(""), row[2].value_or("")},
                           IntField(row[3]),
                           IntField(row[4]),
                           static_cast<int>(IntField(row[5]))});
  }
  return claims;
}

Status QueueSql::Fail(SqlConnection& connection, const Claim& claim, std::string_view error,
                      int64_t retry_at_ms) const {
  std::string_view message = error.substr(0, 2000);
  SqlValue params[] = {retry_at_ms,
                       message,
                       TargetKindName(claim.key.kind),
                       std::string_view(claim.key.scope_id),
                       std::string_view(claim.key.object_id),
                       claim.fence};
  return Run(connection, fail_, params);
}

Result<bool> QueueSql::Renew(SqlConnection& connection, const Claim& claim,
                             int64_t lease_until) const {
  SqlValue params[] = {lease_until, TargetKindName(claim.key.kind),
                       std::string_view(claim.key.scope_id), std::string_view(claim.key.object_id),
                       claim.fence};
  auto changed = connection.Execute(renew_, params);
  if (!changed) return changed.error();
  return *changed == 1;
}

Status QueueSql::Release(SqlConnection& connection, const Claim& claim) const {
  SqlValue params[] = {TargetKindName(claim.key.kind), std::string_view(claim.key.scope_id),
                       std::string_view(claim.key.object_id), claim.fence};
  return Run(connection, release_, params);
}

Result<Fenced> QueueSql::FenceAndClear(SqlConnection& connection, const Claim& claim,
                                       int64_t now) const {
  SqlValue params[] = {claim.dirty_seq,
                       now,
                       claim.dirty_seq,
                       now,
                       claim.dirty_seq,
                       now + coalesce_ms_,  // dirtied again during the read
                       kNever,
                       TargetKindName(claim.key.kind),
                       std::string_view(claim.key.scope_id),
                       std::string_view(claim.key.object_id),
                       claim.fence};
  auto changed = connection.Execute(complete_, params);
  if (!changed) return changed.error();
  if (*changed == 1) return Fenced::kHeld;
  // Not in flight. The same fencing token with the lease given back and the target done up
  // to the claim's dirty_seq means this completion committed before (only it sets done_seq
  // with this token, and a claim is taken only while dirty_seq > done_seq): a transaction
  // run again after its COMMIT's reply was lost.
  auto rows = connection.Query(completed_, std::span(params).subspan(7, 3));
  if (!rows) return rows.error();
  if (rows->size() == 1 && IntField((*rows)[0][0]) == claim.fence && IntField((*rows)[0][1]) == 0 &&
      IntField((*rows)[0][2]) >= claim.dirty_seq) {
    return Fenced::kAlreadyDone;
  }
  return Fenced::kLost;
}

}  // namespace lbmirror::store::sql
