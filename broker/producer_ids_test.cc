#include "broker/producer_ids.h"

#include <set>

#include "gtest/gtest.h"

namespace samsa::broker {
namespace {

TEST(ProducerIdsTest, IdsComeFromBlocksAndNeverRepeat) {
  int allocations = 0;
  std::function<void(absl::StatusOr<ProducerIds::Block>)> pending;
  ProducerIds ids([&](std::function<void(absl::StatusOr<ProducerIds::Block>)> done) {
    ++allocations;
    pending = std::move(done);
  });
  std::vector<int64_t> got;
  auto take = [&] {
    ids.Next([&](absl::StatusOr<int64_t> id) { got.push_back(id.value_or(-1)); });
  };
  take();
  take();
  ASSERT_EQ(1, allocations) << "one block fetch for both waiting requests";
  EXPECT_TRUE(got.empty());
  pending(ProducerIds::Block{1000, 3});
  EXPECT_EQ((std::vector<int64_t>{1000, 1001}), got);
  take();
  EXPECT_EQ(1, allocations);
  take();  // the block is used up: a new one is fetched
  EXPECT_EQ(2, allocations);
  pending(ProducerIds::Block{5000, 3});
  EXPECT_EQ((std::vector<int64_t>{1000, 1001, 1002, 5000}), got);
  EXPECT_EQ(4u, std::set<int64_t>(got.begin(), got.end()).size());
}

TEST(ProducerIdsTest, AFailedAllocationAnswersTheWaiters) {
  std::function<void(absl::StatusOr<ProducerIds::Block>)> pending;
  ProducerIds ids([&](auto done) { pending = std::move(done); });
  absl::Status result;
  ids.Next([&](absl::StatusOr<int64_t> id) { result = id.status(); });
  pending(absl::UnavailableError("no controller"));
  EXPECT_EQ(absl::StatusCode::kUnavailable, result.code());
}

}  // namespace
}  // namespace samsa::broker
