#include "tools/histogram.h"

#include "gtest/gtest.h"

namespace samsa::tools {
namespace {

TEST(LatencyHistogramTest, EveryValueLandsInABucketThatHoldsItWithinPrecision) {
  for (int64_t v : {0L, 1L, 255L, 256L, 257L, 1000L, 123456L, 987654321L, 1L << 39}) {
    const int i = LatencyHistogram::Index(v);
    EXPECT_GE(LatencyHistogram::UpperEdge(i), v) << v;
    EXPECT_LE(LatencyHistogram::UpperEdge(i) - v, v / 128 + 1) << v;
    if (i > 0) {
      EXPECT_LT(LatencyHistogram::UpperEdge(i - 1), v) << v;
    }
  }
}

TEST(LatencyHistogramTest, QuantilesOfAUniformSpread) {
  LatencyHistogram h;
  for (int64_t v = 1; v <= 100000; ++v) h.Record(v);
  EXPECT_EQ(100000, h.count());
  EXPECT_EQ(100000, h.max());
  EXPECT_NEAR(50000, h.Quantile(0.5), 50000 / 128 + 1);
  EXPECT_NEAR(99000, h.Quantile(0.99), 99000 / 128 + 1);
  EXPECT_NEAR(99900, h.Quantile(0.999), 99900 / 128 + 1);
  EXPECT_EQ(100000, h.Quantile(1.0));
  EXPECT_EQ(0, LatencyHistogram().Quantile(0.5));
}

}  // namespace
}  // namespace samsa::tools
