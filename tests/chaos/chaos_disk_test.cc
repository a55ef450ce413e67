// Disk faults (fault suite, see chaos_fixture.h): a follower's segment
// damaged while it is down, and a broker's disk filling up.
#include <sys/mount.h>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/eventually.h"
#include "gtest/gtest.h"
#include "storage/env.h"
#include "tests/chaos/chaos_fixture.h"
#include "tests/chaos/history.h"
#include "tests/harness/broker_ops.h"
#include "tests/harness/cluster.h"
#include "tests/harness/status_assert.h"

namespace samsa::chaos {
namespace {

// 8. A stopped follower's active segment gets a flipped bit and a torn
// tail: recovery cuts it at the damaged batch, the follower fetches the
// rest again, and its replica ends identical to the others'.
TEST_F(ChaosTest, ACorruptFollowerSegmentIsCutAndFetchedAgain) {
  RunFor(absl::Seconds(3));  // records for the follower to hold
  const v1::PartitionDescription d = PartitionOf(*cluster_, kTopic, 0);
  int follower = -1;
  for (int b : kBrokers) {
    if (b != d.leader()) follower = b;
  }
  cluster_->KillBroker(follower);
  const std::string dir = absl::StrCat(cluster_->broker_data_dir(follower), "/logs/", kTopic, "-0");
  storage::Env* env = storage::Env::Default();
  absl::StatusOr<std::vector<std::string>> names = env->ListDir(dir);
  ASSERT_TRUE(names.ok()) << names.status();
  std::string segment;
  for (const std::string& n : *names) {
    if (n.size() > 4 && n.substr(n.size() - 4) == ".log") segment = dir + "/" + n;  // the newest
  }
  absl::StatusOr<std::string> bytes = env->ReadFile(segment);
  ASSERT_TRUE(bytes.ok());
  ASSERT_GT(bytes->size(), 4096u) << "the follower has records to damage";
  std::string damaged = *bytes;
  damaged[damaged.size() / 2] ^= 0x10;  // a flipped bit inside some batch
  damaged += std::string(37, '\x5a');   // and a torn tail
  ASSERT_TRUE(env->WriteFileAtomically(segment, damaged).ok());
  ASSERT_OK(cluster_->StartBroker(follower));
  EXPECT_TRUE(testing::Eventually(
      [&] { return absl::StrContains(cluster_->broker_log(follower), "recovery of " + segment); },
      absl::Seconds(20), absl::Milliseconds(100)))
      << "the damage was not detected; the follower's log:\n"
      << cluster_->broker_log(follower).substr(0, 3000);
  const Report r = Finish("corrupt-follower");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// Broker 103's data directory is a 48 MiB tmpfs of its own.
class DiskChaosTest : public ChaosTest {
 protected:
  static constexpr int kSmallDisk = 103;
  void BeforeBrokers() override {
    disk_ = cluster_->broker_data_dir(kSmallDisk);
    ASSERT_TRUE(storage::Env::Default()->CreateDirs(disk_).ok());
    if (mount("tmpfs", disk_.c_str(), "tmpfs", 0, "size=48m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs (" << std::strerror(errno) << "): needs root";
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (cluster_ != nullptr && cluster_->broker_running(kSmallDisk))
      cluster_->KillBroker(kSmallDisk);
    if (mounted_) umount2(disk_.c_str(), MNT_DETACH);
  }
  // Writes a file there until the file system is full.
  void FillDisk() {
    const std::string path = disk_ + "/filler";
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(nullptr, f);
    const std::string chunk(1 << 16, 'f');
    while (std::fwrite(chunk.data(), 1, chunk.size(), f) == chunk.size() && std::fflush(f) == 0) {
    }
    std::fclose(f);
  }
  std::string disk_;
  bool mounted_ = false;
};

// 9. A broker's disk fills: its log directory goes offline, it stops
// heartbeating (no crash, no restart loop), the controller fences it and
// moves its leaderships, and no partial record is ever served; with space
// again and a restart it recovers and rejoins.
TEST_F(DiskChaosTest, AFullDiskTakesTheBrokersLogDirectoryOffline) {
  RunFor(absl::Seconds(2));
  FillDisk();
  if (HasFatalFailure()) return;
  ASSERT_TRUE(
      cluster_->WaitForBrokerState(kSmallDisk, v1::BrokerDescription::FENCED, absl::Seconds(30)))
      << "the broker with the full disk was not fenced";
  EXPECT_TRUE(testing::Eventually(
      [&] {
        for (int p = 0; p < kPartitions; ++p) {
          const int leader = PartitionOf(*cluster_, kTopic, p).leader();
          if (leader == kSmallDisk || leader == -1) return false;
        }
        return true;
      },
      absl::Seconds(20), absl::Milliseconds(200)))
      << "leaderships did not leave the broker with the full disk";
  RunFor(absl::Seconds(2));  // time to crash or restart: it must do neither
  EXPECT_TRUE(cluster_->broker_running(kSmallDisk)) << "it must not crash (or loop restarting)";
  EXPECT_NE(std::string::npos, cluster_->broker_log(kSmallDisk).find("heartbeats stop"));

  // Space again, and a restart: it recovers what is really on its disk.
  ASSERT_TRUE(storage::Env::Default()->DeleteFile(disk_ + "/filler").ok());
  cluster_->KillBroker(kSmallDisk);
  ASSERT_OK(cluster_->StartBroker(kSmallDisk));
  const Report r = Finish("full-disk");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

}  // namespace
}  // namespace samsa::chaos
