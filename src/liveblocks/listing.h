// Listings: the REST endpoints that page through a collection. Two families exist (limit +
// startingAfter, limit + cursor); both answer an opaque nextCursor, at the top level or (in
// older answers) under "meta", and the last page has none (null, absent or ""). ReadAllPages
// walks every page as a reconciliation pass does (background priority of the REST budget).
#pragma once

#include <string>

#include "core/result.h"
#include "liveblocks/client.h"

namespace lbmirror::liveblocks {

enum class Paging { kStartingAfter, kCursor };

struct Listing {
  std::string path;  // without limit and cursor (it may have other query parameters)
  Paging paging = Paging::kStartingAfter;
  int limit = 50;
};

// GET /v2/users/{userId}/inbox-notifications, 50 a page.
Listing InboxNotificationsListing(std::string_view user_id);

// Every page of `listing`: status 200 with the body {"data":[every page's items, in order]},
// or the first answer that is not 200, as it came (a 404 on page one: the collection's owner
// is gone). Errors: a 200 whose body is not an object with a data array, or whose cursor
// repeats, or more than `max_pages` pages (kInternal, naming the page); network errors.
Result<RestResponse> ReadAllPages(LiveblocksClient& client, const Listing& listing,
                                  int max_pages = 10'000);

}  // namespace lbmirror::liveblocks
