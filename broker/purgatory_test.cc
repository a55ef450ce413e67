#include "broker/purgatory.h"

#include <atomic>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace samsa::broker {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

// Completes once `ready` is set; records how it ended.
class Op final : public DelayedOperation {
 public:
  explicit Op(absl::Time deadline) : DelayedOperation(deadline) {}
  std::atomic<bool> ready{false};
  std::atomic<int> completions{0};
  std::atomic<int> ready_checks{0};
  std::optional<Outcome> outcome;

 protected:
  bool Ready() override {
    ++ready_checks;
    return ready.load();
  }
  void Complete(Outcome o) override {
    outcome = o;
    ++completions;
  }
};

int a_key, b_key;  // two partitions' addresses
const Purgatory::Key kA = &a_key;
const Purgatory::Key kB = &b_key;

TEST(PurgatoryTest, AnOperationCompletesOnItsKeysEventAndNotOnOthers) {
  Purgatory p(kStart);
  auto op = std::make_shared<Op>(kStart + absl::Seconds(30));
  const Purgatory::Key keys[] = {kA};
  p.Watch(op, keys);
  EXPECT_EQ(1u, p.size());
  op->ready = true;
  const int checks_before = op->ready_checks;
  EXPECT_EQ(0, p.Check(kB)) << "another key's event does not look at it";
  EXPECT_EQ(checks_before, op->ready_checks.load());
  EXPECT_EQ(1, p.Check(kA));
  EXPECT_EQ(DelayedOperation::Outcome::kReady, op->outcome);
  EXPECT_EQ(0u, p.size());
  EXPECT_EQ(0, p.Check(kA)) << "completed operations leave";
  EXPECT_EQ(1, op->completions.load());
}

TEST(PurgatoryTest, AReadyOperationCompletesInWatchWithoutParking) {
  Purgatory p(kStart);
  auto op = std::make_shared<Op>(kStart + absl::Seconds(30));
  op->ready = true;
  const Purgatory::Key keys[] = {kA};
  p.Watch(op, keys);
  EXPECT_EQ(DelayedOperation::Outcome::kReady, op->outcome);
  EXPECT_EQ(0u, p.size());
}

TEST(PurgatoryTest, OperationsExpireOnTimeWithoutBeingAskedIfReady) {
  Purgatory p(kStart, absl::Milliseconds(1), 64);
  auto soon = std::make_shared<Op>(kStart + absl::Milliseconds(10));
  // Several turns of the 64 ms wheel away.
  auto later = std::make_shared<Op>(kStart + absl::Milliseconds(500));
  const Purgatory::Key keys[] = {kA};
  p.Watch(soon, keys);
  p.Watch(later, keys);
  const int asked = soon->ready_checks + later->ready_checks;
  p.Advance(kStart + absl::Milliseconds(9));
  EXPECT_FALSE(soon->outcome.has_value());
  p.Advance(kStart + absl::Milliseconds(10));
  EXPECT_EQ(DelayedOperation::Outcome::kExpired, soon->outcome);
  EXPECT_FALSE(later->outcome.has_value());
  p.Advance(kStart + absl::Milliseconds(499));
  EXPECT_FALSE(later->outcome.has_value()) << "not when its slot comes round a turn early";
  p.Advance(kStart + absl::Seconds(2));  // a long gap: every slot once
  EXPECT_EQ(DelayedOperation::Outcome::kExpired, later->outcome);
  EXPECT_EQ(asked, soon->ready_checks + later->ready_checks) << "expiry does not ask Ready";
  EXPECT_EQ(0u, p.size());
  EXPECT_EQ(0, p.Check(kA));
}

TEST(PurgatoryTest, AnOperationUnderTwoKeysCompletesOnceAndLeavesBoth) {
  Purgatory p(kStart);
  auto op = std::make_shared<Op>(kStart + absl::Seconds(30));
  const Purgatory::Key keys[] = {kA, kB};
  p.Watch(op, keys);
  op->ready = true;
  EXPECT_EQ(1, p.Check(kB));
  EXPECT_EQ(0, p.Check(kA));
  p.Advance(kStart + absl::Minutes(1));
  EXPECT_EQ(1, op->completions.load());
  EXPECT_EQ(0u, p.size());
}

TEST(PurgatoryTest, CheckAllTriesEveryKeyOnce) {
  Purgatory p(kStart);
  auto a = std::make_shared<Op>(kStart + absl::Seconds(30));
  auto both = std::make_shared<Op>(kStart + absl::Seconds(30));
  auto not_yet = std::make_shared<Op>(kStart + absl::Seconds(30));
  const Purgatory::Key on_a[] = {kA};
  const Purgatory::Key on_both[] = {kA, kB};
  p.Watch(a, on_a);
  p.Watch(both, on_both);
  p.Watch(not_yet, on_a);
  a->ready = true;
  both->ready = true;
  EXPECT_EQ(2, p.CheckAll());
  EXPECT_EQ(1, both->completions.load());
  EXPECT_FALSE(not_yet->done());
  EXPECT_EQ(1u, p.size());
}

