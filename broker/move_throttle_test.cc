#include "broker/move_throttle.h"

#include "gtest/gtest.h"

namespace samsa::broker {
namespace {

TEST(MoveThrottleTest, PacesChargesToTheRate) {
  FakeClock clock;
  MoveThrottle throttle(1000, &clock);
  EXPECT_TRUE(throttle.Admit()) << "one second of credit to start with";
  throttle.Charge(1500);
  EXPECT_FALSE(throttle.Admit()) << "500 bytes of debt";
  EXPECT_EQ(absl::Milliseconds(501), throttle.Wait());
  clock.Advance(absl::Milliseconds(400));
  EXPECT_FALSE(throttle.Admit());
  clock.Advance(absl::Milliseconds(101));
  EXPECT_TRUE(throttle.Admit());
  EXPECT_EQ(absl::ZeroDuration(), throttle.Wait());
}

TEST(MoveThrottleTest, IdleTimeEarnsAtMostOneSecondOfCredit) {
  FakeClock clock;
  MoveThrottle throttle(1000, &clock);
  clock.Advance(absl::Minutes(10));
  throttle.Charge(1001);
  EXPECT_FALSE(throttle.Admit());
}

TEST(MoveThrottleTest, MinusOneIsNoLimit) {
  FakeClock clock;
  MoveThrottle throttle(-1, &clock);
  throttle.Charge(int64_t{1} << 40);
  EXPECT_TRUE(throttle.Admit());
  EXPECT_EQ(absl::ZeroDuration(), throttle.Wait());
}

}  // namespace
}  // namespace samsa::broker
