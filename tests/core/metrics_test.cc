#include "core/metrics.h"

#include <gtest/gtest.h>

namespace lbmirror::metrics {
namespace {

TEST(HistogramTest, TheQuantileBetweenTwoReadsCountsOnlyWhatCameBetween) {
  Histogram histogram({0.001, 0.01, 0.1});
  for (int i = 0; i < 100; ++i) histogram.Observe(0.5);  // before: all past the last bound
  const Histogram::Counts before = histogram.Read();
  EXPECT_EQ(before.count, 100);
  EXPECT_EQ(histogram.QuantileBetween(before, before, 0.99), std::nullopt) << "nothing between";
  for (int i = 0; i < 98; ++i) histogram.Observe(0.0005);
  histogram.Observe(0.005);
  histogram.Observe(0.05);
  const Histogram::Counts after = histogram.Read();
  EXPECT_EQ(after.count, 200);
  EXPECT_DOUBLE_EQ(*histogram.QuantileBetween(before, after, 0.5), 0.001);
  EXPECT_DOUBLE_EQ(*histogram.QuantileBetween(before, after, 0.99), 0.01);
  EXPECT_DOUBLE_EQ(*histogram.QuantileBetween(before, after, 1.0), 0.1);
  EXPECT_NEAR(after.sum_seconds - before.sum_seconds, 98 * 0.0005 + 0.005 + 0.05, 1e-5);
  // Past the last bound, the last bound is the answer (the histogram knows no more).
  EXPECT_DOUBLE_EQ(*histogram.QuantileBetween(Histogram::Counts{{0, 0, 0, 0}, 0, 0}, before, 0.5),
                   0.1);
}

}  // namespace
}  // namespace lbmirror::metrics
