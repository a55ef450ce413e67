// IsrManager: a partition is looked at when an event or its own deadline
// says it may want an ISR change, and what it wants reaches the
// controller.
#include "broker/isr_manager.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/eventually.h"
#include "gtest/gtest.h"
#include "storage/log_test_util.h"

namespace samsa::broker {
namespace {

using testing::Eventually;

class IsrManagerTest : public ::testing::Test {
 protected:
  static constexpr absl::Duration kLag = absl::Milliseconds(300);

  // A partition led here (broker 1) with replicas 1-3 and `isr`, every
  // follower caught up at `at`.
  std::shared_ptr<Partition> Lead(int32_t id, std::vector<NodeId> isr, absl::Time at) {
    auto log = h_.Open("t-" + std::to_string(id));
    EXPECT_TRUE(log.ok()) << log.status();
    auto p = std::make_shared<Partition>(storage::TopicPartitionName{"t", PartitionId(id)},
                                         std::move(*log), NodeId(1));
    PartitionState s;
    s.leader = true;
    s.leader_id = NodeId(1);
    s.replicas = {NodeId(1), NodeId(2), NodeId(3)};
    s.isr = std::move(isr);
    p->SetState(std::move(s));
    for (NodeId r : {NodeId(2), NodeId(3)}) p->OnFollowerFetch(r, Offset(0), Offset(0), at);
    return p;
  }

  IsrManagerOptions Options() {
    return {
        .self = NodeId(1),
        .replica_lag_max = kLag,
        .alter_partition =
            [this](v1::AlterPartitionRequest req) -> absl::StatusOr<v1::AlterPartitionResponse> {
          absl::MutexLock lock(&mu_);
          asked_.push_back({MonotonicNow(), req});
          if (fail_next_) {
            fail_next_ = false;
            return absl::UnavailableError("no controller");
          }
          return v1::AlterPartitionResponse();
        }};
  }

  std::vector<std::pair<absl::Time, v1::AlterPartitionRequest>> Asked() {
    absl::MutexLock lock(&mu_);
    return asked_;
  }

  storage::testing::LogHarness h_;
  absl::Mutex mu_;
  std::vector<std::pair<absl::Time, v1::AlterPartitionRequest>> asked_ ABSL_GUARDED_BY(mu_);
  bool fail_next_ ABSL_GUARDED_BY(mu_) = false;
};

std::vector<int32_t> NewIsr(const v1::AlterPartitionRequest& req) {
  return {req.partitions(0).new_isr().begin(), req.partitions(0).new_isr().end()};
}

TEST_F(IsrManagerTest, AFollowerNotHeardFromLeavesWhenItsLagRunsOutNotBefore) {
  const absl::Time t = MonotonicNow();
  std::shared_ptr<Partition> p = Lead(0, {NodeId(1), NodeId(2), NodeId(3)}, t);
  IsrManager isr(Options());
  isr.CheckSoon(p);
  // Broker 2 keeps fetching; broker 3 went quiet at t.
  ASSERT_TRUE(Eventually([&] {
    p->OnFollowerFetch(NodeId(2), Offset(0), Offset(0), MonotonicNow());
    return !Asked().empty();
  }));
  const auto [when, req] = Asked().front();
  EXPECT_GT(when, t + kLag);
  EXPECT_EQ((std::vector<int32_t>{1, 2}), NewIsr(req));
}

TEST_F(IsrManagerTest, AnIdlePartitionIsLookedAtOncePerLagNotEveryRound) {
  const absl::Time t = MonotonicNow();
  std::vector<std::shared_ptr<Partition>> idle;
  for (int32_t i = 0; i < 50; ++i) idle.push_back(Lead(i, {NodeId(1), NodeId(2), NodeId(3)}, t));
  IsrManager isr(Options());
  for (const auto& p : idle) isr.CheckSoon(p);
  ASSERT_TRUE(Eventually([&] { return isr.looked_at() == 50; }));
  EXPECT_EQ(50u, isr.scheduled());
  // Many retry periods pass; nothing is due before the followers' lag runs out.
  while (MonotonicNow() < t + kLag - absl::Milliseconds(50)) {
    ASSERT_EQ(50, isr.looked_at());
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_TRUE(Asked().empty());
}

TEST_F(IsrManagerTest, AFollowerOutsideTheIsrIsAskedBackWhenAFetchSaysSo) {
  std::shared_ptr<Partition> p = Lead(0, {NodeId(1), NodeId(2)}, MonotonicNow());
  IsrManager isr(Options());
  p->OnFollowerFetch(NodeId(3), Offset(0), Offset(0), MonotonicNow());
  isr.CheckSoon(p);  // as the fetch path does for a follower outside the ISR
  ASSERT_TRUE(Eventually([&] { return !Asked().empty(); }));
  EXPECT_EQ((std::vector<int32_t>{1, 2, 3}), NewIsr(Asked().front().second));
}

TEST_F(IsrManagerTest, AProposalTheControllerDidNotGetIsAskedAgain) {
  {
    absl::MutexLock lock(&mu_);
    fail_next_ = true;
  }
  std::shared_ptr<Partition> p = Lead(0, {NodeId(1), NodeId(2)}, MonotonicNow());
  p->OnFollowerFetch(NodeId(3), Offset(0), Offset(0), MonotonicNow());
  IsrManager isr(Options());
  isr.CheckSoon(p);
  ASSERT_TRUE(Eventually([&] {
    p->OnFollowerFetch(NodeId(3), Offset(0), Offset(0), MonotonicNow());
    return Asked().size() >= 2;
  }));
  const auto asked = Asked();
  EXPECT_GE(asked[1].first - asked[0].first, isr.retry());
  EXPECT_EQ(NewIsr(asked[0].second), NewIsr(asked[1].second));
}

TEST_F(IsrManagerTest, APartitionNotLedHereIsNotKept) {
  std::shared_ptr<Partition> p = Lead(0, {NodeId(1), NodeId(2), NodeId(3)}, MonotonicNow());
  PartitionState follower = *p->state();
  follower.leader = false;
  follower.leader_id = NodeId(2);
  follower.leader_epoch = Epoch(1);
  p->SetState(follower);
  IsrManager isr(Options());
  isr.CheckSoon(p);
  ASSERT_TRUE(Eventually([&] { return isr.looked_at() == 1; }));
  EXPECT_EQ(0u, isr.scheduled());
  EXPECT_TRUE(Asked().empty());
}

}  // namespace
}  // namespace samsa::broker
