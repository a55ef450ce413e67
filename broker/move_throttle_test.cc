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

TEST(MoveThrottleTest, ANewRateAppliesFromNowOn) {
  FakeClock clock;
  MoveThrottle throttle(1000, &clock);
  throttle.Charge(3000);
  EXPECT_FALSE(throttle.Admit());
  throttle.SetRate(-1);
  EXPECT_TRUE(throttle.Admit()) << "no limit any more";
  throttle.SetRate(100);
  EXPECT_TRUE(throttle.Admit()) << "a limit again starts afresh";
  throttle.Charge(150);
  EXPECT_FALSE(throttle.Admit());
  clock.Advance(absl::Milliseconds(600));
  EXPECT_TRUE(throttle.Admit());
  throttle.Charge(1000);
  throttle.SetRate(50);
  clock.Advance(absl::Seconds(10));
  EXPECT_FALSE(throttle.Admit()) << "the debt carries over to the new rate";
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
