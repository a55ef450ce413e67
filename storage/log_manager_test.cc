#include "storage/log_manager.h"

#include <dirent.h>
#include <stdlib.h>

#include <cerrno>

#include "absl/synchronization/notification.h"
#include "common/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/log_test_util.h"
#include "storage/temp_dir.h"

namespace samsa::storage {
namespace {

using testing::AppendLeader;
using testing::AsBytes;
using ::testing::ElementsAre;
using testing::Eventually;
using ::testing::HasSubstr;
using testing::MakeBatch;
using testing::ReadAll;
using testing::Values;

TopicPartitionName TP(std::string topic, int32_t p) { return {std::move(topic), PartitionId(p)}; }

TEST(PartitionDirNameTest, RoundTripsAndRejectsOthers) {
  EXPECT_EQ("my-topic-7", PartitionDirName(TP("my-topic", 7)));
  auto tp = ParsePartitionDirName("my-topic-7");
  ASSERT_TRUE(tp.has_value());
  EXPECT_EQ(TP("my-topic", 7), *tp);
  for (const char* bad :
       {"topic", "-3", "topic-", "topic-x", "t-0.123-delete", ".clean-shutdown"}) {
    EXPECT_FALSE(ParsePartitionDirName(bad).has_value()) << bad;
  }
}

class LogManagerTest : public ::testing::Test {
 protected:
  LogManagerTest() : mem_(NewMemEnv()), env_(mem_.get()) {}

  absl::StatusOr<std::unique_ptr<LogManager>> OpenManager(std::vector<std::string> dirs = {"/d1",
                                                                                           "/d2"}) {
    LogManagerOptions o;
    o.dirs = std::move(dirs);
    o.env = &env_;
    o.clock = &clock_;
    o.max_open_files = 16;
    return LogManager::Open(std::move(o));
  }

