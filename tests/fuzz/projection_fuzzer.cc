// Fuzzes the projections of REST answers into rows (room, Storage with diagram keys, Yjs
// state, active users, thread with comments and their text, inbox notification, a user's whole
// inbox as every page of its listing gives it, the groups, a room's versions and a version's
// Yjs document, a user's notification and room subscription settings, who follows a thread, a
// room's feeds and a feed's messages) and the description of error answers. The first byte
// picks the target kind, the second the HTTP status (its high bit: a dummy answer); the rest is
// the body. A kind read as a listing reads the body as its pages, split at each 0x1e byte, in
// turn (ReadAllPages: cursors, data arrays), then projects what the walk gives. Any body must
// give rows or an error with a reason.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <string>
#include <vector>

#include "liveblocks/listing.h"
#include "sync/pass_kinds.h"
#include "sync/projection.h"

namespace {

// Answers each request with the next page (the last one again when they run out).
class Pages final : public lbmirror::liveblocks::LiveblocksClient {
 public:
  Pages(std::vector<std::string> pages, int status, bool dummy)
      : pages_(std::move(pages)), status_(status), dummy_(dummy) {}
  lbmirror::Result<lbmirror::liveblocks::RestResponse> Get(std::string_view) override {
    const std::string& body = pages_[std::min(next_, pages_.size() - 1)];
    ++next_;
    return lbmirror::liveblocks::RestResponse{status_, body, {}, dummy_};
  }

 private:
  std::vector<std::string> pages_;
  size_t next_ = 0;
  int status_;
  bool dummy_;
};

}  // namespace

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
  if (auto listing = sync::ListingOf(target)) {
    std::vector<std::string> pages(1);
    for (char c : response.body) {
      if (c == '\x1e') {
        pages.emplace_back();
      } else {
        pages.back() += c;
      }
    }
    Pages client(std::move(pages), response.status, response.dummy);
    auto walked = liveblocks::ReadAllPages(client, *listing, 50);
    if (!walked) {
      if (walked.error().message().empty()) std::abort();
      return 0;
    }
    response = std::move(*walked);
  }
  auto projection = sync::Project(target, std::move(response), options, 1'767'225'600'000);
  if (!projection && projection.error().message().empty()) std::abort();
  return 0;
}
