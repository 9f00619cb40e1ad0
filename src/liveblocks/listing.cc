#include "liveblocks/listing.h"

#include <boost/json.hpp>

#include "core/limits.h"
#include "core/text.h"

namespace lbmirror::liveblocks {

namespace json = boost::json;

namespace {

std::string PagePath(const Listing& listing, const std::string& cursor) {
  std::string path = Cat(listing.path, listing.path.find('?') == std::string::npos ? "?" : "&",
                         "limit=", listing.limit);
  if (!cursor.empty()) {
    path += listing.paging == Paging::kCursor ? "&cursor=" : "&startingAfter=";
    path += EncodeUriComponent(cursor);
  }
  return path;
}

// The page's nextCursor: top level first, then meta.nextCursor; empty on the last page.
std::string NextCursor(const json::object& page) {
  const json::value* cursor = page.if_contains("nextCursor");
  if (cursor == nullptr) {
    const json::value* meta = page.if_contains("meta");
    if (meta != nullptr && meta->is_object()) cursor = meta->as_object().if_contains("nextCursor");
  }
  return cursor != nullptr && cursor->is_string() ? std::string(cursor->as_string())
                                                  : std::string();
}

}  // namespace

Listing InboxNotificationsListing(std::string_view user_id) {
  return {"/v2/users/" + EncodeUriComponent(user_id) + "/inbox-notifications",
          Paging::kStartingAfter, 50};
}

Result<RestResponse> ReadAllPages(LiveblocksClient& client, const Listing& listing, int max_pages) {
  json::array items;
  std::string cursor;
  for (int page = 1;; ++page) {
    if (page > max_pages) {
      return Internal(Cat(listing.path, ": more than ", max_pages, " pages; stopped"));
    }
    auto response = client.GetBackground(PagePath(listing, cursor));
    if (!response) return response.error();
    if (response->status != 200 || response->dummy) return response;
    boost::system::error_code ec;
    json::parse_options options;
    options.max_depth = kMaxNestingDepth;  // as deep as any other REST answer may be
    json::value body = json::parse(response->body, ec, {}, options);
    const json::object* object = ec ? nullptr : body.if_object();
    const json::value* data = object != nullptr ? object->if_contains("data") : nullptr;
    if (data == nullptr || !data->is_array()) {
      return Internal(Cat(listing.path, ": page ", page, " is not an object with a data array"));
    }
    for (const json::value& item : data->as_array()) items.push_back(item);
    std::string next = NextCursor(*object);
    if (next.empty()) break;
    if (next == cursor) {
      return Internal(Cat(listing.path, ": page ", page, " gives its own cursor as the next"));
    }
    cursor = std::move(next);
  }
  return RestResponse{200, json::serialize(json::object{{"data", std::move(items)}}), std::nullopt};
}

}  // namespace lbmirror::liveblocks
