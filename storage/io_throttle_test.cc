#include "storage/io_throttle.h"

#include "absl/time/clock.h"
#include "common/clock.h"
#include "gtest/gtest.h"

namespace samsa::storage {
namespace {

// Rates are checked by benchmarks; this checks the bookkeeping: bytes over
// the budget are slept for, and an idle spell earns no burst.
TEST(IoThrottleTest, SleepsForBytesOverTheRateAndIdleTimeEarnsNoBurst) {
  IoThrottle throttle(2 << 20);  // 2 MiB/s
  throttle.Charge(1 << 20);      // half a second's worth
  EXPECT_GE(throttle.throttled(), absl::Milliseconds(300));
  absl::SleepFor(absl::Milliseconds(1100));  // idle past the window
  const absl::Duration before = throttle.throttled();
  throttle.Charge(1 << 20);
  EXPECT_GE(throttle.throttled() - before, absl::Milliseconds(300))
      << "half a second's worth after an idle second is still slept for";
  IoThrottle unlimited(0);
  unlimited.Charge(int64_t{1} << 40);
  EXPECT_EQ(absl::ZeroDuration(), unlimited.throttled());
}

}  // namespace
}  // namespace samsa::storage
