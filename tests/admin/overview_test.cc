#include "admin/overview.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>

#include "fakes/fake_clock.h"
#include "fakes/temp_sqlite_store.h"
#include "webhook/event.h"

namespace lbmirror::admin {
namespace {

namespace json = boost::json;

int TypeIndex(std::string_view type) {
  const auto& types = webhook::KnownEventTypes();
  return static_cast<int>(std::find(types.begin(), types.end(), type) - types.begin());
}

class OverviewTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.migrated()); }
  Sources SourcesFor(bool with_reconcile) {
    return {store_.get(), &clock_, &serve_,  &webhooks_,
            &rest_,       nullptr, &engine_, with_reconcile ? &reconcile_ : nullptr};
  }
  static json::object Parse(const std::string& text) { return json::parse(text).as_object(); }

  FakeClock clock_;
  TempSqliteStore store_{"overview", clock_};
  ServeMetrics serve_;
  webhook::WebhookCounters webhooks_;
  liveblocks::RestCounters rest_;
  sync::EngineCounters engine_;
  sync::ReconcileLoopCounters reconcile_;
};

TEST_F(OverviewTest, PointsAreRatesPerSecondBetweenSamplesByTypeAndOutcome) {
  OverviewSampler sampler(SourcesFor(true), 2000, 10);
  sampler.Sample();
  EXPECT_TRUE(Parse(sampler.Json()).at("points").as_array().empty()) << "a rate needs two samples";
  for (int i = 0; i < 8; ++i)
    webhooks_.Add(TypeIndex("storageUpdated"), webhook::WebhookCounters::kStored);
  for (int i = 0; i < 2; ++i)
    webhooks_.Add(TypeIndex("threadCreated"), webhook::WebhookCounters::kStored);
  webhooks_.Add(TypeIndex("threadCreated"), webhook::WebhookCounters::kDuplicate);  // not stored
  rest_.by_outcome[0] += 6;                                                         // 200
  rest_.by_outcome[4] += 2;                                                         // 5xx
  engine_.completed += 4;
  engine_.failed += 2;
  reconcile_.repaired += 3;
  serve_.ack_seconds.Observe(0.002);
  serve_.ack_seconds.Observe(0.004);
  clock_.Advance(2000);
  sampler.Sample();

  json::object overview = Parse(sampler.Json());
  EXPECT_EQ(overview.at("interval_s").to_number<double>(), 2.0);
  const json::array& points = overview.at("points").as_array();
  ASSERT_EQ(points.size(), 1u);
  const json::object& point = points[0].as_object();
  EXPECT_EQ(point.at("webhooks_per_s").to_number<double>(), 5.0);
  const json::object& by_type = point.at("webhooks_by_type_per_s").as_object();
  EXPECT_EQ(by_type.size(), 2u) << "types without webhooks are left out";
  EXPECT_EQ(by_type.at("storageUpdated").to_number<double>(), 4.0);
  EXPECT_EQ(by_type.at("threadCreated").to_number<double>(), 1.0);
  const json::object& rest = point.at("rest_reads_per_s").as_object();
  EXPECT_EQ(rest.size(), 6u) << "every outcome, zero or not";
  EXPECT_EQ(rest.at("200").to_number<double>(), 3.0);
  EXPECT_EQ(rest.at("5xx").to_number<double>(), 1.0);
  EXPECT_EQ(rest.at("404").to_number<double>(), 0.0);
  EXPECT_EQ(point.at("mirrored_per_s").to_number<double>(), 2.0);
  EXPECT_EQ(point.at("failed_attempts_per_s").to_number<double>(), 1.0);
  EXPECT_EQ(point.at("repaired").to_number<int64_t>(), 3) << "a count per point, not a rate";
  EXPECT_NEAR(point.at("ack_mean_ms").to_number<double>(), 3.0, 0.01);
  EXPECT_GE(point.at("ack_p99_ms").to_number<double>(), 4.0);
  EXPECT_EQ(point.at("pending").to_number<int64_t>(), 0);
  EXPECT_TRUE(point.at("lag_s").is_null()) << "nothing pending";

  clock_.Advance(2000);
  sampler.Sample();  // nothing happened
  json::object after = Parse(sampler.Json());
  ASSERT_EQ(after.at("points").as_array().size(), 2u);
  const json::object& quiet = after.at("points").as_array()[1].as_object();
  EXPECT_EQ(quiet.at("webhooks_per_s").to_number<double>(), 0.0);
  EXPECT_TRUE(quiet.at("webhooks_by_type_per_s").as_object().empty());
  EXPECT_EQ(quiet.at("repaired").to_number<int64_t>(), 0);
  EXPECT_TRUE(quiet.at("ack_mean_ms").is_null() && quiet.at("ack_p99_ms").is_null());
}

TEST_F(OverviewTest, KeepsTheLastPointsAndSaysWhenReconciliationIsOff) {
  OverviewSampler sampler(SourcesFor(false), 1000, 3);
  for (int i = 0; i < 6; ++i) {
    engine_.completed += i;
    sampler.Sample();
    clock_.Advance(1000);
  }
  json::object overview = Parse(sampler.Json());
  const json::array& points = overview.at("points").as_array();
  ASSERT_EQ(points.size(), 3u);
  EXPECT_EQ(points[2].at("mirrored_per_s").to_number<double>(), 5.0) << "the newest last";
  EXPECT_EQ(points[0].at("mirrored_per_s").to_number<double>(), 3.0);
  EXPECT_TRUE(overview.at("reconcile").is_null());
  EXPECT_EQ(points[0].at("repaired").to_number<int64_t>(), 0);
}

}  // namespace
}  // namespace lbmirror::admin
