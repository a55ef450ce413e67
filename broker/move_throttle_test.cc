#include "broker/move_throttle.h"

#include "gtest/gtest.h"

namespace samsa::broker {
namespace {

TEST(MoveThrottleTest, PacesChargesToTheRate) {
  FakeClock clock;
  MoveThrottle throttle(1000, &clock);
  EXPECT_TRUE(throttle.Admit()) << "a tenth of a second of credit to start with";
  throttle.Charge(600);
  EXPECT_FALSE(throttle.Admit()) << "500 bytes of debt";
  EXPECT_EQ(absl::Milliseconds(501), throttle.Wait());
  clock.Advance(absl::Milliseconds(400));
  EXPECT_FALSE(throttle.Admit());
  clock.Advance(absl::Milliseconds(101));
  EXPECT_TRUE(throttle.Admit());
  EXPECT_EQ(absl::ZeroDuration(), throttle.Wait());
}

TEST(MoveThrottleTest, IdleTimeEarnsAtMostATenthOfASecondOfCredit) {
  FakeClock clock;
  MoveThrottle throttle(1000, &clock);
  clock.Advance(absl::Minutes(10));
  throttle.Charge(101);
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
  throttle.Charge(15);
  EXPECT_FALSE(throttle.Admit());
  clock.Advance(absl::Milliseconds(60));
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

TEST(MoveThrottleTest, ChunksAreAFiftiethOfASecondOfTheRate) {
  FakeClock clock;
  MoveThrottle throttle(100 << 20, &clock);
  EXPECT_EQ((100 << 20) / 50, throttle.ChunkBytes(8 << 20));
  throttle.SetRate(1 << 20);
  EXPECT_EQ(MoveThrottle::kMinChunkBytes, throttle.ChunkBytes(8 << 20)) << "never below the floor";
  throttle.SetRate(int64_t{10} << 30);
  EXPECT_EQ(8 << 20, throttle.ChunkBytes(8 << 20)) << "never above the fetch size";
  throttle.SetRate(-1);
  EXPECT_EQ(8 << 20, throttle.ChunkBytes(8 << 20)) << "no limit: whole fetches";
}

}  // namespace
}  // namespace samsa::broker
