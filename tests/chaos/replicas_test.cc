#include "tests/chaos/replicas.h"

#include "gtest/gtest.h"
#include "storage/env.h"
#include "tests/harness/process.h"

namespace samsa::chaos {
namespace {

void PutBigEndian(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// A batch header (and an empty body) as BatchesBelow reads it.
std::string Batch(int64_t base, int32_t last_delta, uint32_t crc) {
  std::string b;
  PutBigEndian(b, static_cast<uint64_t>(base), 8);
  PutBigEndian(b, 49, 4);  // batchLength: the v2 header after this field
  PutBigEndian(b, 0, 4);   // partitionLeaderEpoch
  b.push_back(2);          // magic
  PutBigEndian(b, crc, 4);
  PutBigEndian(b, 0, 2);  // attributes
  PutBigEndian(b, static_cast<uint32_t>(last_delta), 4);
  b.resize(12 + 49, '\0');
  return b;
}

class ReplicasTest : public ::testing::Test {
 protected:
  std::string Replica(const std::string& name, const std::string& segment0,
                      const std::string& segment1 = "") {
    const std::string dir = dir_.path() + "/" + name;
    storage::Env* env = storage::Env::Default();
    EXPECT_TRUE(env->CreateDirs(dir).ok());
    EXPECT_TRUE(env->WriteFileAtomically(dir + "/00000000000000000000.log", segment0).ok());
    if (!segment1.empty()) {
      EXPECT_TRUE(env->WriteFileAtomically(dir + "/00000000000000000010.log", segment1).ok());
    }
    return dir;
  }
  testing::TempDir dir_;
};

TEST_F(ReplicasTest, IdenticalBelowTheHighWatermarkWhateverLiesAbove) {
  const std::string a = Replica("a", Batch(0, 4, 7) + Batch(5, 4, 8), Batch(10, 2, 9));
  const std::string b = Replica("b", Batch(0, 4, 7) + Batch(5, 4, 8) + Batch(10, 2, 9) + "torn");
  const std::string c = Replica("c", Batch(0, 4, 7) + Batch(5, 4, 8) + Batch(10, 0, 66));
  absl::StatusOr<std::vector<BatchId>> batches = BatchesBelow(b, 13);
  ASSERT_TRUE(batches.ok());
  ASSERT_EQ(3u, batches->size());
  EXPECT_EQ(12, batches->back().last_offset);
  EXPECT_EQ("", CompareReplicas({a, b}, 13));
  EXPECT_EQ("", CompareReplicas({a, b, c}, 10)) << "c differs only above the high watermark";
  EXPECT_NE("", CompareReplicas({a, c}, 13));
  const std::string short_one = Replica("d", Batch(0, 4, 7));
  EXPECT_NE(std::string::npos, CompareReplicas({a, short_one}, 10).find("below the high"));
}

}  // namespace
}  // namespace samsa::chaos
