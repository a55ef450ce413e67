#include "common/scheduler.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "common/eventually.h"
#include "gtest/gtest.h"

namespace samsa {
namespace {

using testing::Eventually;

TEST(SchedulerTest, RunsATaskWhenItSaysItIsDueNext) {
  Scheduler scheduler;
  absl::Mutex mu;
  std::vector<absl::Time> runs;
  scheduler.Add("ticks", MonotonicNow(), [&](absl::Time now) {
    absl::MutexLock lock(&mu);
    runs.push_back(now);
    return now + absl::Milliseconds(20);
  });
  scheduler.Start();
  ASSERT_TRUE(Eventually([&] {
    absl::MutexLock lock(&mu);
    return runs.size() >= 4;
  }));
  scheduler.Stop();
  absl::MutexLock lock(&mu);
  for (size_t i = 1; i < runs.size(); ++i) EXPECT_GE(runs[i] - runs[i - 1], absl::Milliseconds(20));
}

TEST(SchedulerTest, EveryRunsFirstAfterOneInterval) {
  Scheduler scheduler;
  const absl::Time added = MonotonicNow();
  std::atomic<int64_t> first_run_ns{-1};
  scheduler.Every("chore", absl::Milliseconds(30), [&] {
    int64_t unset = -1;
    first_run_ns.compare_exchange_strong(unset, absl::ToInt64Nanoseconds(MonotonicNow() - added));
  });
  scheduler.Start();
  ASSERT_TRUE(Eventually([&] { return first_run_ns.load() >= 0; }));
  EXPECT_GE(first_run_ns.load(), absl::ToInt64Nanoseconds(absl::Milliseconds(30)));
}

TEST(SchedulerTest, ATaskDueNeverRunsOnlyWhenAsked) {
  Scheduler scheduler;
  std::atomic<int> runs{0};
  std::atomic<int> other{0};
  const Scheduler::TaskId id = scheduler.Add("on demand", absl::InfiniteFuture(), [&](absl::Time) {
    ++runs;
    return absl::InfiniteFuture();
  });
  // A second task keeps the thread waking, so a wrong wake-up would show.
  scheduler.Add("busy", MonotonicNow(), [&](absl::Time now) {
    ++other;
    return now + absl::Milliseconds(1);
  });
  scheduler.Start();
  ASSERT_TRUE(Eventually([&] { return other.load() >= 20; }));
  EXPECT_EQ(0, runs.load());
  scheduler.RunSoon(id);
  ASSERT_TRUE(Eventually([&] { return runs.load() == 1; }));
  const int seen = other.load();
  ASSERT_TRUE(Eventually([&] { return other.load() >= seen + 20; }));
  EXPECT_EQ(1, runs.load());
}

TEST(SchedulerTest, ARunSoonWhileTheTaskRunsRunsItAgain) {
  Scheduler scheduler;
  absl::Notification entered, release;
  std::atomic<int> runs{0};
  const Scheduler::TaskId id = scheduler.Add("slow", MonotonicNow(), [&](absl::Time) {
    if (++runs == 1) {
      entered.Notify();
      release.WaitForNotification();
    }
    return absl::InfiniteFuture();
  });
  scheduler.Start();
  entered.WaitForNotification();
  scheduler.RunSoon(id);  // the event came after the run began to look
  release.Notify();
  ASSERT_TRUE(Eventually([&] { return runs.load() == 2; }));
}

TEST(SchedulerTest, StopWaitsForTheRunningTaskAndRunsNoMore) {
  Scheduler scheduler;
  absl::Notification entered;
  std::atomic<bool> running{false};
  std::atomic<int> runs{0};
  scheduler.Add("task", MonotonicNow(), [&](absl::Time now) {
    running = true;
    ++runs;
    entered.Notify();
    absl::SleepFor(absl::Milliseconds(20));
    running = false;
    return now;  // due again at once
  });
  scheduler.Start();
  entered.WaitForNotification();
  scheduler.Stop();
  EXPECT_FALSE(running.load());
  const int after = runs.load();
  absl::SleepFor(absl::Milliseconds(20));
  EXPECT_EQ(after, runs.load());
  scheduler.Stop();  // again: nothing to do
}

}  // namespace
}  // namespace samsa