TEST(PurgatoryTest, ShutdownCompletesWhatWaitsAndWhatComesLater) {
  Purgatory p(kStart);
  auto waiting = std::make_shared<Op>(kStart + absl::Seconds(30));
  const Purgatory::Key keys[] = {kA};
  p.Watch(waiting, keys);
  p.Shutdown();
  EXPECT_EQ(DelayedOperation::Outcome::kShutdown, waiting->outcome);
  auto late = std::make_shared<Op>(kStart + absl::Seconds(30));
  p.Watch(late, keys);
  EXPECT_EQ(DelayedOperation::Outcome::kShutdown, late->outcome);
  EXPECT_EQ(0u, p.size());
}

// The thread that expires operations sleeps until NextDeadline, and is
// told when something parks that must expire before that.
TEST(PurgatoryTest, NextDeadlineIsTheEarliestParkedAndAnEarlierOneIsAnnounced) {
  int announced = 0;
  Purgatory p(kStart, absl::Milliseconds(1), 64, [&] { ++announced; });
  EXPECT_EQ(absl::InfiniteFuture(), p.NextDeadline()) << "nothing parked";
  const Purgatory::Key keys[] = {kA};
  auto far = std::make_shared<Op>(kStart + absl::Milliseconds(500));  // turns of the wheel away
  p.Watch(far, keys);
  EXPECT_EQ(1, announced) << "before the infinite wait planned";
  EXPECT_EQ(kStart + absl::Milliseconds(500), p.NextDeadline());
  auto later = std::make_shared<Op>(kStart + absl::Milliseconds(600));
  p.Watch(later, keys);
  EXPECT_EQ(1, announced) << "after the wake-up planned: nothing to say";
  auto soon = std::make_shared<Op>(kStart + absl::Milliseconds(30));
  p.Watch(soon, keys);
  EXPECT_EQ(2, announced);
  EXPECT_EQ(kStart + absl::Milliseconds(30), p.NextDeadline());
  // A completed operation leaves the wheel at once: no wake-up for it.
  soon->ready = true;
  EXPECT_EQ(1, p.Check(kA));
  EXPECT_EQ(kStart + absl::Milliseconds(500), p.NextDeadline());
  p.Advance(kStart + absl::Milliseconds(500));
  EXPECT_EQ(DelayedOperation::Outcome::kExpired, far->outcome);
  EXPECT_EQ(kStart + absl::Milliseconds(600), p.NextDeadline());
  p.Advance(kStart + absl::Milliseconds(600));
  EXPECT_EQ(absl::InfiniteFuture(), p.NextDeadline());
}

// An operation watching many keys is asked about the one whose event came.
TEST(PurgatoryTest, AKeysEventAsksAboutThatKey) {
  class PerKey final : public DelayedOperation {
   public:
    PerKey() : DelayedOperation(kStart + absl::Seconds(30)) {}
    std::vector<const void*> asked;
    int full_checks = 0;

   protected:
    bool Ready() override {
      ++full_checks;
      return false;
    }
    bool ReadyAfter(const void* key) override {
      asked.push_back(key);
      return key == kB;
    }
    void Complete(Outcome) override {}
  };
  Purgatory p(kStart);
  auto op = std::make_shared<PerKey>();
  const Purgatory::Key keys[] = {kA, kB};
  p.Watch(op, keys);
  const int full_checks = op->full_checks;
  EXPECT_EQ(0, p.Check(kA));
  EXPECT_EQ(1, p.Check(kB));
  EXPECT_EQ((std::vector<const void*>{kA, kB}), op->asked);
  EXPECT_EQ(full_checks, op->full_checks);
}

// Events and expiry race on many threads: every operation completes
// exactly once.
TEST(PurgatoryTest, ACompletionRacingAnExpiryCompletesExactlyOnce) {
  constexpr int kOps = 2000;
  Purgatory p(kStart, absl::Microseconds(100), 128);
  std::vector<std::shared_ptr<Op>> ops;
  for (int i = 0; i < kOps; ++i) {
    ops.push_back(std::make_shared<Op>(kStart + absl::Microseconds(100 * (i % 50))));
    const Purgatory::Key keys[] = {i % 2 == 0 ? kA : kB};
    p.Watch(ops.back(), keys);
  }
  std::atomic<bool> go{false};
  std::thread events([&] {
    while (!go) {
    }
    for (int round = 0; round < 50; ++round) {
      for (int i = round; i < kOps; i += 50) ops[i]->ready = true;
      p.Check(kA);
      p.Check(kB);
    }
  });
  std::thread clock([&] {
    while (!go) {
    }
    for (int t = 0; t <= 60; ++t) p.Advance(kStart + absl::Microseconds(100 * t));
  });
  go = true;
  events.join();
  clock.join();
  p.Advance(kStart + absl::Seconds(1));
  for (const auto& op : ops) {
    EXPECT_EQ(1, op->completions.load());
    EXPECT_TRUE(op->done());
  }
  EXPECT_EQ(0u, p.size());
}

}  // namespace
}  // namespace samsa::broker
