#include "storage/flusher.h"

#include <atomic>
#include <cerrno>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/log_test_util.h"

namespace samsa::storage {
namespace {

using testing::LogHarness;
using testing::MakeBatch;

TEST(FlusherTest, CompletesWaitersOnceTheirDataIsDurable) {
  LogHarness h({}, /*fault=*/true);
  auto log = *h.Open();
  Flusher flusher;
  std::string batch = MakeBatch("a", 3);
  auto info = log->AppendAsLeader(testing::AsMutableBytes(batch), Epoch(0));
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(Offset(0), log->flushed_offset());
  absl::Notification done;
  absl::Status result = absl::UnknownError("not called");
  flusher.WaitDurable(log.get(), info->last_offset + 1, [&](absl::Status st) {
    result = st;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_EQ(Offset(3), log->flushed_offset());
}

// Group commit: many appenders, far fewer fsyncs than appends, and every
// append acknowledged only once durable.
TEST(FlusherTest, ConcurrentAppendsShareFsyncs) {
  LogHarness h({}, /*fault=*/true);
  h.fault()->SetSyncDelay(absl::Milliseconds(2));
  auto log = *h.Open();
  Flusher flusher;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  std::atomic<int> acked{0};
  std::atomic<int> not_durable_when_acked{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string batch = MakeBatch("t" + std::to_string(t));
        auto info = log->AppendAsLeader(testing::AsMutableBytes(batch), Epoch(0));
        ASSERT_TRUE(info.ok());
        absl::Notification done;
        const Offset end = info->last_offset + 1;
        flusher.WaitDurable(log.get(), end, [&](absl::Status st) {
          EXPECT_TRUE(st.ok()) << st;
          if (log->flushed_offset() < end) not_durable_when_acked++;
          acked++;
          done.Notify();
        });
        done.WaitForNotification();
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(kThreads * kPerThread, acked.load());
  EXPECT_EQ(0, not_durable_when_acked.load());
  // While one fsync runs, the other appenders queue up behind it.
  EXPECT_LE(flusher.flushes(), kThreads * kPerThread / 2);
  EXPECT_EQ(Offset(kThreads * kPerThread), log->flushed_offset());
}

TEST(FlusherTest, FsyncFailureReachesEveryWaiterAndIsNotRetried) {
  LogHarness h({}, /*fault=*/true);
  auto log = *h.Open();
  Flusher flusher;
  std::string batch = MakeBatch("x");
  auto info = log->AppendAsLeader(testing::AsMutableBytes(batch), Epoch(0));
  ASSERT_TRUE(info.ok());
  h.fault()->InjectError(FaultOp::kSync, EIO);
  absl::Notification done;
  absl::Status result;
  flusher.WaitDurable(log.get(), info->last_offset + 1, [&](absl::Status st) {
    result = st;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(absl::StatusCode::kUnavailable, result.code());
  // The injected error was one-shot, but the directory stays offline.
  absl::Notification again;
  flusher.WaitDurable(log.get(), info->last_offset + 1, [&](absl::Status st) {
    result = st;
    again.Notify();
  });
  ASSERT_TRUE(again.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_EQ(absl::StatusCode::kUnavailable, result.code());
}

TEST(FlusherTest, IntervalPolicyFlushesRegisteredLogs) {
  LogHarness h;
  auto log = *h.Open();
  Flusher flusher(absl::Milliseconds(10));
  flusher.Register(log.get());
  testing::AppendLeader(*log, MakeBatch("i", 2));
  EXPECT_TRUE(testing::Eventually([&] { return log->flushed_offset() == Offset(2); }));
  flusher.Unregister(log.get());
}

// After Unregister returns, every waiter of the log has been answered and
// the flusher will not touch the log again, so it may be destroyed.
TEST(FlusherTest, UnregisterAnswersEveryWaiterAndReleasesTheLog) {
  LogHarness h({}, /*fault=*/true);
  h.fault()->SetSyncDelay(absl::Milliseconds(1));
  auto log = *h.Open();
  Flusher flusher;
  std::atomic<int> ok{0};
  std::atomic<int> aborted{0};
  for (int i = 0; i < 100; ++i) {
    AppendInfo info = testing::AppendLeader(*log, MakeBatch("u"));
    flusher.WaitDurable(log.get(), info.last_offset + 1, [&](absl::Status st) {
      if (st.ok()) {
        ok++;
      } else {
        EXPECT_EQ(absl::StatusCode::kAborted, st.code()) << st;
        aborted++;
      }
    });
  }
  flusher.Unregister(log.get());
  EXPECT_EQ(100, ok.load() + aborted.load());
  log.reset();  // the flusher must not use it any more (ASan would tell)
}

TEST(FlusherTest, ShutdownFailsPendingWaiters) {
  LogHarness h;
  auto log = *h.Open();
  absl::Status result;
  {
    Flusher flusher;
    // An end beyond the log: never durable. The flusher answers it with
    // ABORTED (truncated) or, if it is stopped first, UNAVAILABLE.
    flusher.WaitDurable(log.get(), Offset(100), [&](absl::Status st) { result = st; });
  }
  EXPECT_FALSE(result.ok());
}

}  // namespace
}  // namespace samsa::storage
