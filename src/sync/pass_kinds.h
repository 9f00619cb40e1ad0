// The target kinds reconciliation passes mark, for data no webhook announces: how each is read
// (a listing, every page) and projected. A pass kind is read by the background worker, at the
// background priority of the REST budget; its rows become exactly what the listing holds,
// except rows written after the listing began (by a newer read).
#pragma once

#include <boost/json/fwd.hpp>
#include <optional>
#include <vector>

#include "liveblocks/listing.h"
#include "sync/projection.h"

namespace lbmirror::sync {

// The scope of the targets of project-wide kinds (groups:project).
inline constexpr std::string_view kProjectScope = "project";

const std::vector<store::TargetKind>& PassKinds();
bool IsPassKind(store::TargetKind kind);
// The listing a target is read from (every page), or nullopt for a single read (ReadPath).
std::optional<liveblocks::Listing> ListingOf(const store::TargetKey& target);

// A pass kind's listing (all pages: {"data": [...]}) as rows. Errors (kInternal) name what
// is wrong with an item; they fail the target, never the pass.
Result<Projection> ProjectListing(const store::TargetKey& target, const boost::json::value& body,
                                  int64_t read_started_ms);
// A user's notification settings (one JSON object of channels) as their row.
Result<Projection> ProjectNotificationSettings(const store::TargetKey& target,
                                               const boost::json::value& body);
// One version's Yjs document (a binary update) as its row.
Result<Projection> ProjectVersionYdoc(const store::TargetKey& target,
                                      const liveblocks::RestResponse& response);
// A 404 to a pass kind's read: nothing is left (an unknown user has no notifications, a
// room gone has no versions, a version gone no content).
Result<Projection> ProjectPassGone(const store::TargetKey& target, int64_t read_started_ms);

}  // namespace lbmirror::sync
