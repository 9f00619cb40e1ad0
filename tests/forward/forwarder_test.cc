// Forwarding (forward/forwarder.h) over a real store on SQLite, MySQL/MariaDB and Postgres, with
// the endpoint's POST faked: each room's changes in order, signed per Standard Webhooks with
// webhook-id chg_POSITION; a failing room holds the cursor back (and waits, with backoff)
// without holding the other rooms; replicas take turns on an endpoint's lease; a filter that
// lets nothing through moves the cursor on. And the endpoints' configuration.
#include "forward/forwarder.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/text.h"
#include "store/sql/change_log.h"
#include "store/sql_store_fixture.h"
#include "webhook/signature_verifier.h"

namespace lbmirror::forward {
namespace {
using store::sql::Dialect;
namespace json = boost::json;

const std::string kSecret = "whsec_" + Base64Encode("forwarding-test-secret-0123456789");

// What the fake endpoint received, and how it answers.
struct Receiver {
  std::mutex mutex;
  struct Delivery {
    std::string id, room, signature_error;
  };
  std::vector<Delivery> deliveries;
  std::set<std::string> fail_ids;  // answered 503 (once each)

  Post AsPost() {
    return [this](const std::string&, const Headers& headers, const std::string& body) {
      std::map<std::string, std::string> h(headers.begin(), headers.end());
      auto verifier = webhook::SignatureVerifier::Create(kSecret, 300);
      webhook::SignedRequest request{h["webhook-id"], h["webhook-timestamp"],
                                     h["webhook-signature"], body};
      Status verified = verifier->Verify(request, std::stoll(h["webhook-timestamp"]) * 1000);
      std::lock_guard lock(mutex);
      if (fail_ids.erase(h["webhook-id"]) > 0) return Result<int>(503);
      json::value change = json::parse(body);
      deliveries.push_back({h["webhook-id"], std::string(change.at("room_id").as_string()),
                            verified ? "" : verified.error().message()});
      return Result<int>(200);
    };
  }
  // Each room's first deliveries, deduplicated by id, in the order received.
  std::map<std::string, std::vector<std::string>> ByRoom() {
    std::lock_guard lock(mutex);
    std::map<std::string, std::vector<std::string>> rooms;
    std::set<std::string> seen;
    for (const Delivery& d : deliveries) {
      EXPECT_EQ(d.signature_error, "") << d.id;
      if (seen.insert(d.id).second) rooms[d.room].push_back(d.id);
    }
    return rooms;
  }
};

class ForwarderTest : public store::sql::SqlStoreTest {
 protected:
  // Appends one change per (room, key) and sequences them: positions 1, 2, ... in that order.
  void Append(const std::vector<std::pair<std::string, std::string>>& changes,
              const std::string& kind = "document") {
    store::sql::ChangeLog log(GetParam(), prefix_);
    auto connection = factory_();
    ASSERT_TRUE(connection.has_value());
    ASSERT_TRUE((*connection)->Begin().has_value());
    for (const auto& [room, key] : changes) {
      ASSERT_TRUE(log.Append(**connection, {std::nullopt, clock_.NowMs(), kind, "update", room, key,
                                            R"({"reason":"test"})", "{}"})
                      .has_value());
    }
    ASSERT_TRUE((*connection)->Commit().has_value());
    ASSERT_TRUE(store_->SequenceChanges(1000).has_value());
  }
  store::CursorState Cursor(const std::string& name) {
    auto status = store_->Forwarding();
    EXPECT_TRUE(status.has_value());
    for (const store::CursorState& c :
         status ? status->cursors : std::vector<store::CursorState>{}) {
      if (c.endpoint == name) return c;
    }
    ADD_FAILURE() << "no cursor " << name;
    return {};
  }
  Endpoint MakeEndpoint(std::vector<std::string> kinds = {}) {
    return {"crm", "http://127.0.0.1:9/", kSecret, {std::move(kinds), ""}};
  }
  ForwarderOptions Options(const std::string& owner) {
    ForwarderOptions options;
    options.owner = owner;
    return options;
  }
};

TEST_P(ForwarderTest, DeliversEachRoomInOrderSignedAndMovesTheCursor) {
  Receiver receiver;
  Forwarder forwarder({MakeEndpoint()}, *store_, clock_, receiver.AsPost(), Options("a"));
  EXPECT_EQ(*forwarder.Round(MakeEndpoint()), 0) << "a new endpoint starts at the newest position";
  Append({{"r1", "1"}, {"r2", "2"}, {"r1", "3"}, {"r3", "4"}, {"r2", "5"}, {"r1", "6"}});
  auto read = forwarder.Round(MakeEndpoint());
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  EXPECT_EQ(*read, 6);
  EXPECT_EQ(
      receiver.ByRoom(),
      (std::map<std::string, std::vector<std::string>>{
          {"r1", {"chg_1", "chg_3", "chg_6"}}, {"r2", {"chg_2", "chg_5"}}, {"r3", {"chg_4"}}}));
  EXPECT_EQ(Cursor("crm").position, 6);
  EXPECT_EQ(Cursor("crm").delivered, 6);
  EXPECT_EQ(*forwarder.Round(MakeEndpoint()), 0) << "nothing after the cursor";
  EXPECT_EQ(receiver.deliveries.size(), 6u);
}

TEST_P(ForwarderTest, AFailingRoomHoldsTheCursorBackAndWaitsWithoutHoldingOtherRooms) {
  Receiver receiver;
  Forwarder forwarder({MakeEndpoint()}, *store_, clock_, receiver.AsPost(), Options("a"));
  ASSERT_TRUE(forwarder.Round(MakeEndpoint()).has_value());
  Append({{"r1", "1"}, {"r2", "2"}, {"r1", "3"}, {"r2", "4"}, {"r1", "5"}});
  receiver.fail_ids = {"chg_3"};
  ASSERT_TRUE(forwarder.Round(MakeEndpoint()).has_value());
  // r1 stopped at chg_3 (chg_5 waits behind it); r2 went on.
  EXPECT_EQ(receiver.ByRoom(), (std::map<std::string, std::vector<std::string>>{
                                   {"r1", {"chg_1"}}, {"r2", {"chg_2", "chg_4"}}}));
  store::CursorState cursor = Cursor("crm");
  EXPECT_EQ(cursor.position, 2) << "the longest run delivered from the start";
  EXPECT_EQ(cursor.failures, 1);
  EXPECT_EQ(cursor.last_error.value_or(""), "position 3: HTTP 503");
  EXPECT_GT(cursor.next_attempt_at_ms, clock_.NowMs());
  EXPECT_EQ(*forwarder.Round(MakeEndpoint()), 0) << "waits for its next attempt";
  clock_.Advance(cursor.next_attempt_at_ms - clock_.NowMs());
  ASSERT_TRUE(forwarder.Round(MakeEndpoint()).has_value());
  EXPECT_EQ(receiver.ByRoom(),
            (std::map<std::string, std::vector<std::string>>{{"r1", {"chg_1", "chg_3", "chg_5"}},
                                                             {"r2", {"chg_2", "chg_4"}}}));
  EXPECT_EQ(Cursor("crm").position, 5);
  EXPECT_EQ(Cursor("crm").failures, 0);
  EXPECT_EQ(Cursor("crm").last_error.value_or(""), "position 3: HTTP 503") << "kept for operators";
}

TEST_P(ForwarderTest, ReplicasTakeTurnsOnAnEndpointsLease) {
  Receiver receiver;
  Forwarder a({MakeEndpoint()}, *store_, clock_, receiver.AsPost(), Options("a"));
  Forwarder b({MakeEndpoint()}, *store_, clock_, receiver.AsPost(), Options("b"));
  ASSERT_TRUE(a.Round(MakeEndpoint()).has_value());
  Append({{"r1", "1"}, {"r1", "2"}});
  EXPECT_EQ(*b.Round(MakeEndpoint()), 0) << "a holds the lease";
  EXPECT_EQ(*a.Round(MakeEndpoint()), 2);
  Append({{"r1", "3"}});
  clock_.Advance(ForwarderOptions{}.lease_ms + 1);  // a stopped renewing
  EXPECT_EQ(*b.Round(MakeEndpoint()), 1) << "b takes over from the cursor";
  EXPECT_EQ(*a.Round(MakeEndpoint()), 0) << "b holds it now";
  EXPECT_EQ(receiver.ByRoom()["r1"], (std::vector<std::string>{"chg_1", "chg_2", "chg_3"}));
  EXPECT_EQ(receiver.deliveries.size(), 3u);
}

TEST_P(ForwarderTest, AFilterThatLetsNothingThroughMovesTheCursorOn) {
  Receiver receiver;
  Forwarder forwarder({MakeEndpoint({"comment"})}, *store_, clock_, receiver.AsPost(),
                      Options("a"));
  ASSERT_TRUE(forwarder.Round(MakeEndpoint({"comment"})).has_value());
  Append({{"r1", "1"}, {"r2", "2"}});
  EXPECT_EQ(*forwarder.Round(MakeEndpoint({"comment"})), 0);
  EXPECT_EQ(Cursor("crm").position, 2);
  Append({{"r1", "c1"}}, "comment");
  EXPECT_EQ(*forwarder.Round(MakeEndpoint({"comment"})), 1);
  EXPECT_EQ(receiver.ByRoom()["r1"], (std::vector<std::string>{"chg_3"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, ForwarderTest,
                         ::testing::Values(Dialect::kSqlite, Dialect::kMysql, Dialect::kPostgres),
                         store::sql::BackendName);

TEST(EndpointsTest, ParsesEndpointsAndNamesWhatIsWrongWithoutTheSecret) {
  auto parsed = ParseEndpoints(R"([{"name":"crm","url":"https://example.test/hook","secret":")" +
                               kSecret + R"(","kinds":["thread","comment"],"room_prefix":"acme:"},
                                  {"name":"audit","url":"http://10.0.0.1/","secret":")" +
                               kSecret + R"(","kinds":"room"}])");
  ASSERT_TRUE(parsed.has_value()) << parsed.error().ToString();
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0].filter.kinds, (std::vector<std::string>{"thread", "comment"}));
  EXPECT_EQ((*parsed)[0].filter.room_prefix, "acme:");
  EXPECT_EQ((*parsed)[1].filter.kinds, (std::vector<std::string>{"room"}));
  auto error = [](const std::string& text) {
    auto result = ParseEndpoints(text);
    return result ? std::string("<parsed>") : result.error().message();
  };
  const std::string ok = R"("url":"http://h/","secret":")" + kSecret + "\"";
  EXPECT_EQ(error("{}"), "the forwarding configuration must be a JSON array of endpoints");
  EXPECT_EQ(error(R"([{"name":"a b",)" + ok + "}]"),
            "forwarding endpoint 1: \"name\" must be 1 to 64 letters, digits, '_', '.' or '-'");
  EXPECT_EQ(error(R"([{"name":"a","url":"ftp://h","secret":"x"}])"),
            "forwarding endpoint a: \"url\" must start with http:// or https://");
  EXPECT_EQ(error(R"([{"name":"a","url":"http://h/","secret":"whsec_not base64!"}])"),
            "forwarding endpoint a: \"secret\" must be one whsec_… secret (base64)");
  EXPECT_EQ(error(R"([{"name":"a",)" + ok + R"(,"kinds":["threads"]}])").substr(0, 57),
            "forwarding endpoint a: kind: threads is not a kind of cha");
  EXPECT_EQ(error(R"([{"name":"a",)" + ok + R"(},{"name":"a",)" + ok + "}]"),
            "two forwarding endpoints are named a");
}

}  // namespace
}  // namespace lbmirror::forward
