#include "storage/leader_epoch_cache.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/mem_env.h"

namespace samsa::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class LeaderEpochCacheTest : public ::testing::Test {
 protected:
  LeaderEpochCacheTest() : env_(NewMemEnv()) { EXPECT_TRUE(env_->CreateDirs("/p").ok()); }
  LeaderEpochCache Load() { return *LeaderEpochCache::Load(env_.get(), "/p/cp"); }
  std::unique_ptr<Env> env_;
};

TEST_F(LeaderEpochCacheTest, AssignPersistsInKafkasFormat) {
  LeaderEpochCache c = Load();
  ASSERT_TRUE(c.Assign(Epoch(1), Offset(0)).ok());
  ASSERT_TRUE(c.Assign(Epoch(1), Offset(10)).ok());  // same epoch: ignored
  ASSERT_TRUE(c.Assign(Epoch(0), Offset(20)).ok());  // older epoch: ignored
  ASSERT_TRUE(c.Assign(Epoch(4), Offset(20)).ok());
  EXPECT_EQ("0\n2\n1 0\n4 20\n", *env_->ReadFile("/p/cp"));
  EXPECT_THAT(Load().entries(),
              ElementsAre(EpochEntry{Epoch(1), Offset(0)}, EpochEntry{Epoch(4), Offset(20)}));
}

TEST_F(LeaderEpochCacheTest, NewerEpochReplacesEntriesAtOrAfterItsStart) {
  LeaderEpochCache c = Load();
  ASSERT_TRUE(c.Assign(Epoch(1), Offset(0)).ok());
  ASSERT_TRUE(c.Assign(Epoch(2), Offset(10)).ok());
  ASSERT_TRUE(c.Assign(Epoch(5), Offset(10)).ok());
  EXPECT_THAT(c.entries(),
              ElementsAre(EpochEntry{Epoch(1), Offset(0)}, EpochEntry{Epoch(5), Offset(10)}));
}

TEST_F(LeaderEpochCacheTest, TruncateFromEndAndStart) {
  LeaderEpochCache c = Load();
  ASSERT_TRUE(c.Assign(Epoch(1), Offset(0)).ok());
  ASSERT_TRUE(c.Assign(Epoch(2), Offset(10)).ok());
  ASSERT_TRUE(c.Assign(Epoch(3), Offset(20)).ok());
  ASSERT_TRUE(c.TruncateFromEnd(Offset(20)).ok());
  EXPECT_EQ(Epoch(2), c.latest_epoch());
  ASSERT_TRUE(c.TruncateFromStart(Offset(15)).ok());
  EXPECT_THAT(c.entries(), ElementsAre(EpochEntry{Epoch(2), Offset(15)}));
  EXPECT_THAT(Load().entries(), ElementsAre(EpochEntry{Epoch(2), Offset(15)}));
  ASSERT_TRUE(c.TruncateFromStart(Offset(15)).ok());  // nothing below: unchanged
  EXPECT_EQ(Offset(15), c.StartOffsetOf(Epoch(2)));
  EXPECT_FALSE(c.StartOffsetOf(Epoch(1)).has_value());
}

TEST_F(LeaderEpochCacheTest, MalformedCheckpointRefusesToLoad) {
  for (const char* bad : {"", "1\n0\n", "0\n2\n1 0\n", "0\n1\nx 0\n", "0\n2\n3 10\n2 20\n",
                          "0\n2\n1 10\n2 5\n", "0\n1\n-1 0\n"}) {
    ASSERT_TRUE(env_->WriteFileAtomically("/p/cp", bad).ok());
    auto c = LeaderEpochCache::Load(env_.get(), "/p/cp");
    EXPECT_EQ(absl::StatusCode::kDataLoss, c.status().code()) << "'" << bad << "'";
    EXPECT_THAT(c.status().message(), HasSubstr("/p/cp")) << bad;
  }
}

}  // namespace
}  // namespace samsa::storage
