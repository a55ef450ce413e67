// The crash matrix: a workload of appends (with segment rolls, epoch changes
// and flushes) is cut off after every one of its write and sync points in
// turn; the simulated machine then loses what was not durable (FaultEnv),
// and the reopened log must be a dense prefix of what was appended that
// still holds every append reported durable, with indexes that agree with a
// full scan.
#include <string>
#include <vector>

#include "common/logging.h"
#include "gtest/gtest.h"
#include "storage/log_test_util.h"

namespace samsa::storage {
namespace {

using testing::AppendLeader;
using testing::LogHarness;
using testing::MakeBatch;
using testing::ReadAll;
using testing::Values;

constexpr int kBatches = 14;

struct Outcome {
  Offset durable{0};  // everything below was reported durable
  int64_t ops = 0;
};

// Appends kBatches two-record batches ("w<i>-0", "w<i>-1"); stops at the
// first error (the crash).
Outcome RunWorkload(LogHarness& h, bool flush_each, int64_t crash_after) {
  Outcome out;
  auto log = h.Open();
  EXPECT_TRUE(log.ok()) << log.status();
  if (!log.ok()) return out;
  const int64_t start_ops = h.fault()->mutating_ops();
  if (crash_after >= 0) h.fault()->SetCrashAfter(crash_after);
  for (int i = 0; i < kBatches; ++i) {
    std::string batch = MakeBatch("w" + std::to_string(i), 2, 1000 + i, 30);
    const Epoch epoch(i < kBatches / 2 ? 1 : 2);
    if (!(*log)->AppendAsLeader(testing::AsMutableBytes(batch), epoch).ok()) break;
    if (flush_each) {
      if (!(*log)->Flush().ok()) break;
      out.durable = (*log)->flushed_offset();
    }
  }
  out.ops = h.fault()->mutating_ops() - start_ops;
  return out;
}

void CheckRecovered(LogHarness& h, const Outcome& outcome, const std::string& where) {
  h.Restart();
  auto log = h.Open();
  ASSERT_TRUE(log.ok()) << where << ": " << log.status();
  const Offset end = (*log)->log_end_offset();
  EXPECT_GE(end, outcome.durable) << where << ": an append reported durable was lost";
  // A dense prefix of what was appended, batch-whole.
  auto values = Values(ReadAll(**log));
  ASSERT_EQ(static_cast<size_t>(end.value()), values.size()) << where;
  ASSERT_EQ(0, values.size() % 2) << where << ": a batch was split";
  for (size_t i = 0; i < values.size(); ++i) {
    ASSERT_EQ(static_cast<int64_t>(i), values[i].first) << where;
    ASSERT_EQ("w" + std::to_string(i / 2) + "-" + std::to_string(i % 2) + std::string(30, '.'),
              values[i].second)
        << where;
  }
  // The indexes find every offset the scan found.
  for (int64_t o = 0; o < end.value(); ++o) {
    auto s = (*log)->Read(Offset(o), 1, Offset::Max(), FirstBatch::kAlways);
    ASSERT_TRUE(s.ok()) << where;
    ASSERT_LE(s->first_offset, Offset(o)) << where;
    ASSERT_GT(s->next_offset, Offset(o)) << where;
  }
  // The epoch cache describes only what is there.
  for (const EpochEntry& e : (*log)->epoch_entries()) EXPECT_LT(e.start_offset, end) << where;
  // And the log goes on from where it stands.
  AppendLeader(**log, MakeBatch("after"), Epoch(3));
  EXPECT_EQ(end + 1, (*log)->log_end_offset()) << where;
}

struct Case {
  bool flush_each;
  CrashMode mode;
};

class CrashMatrixTest : public ::testing::TestWithParam<Case> {
 protected:
  // Every crash point logs the directory going offline; keep the output to
  // failures.
  void SetUp() override { SetMinLogLevel(LogLevel::kFatal); }
  void TearDown() override { SetMinLogLevel(LogLevel::kInfo); }
};

TEST_P(CrashMatrixTest, EveryCrashPointRecoversToADurablePrefix) {
  LogConfig config;
  config.segment_bytes = 400;  // several rolls in the workload
  config.index_interval_bytes = 100;
  config.flush_policy.kind =
      GetParam().flush_each ? FlushPolicy::Kind::kAlways : FlushPolicy::Kind::kOs;

  int64_t total_ops = 0;
  {
    LogHarness dry(config, /*fault=*/true);
    total_ops = RunWorkload(dry, GetParam().flush_each, -1).ops;
  }
  ASSERT_GT(total_ops, 3 * kBatches) << "the workload must write, roll and sync";
  for (int64_t k = 0; k <= total_ops; ++k) {
    LogHarness h(config, /*fault=*/true);
    const Outcome outcome = RunWorkload(h, GetParam().flush_each, k);
    ASSERT_TRUE(h.fault()->Crash(GetParam().mode, static_cast<uint64_t>(k)).ok());
    CheckRecovered(h, outcome, "crash after op " + std::to_string(k));
    if (::testing::Test::HasFatalFailure()) return;
  }
}

INSTANTIATE_TEST_SUITE_P(Policies, CrashMatrixTest,
                         ::testing::Values(Case{true, CrashMode::kDropUnsynced},
                                           Case{true, CrashMode::kTearLastWrite},
                                           Case{false, CrashMode::kDropUnsynced},
                                           Case{false, CrashMode::kTearLastWrite}),
                         [](const auto& info) {
                           return std::string(info.param.flush_each ? "FlushAlways" : "FlushOs") +
                                  (info.param.mode == CrashMode::kDropUnsynced ? "DropUnsynced"
                                                                               : "TornWrite");
                         });

}  // namespace
}  // namespace samsa::storage
