// ReadAllPages on a scripted client: both paging families, the cursor at the top level or
// under "meta", what stops a walk, and what a broken listing gives.
#include "liveblocks/listing.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fakes/fake_liveblocks_client.h"

namespace lbmirror::liveblocks {
namespace {

namespace json = boost::json;

std::vector<std::string> Ids(const RestResponse& response) {
  std::vector<std::string> ids;
  json::parse_options deep;
  deep.max_depth = 1'000;
  const json::value body = json::parse(response.body, {}, deep);
  for (const json::value& item : body.at("data").as_array()) {
    ids.emplace_back(item.at("id").as_string());
  }
  return ids;
}

TEST(ListingTest, WalksEveryPageWithStartingAfter) {
  FakeLiveblocksClient client;
  const std::string path = "/v2/users/al%20ice/inbox-notifications";
  client.Set(path + "?limit=50", 200, R"({"nextCursor":"c/1=","data":[{"id":"a"},{"id":"b"}]})");
  client.Set(path + "?limit=50&startingAfter=c%2F1%3D", 200,
             R"({"nextCursor":"c2","data":[{"id":"c"}]})");
  client.Set(path + "?limit=50&startingAfter=c2", 200, R"({"nextCursor":null,"data":[]})");
  auto all = ReadAllPages(client, InboxNotificationsListing("al ice"));
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  EXPECT_EQ(all->status, 200);
  EXPECT_EQ(Ids(*all), (std::vector<std::string>{"a", "b", "c"}));
}

TEST(ListingTest, ReadsTheCursorFamilyAndACursorUnderMeta) {
  FakeLiveblocksClient client;
  Listing listing{"/v2/rooms/r/versions", Paging::kCursor, 100};
  client.Set("/v2/rooms/r/versions?limit=100", 200,
             R"({"data":[{"id":"vh_1"}],"meta":{"nextCursor":"next"}})");
  client.Set("/v2/rooms/r/versions?limit=100&cursor=next", 200,
             R"({"data":[{"id":"vh_2"}],"nextCursor":""})");
  auto all = ReadAllPages(client, listing);
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  EXPECT_EQ(Ids(*all), (std::vector<std::string>{"vh_1", "vh_2"}));
}

TEST(ListingTest, AnAnswerThatIsNot200IsReturnedAsItCame) {
  FakeLiveblocksClient client;
  const Listing listing = InboxNotificationsListing("u");
  client.Set(listing.path + "?limit=50", 200, R"({"nextCursor":"p2","data":[{"id":"a"}]})");
  client.Set(listing.path + "?limit=50&startingAfter=p2", 503, R"({"error":"busy"})");
  auto all = ReadAllPages(client, listing);
  ASSERT_TRUE(all.has_value());
  EXPECT_EQ(all->status, 503);
  EXPECT_EQ(all->body, R"({"error":"busy"})");
  client.FailNext(1, 0);
  auto network = ReadAllPages(client, listing);
  ASSERT_FALSE(network.has_value());
  EXPECT_TRUE(network.error().retryable());
}

TEST(ListingTest, AResponseTheServerCallsADummyIsReturnedAsItCame) {
  FakeLiveblocksClient client;
  Listing listing{"/v2/rooms/r/feeds", Paging::kCursor, 20};
  const std::string dummy = R"({"feeds":[{"feedId":"123"}],"nextCursor":null})";
  client.Set("/v2/rooms/r/feeds?limit=20", 200, dummy, true);
  auto all = ReadAllPages(client, listing);
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  EXPECT_TRUE(all->dummy);
  EXPECT_EQ(all->body, dummy);
}

TEST(ListingTest, ItemsNestedAsDeepAsAnyRestAnswerPass) {
  FakeLiveblocksClient client;
  const Listing listing = InboxNotificationsListing("u");
  const std::string deep = std::string(100, '[') + std::string(100, ']');
  client.Set(listing.path + "?limit=50", 200,
             R"({"nextCursor":null,"data":[{"id":"a","activities":)" + deep + "}]}");
  auto all = ReadAllPages(client, listing);
  ASSERT_TRUE(all.has_value()) << all.error().ToString();
  EXPECT_EQ(Ids(*all), std::vector<std::string>{"a"});
}

TEST(ListingTest, ABrokenListingIsAnErrorNamingThePage) {
  FakeLiveblocksClient client;
  const Listing listing = InboxNotificationsListing("u");
  client.Set(listing.path + "?limit=50", 200, R"({"nextCursor":"p2","data":[]})");
  client.Set(listing.path + "?limit=50&startingAfter=p2", 200, R"({"items":[]})");
  auto malformed = ReadAllPages(client, listing);
  ASSERT_FALSE(malformed.has_value());
  EXPECT_EQ(malformed.error().message(),
            "/v2/users/u/inbox-notifications: page 2 is not an object with a data array");

  client.Set(listing.path + "?limit=50&startingAfter=p2", 200, R"({"nextCursor":"p2","data":[]})");
  auto looping = ReadAllPages(client, listing);
  ASSERT_FALSE(looping.has_value());
  EXPECT_NE(looping.error().message().find("gives its own cursor"), std::string::npos);

  client.Set(listing.path + "?limit=50&startingAfter=p2", 200, R"({"nextCursor":"p3","data":[]})");
  client.Set(listing.path + "?limit=50&startingAfter=p3", 200, R"({"nextCursor":"p2","data":[]})");
  auto endless = ReadAllPages(client, listing, 5);
  ASSERT_FALSE(endless.has_value());
  EXPECT_NE(endless.error().message().find("more than 5 pages"), std::string::npos);
}

}  // namespace
}  // namespace lbmirror::liveblocks
