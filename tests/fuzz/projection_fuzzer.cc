// Fuzzes the projections of REST answers into rows (room, Storage with diagram keys, Yjs
// state, active users, thread with comments and their text, inbox notification, a user's whole
// inbox as every page of its listing gives it, the groups, a room's versions and a version's
// Yjs document, a user's notification and room subscription settings) and the
// description of error answers. The first byte picks the target kind, the second the HTTP
// status; the rest is the body. Any body must give rows or an error with a reason.
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string>

#include "sync/projection.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace lbmirror;
  using store::TargetKind;
  if (size < 2) return 0;
  // The first byte of the corpus's files made before a kind was added keeps its meaning: new
  // kinds go at the end.
  static const TargetKind kKinds[] = {TargetKind::kRoom,
                                      TargetKind::kStorage,
                                      TargetKind::kYdoc,
                                      TargetKind::kPresence,
                                      TargetKind::kThread,
                                      TargetKind::kNotification,
                                      TargetKind::kInbox,
                                      TargetKind::kGroups,
                                      TargetKind::kVersions,
                                      TargetKind::kVersionYdoc,
                                      TargetKind::kNotificationSettings,
                                      TargetKind::kRoomSubscriptionSettings,
                                      TargetKind::kThreadSubscriptions,
                                      TargetKind::kFeeds,
                                      TargetKind::kFeedMessages};
  static const int kStatuses[] = {200, 200, 200, 200, 404, 500, 429, 401, 400, 302, 501};
  TargetKind kind = kKinds[data[0] % std::size(kKinds)];
  int status = kStatuses[data[1] % 11];
  store::TargetKey target{kind, "room-1", ""};
  if (kind == TargetKind::kThread || kind == TargetKind::kThreadSubscriptions) {
    target.object_id = "th_1";
  }
  if (kind == TargetKind::kFeedMessages) target.object_id = "feed-1";
  if (kind == TargetKind::kNotification) target = {kind, "user-1", "in_1"};
  if (kind == TargetKind::kInbox || kind == TargetKind::kNotificationSettings ||
      kind == TargetKind::kRoomSubscriptionSettings) {
    target = {kind, "user-1", ""};
  }
  if (kind == TargetKind::kGroups) target = {kind, "project", ""};
  if (kind == TargetKind::kVersionYdoc) target.object_id = "vh_1";
  liveblocks::RestResponse response;
  response.status = status;
  response.dummy = (data[1] & 0x80) != 0;  // the server calls the answer a dummy
  response.body.assign(reinterpret_cast<const char*>(data) + 2, size - 2);
  static const sync::ProjectionOptions options{{"flow", "diagram"}};
  auto projection = sync::Project(target, std::move(response), options, 1'767'225'600'000);
  if (!projection && projection.error().message().empty()) std::abort();
  return 0;
}