  std::unique_ptr<Env> mem_;
  FaultEnv env_;
  FakeClock clock_;
};

TEST_F(LogManagerTest, SpreadsPartitionsAndReopensCleanlyWithoutScans) {
  {
    auto mgr = *OpenManager();
    for (int p = 0; p < 4; ++p) {
      auto log = mgr->GetOrCreate(TP("t", p), {});
      ASSERT_TRUE(log.ok()) << log.status();
      AppendLeader(**log, MakeBatch("p" + std::to_string(p), 2));
    }
    EXPECT_EQ(*mgr->GetOrCreate(TP("t", 0), {}), mgr->Get(TP("t", 0))) << "same log again";
    EXPECT_EQ(nullptr, mgr->Get(TP("t", 9)));
    EXPECT_EQ(2u, env_.ListDir("/d1")->size());
    EXPECT_EQ(2u, env_.ListDir("/d2")->size());
    ASSERT_TRUE(mgr->Close().ok());
  }
  EXPECT_TRUE(*env_.FileExists("/d1/.clean-shutdown"));
  auto mgr = *OpenManager();
  EXPECT_FALSE(*env_.FileExists("/d1/.clean-shutdown")) << "consumed at start";
  EXPECT_THAT(mgr->partitions(), ElementsAre(TP("t", 0), TP("t", 1), TP("t", 2), TP("t", 3)));
  for (int p = 0; p < 4; ++p) {
    PartitionLog* log = mgr->Get(TP("t", p));
    ASSERT_NE(nullptr, log);
    EXPECT_EQ(0, log->recovery_stats().batches_scanned);
    EXPECT_EQ(Offset(2), log->log_end_offset());
  }
}

TEST_F(LogManagerTest, WithoutCloseTheNextStartRecovers) {
  {
    auto mgr = *OpenManager({"/d1"});
    AppendLeader(**mgr->GetOrCreate(TP("t", 0), {}), MakeBatch("x", 3));
  }
  auto mgr = *OpenManager({"/d1"});
  EXPECT_EQ(1, mgr->Get(TP("t", 0))->recovery_stats().batches_scanned);
}

TEST_F(LogManagerTest, UnreadableDirectoryGoesOfflineAloneWithItsError) {
  {
    auto mgr = *OpenManager();
    for (int p = 0; p < 4; ++p) AppendLeader(**mgr->GetOrCreate(TP("t", p), {}), MakeBatch("v"));
  }
  env_.InjectError(FaultOp::kListDir, EACCES, "/d2", 100);
  auto mgr = OpenManager();
  ASSERT_TRUE(mgr.ok()) << mgr.status();
  auto offline = (*mgr)->offline_dirs();
  ASSERT_EQ(1u, offline.size());
  EXPECT_EQ("/d2", offline[0].first);
  EXPECT_THAT(offline[0].second.message(), HasSubstr("Permission denied"));
  EXPECT_EQ(2u, (*mgr)->partitions().size()) << "the partitions of /d1 serve";
  // New partitions go to the online directory.
  auto log = (*mgr)->GetOrCreate(TP("new", 0), {});
  ASSERT_TRUE(log.ok());
  EXPECT_TRUE((*log)->dir().starts_with("/d1/"));
}

TEST_F(LogManagerTest, UntrustworthyPartitionTakesItsDirectoryOffline) {
  {
    auto mgr = *OpenManager({"/d1", "/d2"});
    for (int p = 0; p < 2; ++p) AppendLeader(**mgr->GetOrCreate(TP("t", p), {}), MakeBatch("v"));
  }
  ASSERT_TRUE(env_.WriteFileAtomically("/d1/t-0/leader-epoch-checkpoint", "garbage").ok());
  auto mgr = *OpenManager({"/d1", "/d2"});
  auto offline = mgr->offline_dirs();
  ASSERT_EQ(1u, offline.size());
  EXPECT_THAT(offline[0].second.message(), HasSubstr("/d1/t-0"));
  EXPECT_THAT(mgr->partitions(), ElementsAre(TP("t", 1)));
}

TEST_F(LogManagerTest, FailsOnlyWhenEveryDirectoryIsOffline) {
  env_.InjectError(FaultOp::kListDir, EIO, "", 100);
  auto mgr = OpenManager();
  EXPECT_EQ(absl::StatusCode::kUnavailable, mgr.status().code());
  EXPECT_THAT(mgr.status().message(), HasSubstr("every data directory is offline"));
}

TEST_F(LogManagerTest, DeleteRemovesFilesForGood) {
  {
    auto mgr = *OpenManager({"/d1"});
    AppendLeader(**mgr->GetOrCreate(TP("gone", 0), {}), MakeBatch("v"));
    AppendLeader(**mgr->GetOrCreate(TP("kept", 0), {}), MakeBatch("v"));
    ASSERT_TRUE(mgr->Delete(TP("gone", 0)).ok());
    EXPECT_EQ(nullptr, mgr->Get(TP("gone", 0)));
    EXPECT_EQ(absl::StatusCode::kNotFound, mgr->Delete(TP("gone", 0)).code());
    EXPECT_TRUE(
        Eventually([&] { return *env_.ListDir("/d1") == std::vector<std::string>{"kept-0"}; }));
  }
  // A delete interrupted after its rename is finished at the next start.
  ASSERT_TRUE(env_.CreateDirs("/d1/old-0.123-delete").ok());
  ASSERT_TRUE(env_.WriteFileAtomically("/d1/old-0.123-delete/00000000000000000000.log", "x").ok());
  auto mgr = *OpenManager({"/d1"});
  EXPECT_THAT(mgr->partitions(), ElementsAre(TP("kept", 0)));
  EXPECT_TRUE(
      Eventually([&] { return *env_.ListDir("/d1") == std::vector<std::string>{"kept-0"}; }));
}

// A request or a replica fetcher may still hold a partition whose topic
// is being deleted: its log object must stay valid for them (the broker
// crashed with SIGSEGV in log_end_offset() of a freed log) and refuse
// further appends.
TEST_F(LogManagerTest, ADeletedLogStaysValidForItsHoldersAndRefusesAppends) {
  auto mgr = *OpenManager({"/d1"});
  absl::StatusOr<std::shared_ptr<PartitionLog>> held = mgr->Acquire(TP("gone", 0), {});
  ASSERT_TRUE(held.ok()) << held.status();
  AppendLeader(**held, MakeBatch("v"));
  ASSERT_TRUE(mgr->Delete(TP("gone", 0)).ok());
  EXPECT_TRUE(Eventually([&] { return env_.ListDir("/d1")->empty(); }));
  EXPECT_EQ(1, (*held)->log_end_offset().value());
  std::string batch = MakeBatch("w");
  std::span<uint8_t> bytes(reinterpret_cast<uint8_t*>(batch.data()), batch.size());
  EXPECT_EQ(absl::StatusCode::kFailedPrecondition,
            (*held)->AppendAsLeader(bytes, Epoch(0)).status().code());
}

TEST_F(LogManagerTest, WaitDurableRoutesToTheLogsFlusher) {
  auto mgr = *OpenManager();
  PartitionLog* log = *mgr->GetOrCreate(TP("t", 0), {});
  AppendInfo info = AppendLeader(*log, MakeBatch("w", 2));
  absl::Notification done;
  absl::Status result;
  mgr->WaitDurable(log, info.last_offset + 1, [&](absl::Status st) {
    result = st;
    done.Notify();
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_EQ(Offset(2), log->flushed_offset());
}

TEST_F(LogManagerTest, RetentionRunsOverEveryPartition) {
  LogConfig config;
  config.segment_bytes = 150;
  config.retention_bytes = 0;
  auto mgr = *OpenManager();
  for (int p = 0; p < 3; ++p) {
    PartitionLog* log = *mgr->GetOrCreate(TP("r", p), config);
    for (int i = 0; i < 5; ++i) AppendLeader(*log, MakeBatch("r", 1, 1000, 50));
  }
  EXPECT_GT(mgr->ApplyRetention(clock_.Now()), 3);
  for (int p = 0; p < 3; ++p) EXPECT_EQ(1u, mgr->Get(TP("r", p))->segment_count());
}

int OpenDescriptors() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n - 2;
}

// 10,000 partitions on the real file system open with a bounded number of
// file descriptors.
TEST(LogManagerScaleTest, TenThousandPartitionsWithBoundedDescriptors) {
  const TempDir tmp("log-manager");
  const std::string& root = tmp.path();
  Env* env = Env::Default();
  constexpr int kPartitions = 10000;
  // Lay the partitions out directly (what a cleanly stopped broker leaves),
  // without paying an fsync per file.
  std::string batch = MakeBatch("v");
  StampBatch(testing::AsMutableBytes(batch), Offset(0), Epoch(0));
  for (int p = 0; p < kPartitions; ++p) {
    const std::string dir = JoinPath(root, "topic-" + std::to_string(p));
    ASSERT_TRUE(env->CreateDirs(dir).ok());
    auto f = env->OpenFile(JoinPath(dir, SegmentFileName(Offset(0), ".log")), OpenMode::kCreateNew);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(AsBytes(batch)).ok());
  }
  ASSERT_TRUE(env->OpenFile(JoinPath(root, ".clean-shutdown"), OpenMode::kCreateNew).ok());

  const int fds_before = OpenDescriptors();
  FakeClock clock;
  LogManagerOptions o;
  o.dirs = {root};
  o.env = env;
  o.clock = &clock;
  o.max_open_files = 128;
  SetMinLogLevel(LogLevel::kError);  // a rebuilt index per partition is expected here
  auto mgr = LogManager::Open(std::move(o));
  SetMinLogLevel(LogLevel::kInfo);
  ASSERT_TRUE(mgr.ok()) << mgr.status();
  EXPECT_EQ(static_cast<size_t>(kPartitions), (*mgr)->partitions().size());
  for (int p = 0; p < kPartitions; p += 997) {
    PartitionLog* log = (*mgr)->Get({"topic", PartitionId(p)});
    ASSERT_NE(nullptr, log);
    EXPECT_THAT(Values(ReadAll(*log)), ElementsAre(::testing::Pair(0, "v-0")));
  }
  EXPECT_LE((*mgr)->files().cached(), 128u);
  EXPECT_LT(OpenDescriptors() - fds_before, 200);
  mgr->reset();
  ASSERT_TRUE(env->DeleteTree(root).ok());
}

}  // namespace
}  // namespace samsa::storage
