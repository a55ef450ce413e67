#include "common/await.h"

#include <functional>
#include <thread>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"

namespace samsa {
namespace {

using Reply = std::function<void(absl::StatusOr<int>)>;

TEST(AwaitCallbackTest, ReturnsTheAnswer) {
  absl::StatusOr<int> r =
      AwaitCallback<absl::StatusOr<int>>([](auto reply) { reply(7); }, absl::Seconds(5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(7, *r);
}

TEST(AwaitCallbackTest, NoAnswerInTimeIsDeadlineExceededAndALateAnswerIsHarmless) {
  Reply late;
  absl::StatusOr<int> r = AwaitCallback<absl::StatusOr<int>>(
      [&](auto reply) { late = std::move(reply); }, absl::Milliseconds(20));
  EXPECT_EQ(absl::StatusCode::kDeadlineExceeded, r.status().code());
  late(1);
}

TEST(AwaitCallbackTest, CancellingWakesAWaitInProgressAndRefusesLaterOnes) {
  Cancellation cancel;
  Reply late;
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(50));
    cancel.Cancel();
  });
  const absl::Time start = absl::Now();
  absl::StatusOr<int> r = AwaitCallback<absl::StatusOr<int>>(
      [&](auto reply) { late = std::move(reply); }, absl::Hours(1), &cancel);
  canceller.join();
  EXPECT_EQ(absl::StatusCode::kCancelled, r.status().code()) << r.status();
  EXPECT_LT(absl::Now() - start, absl::Minutes(10)) << "woken by Cancel, not the timeout";
  late(1);

  r = AwaitCallback<absl::StatusOr<int>>([](auto) {}, absl::Hours(1), &cancel);
  EXPECT_EQ(absl::StatusCode::kCancelled, r.status().code());
  EXPECT_TRUE(cancel.cancelled());
}

TEST(AwaitCallbackTest, AnAnswerBeatsALaterCancel) {
  Cancellation cancel;
  absl::StatusOr<int> r =
      AwaitCallback<absl::StatusOr<int>>([](auto reply) { reply(3); }, absl::Hours(1), &cancel);
  cancel.Cancel();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(3, *r);
}

}  // namespace
}  // namespace samsa
