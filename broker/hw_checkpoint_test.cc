#include "broker/hw_checkpoint.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/mem_env.h"

namespace samsa::broker {
namespace {

using ::testing::HasSubstr;

TEST(HighWatermarkCheckpointTest, RoundTripsThroughTheEnv) {
  auto env = storage::NewMemEnv();
  ASSERT_TRUE(env->CreateDirs("/logs").ok());
  absl::StatusOr<HighWatermarks> none = ReadHighWatermarks(env.get(), "/logs/hw");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty()) << "no file: nothing checkpointed";
  const HighWatermarks hws = {{{"orders", PartitionId(0)}, Offset(42)},
                              {{"a.b-c", PartitionId(11)}, Offset(0)}};
  ASSERT_TRUE(WriteHighWatermarks(env.get(), "/logs/hw", hws).ok());
  EXPECT_EQ("0\n2\na.b-c 11 0\norders 0 42\n", *env->ReadFile("/logs/hw"));
  absl::StatusOr<HighWatermarks> back = ReadHighWatermarks(env.get(), "/logs/hw");
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(hws, *back);
}

TEST(HighWatermarkCheckpointTest, MalformedFilesAreDataLossNamingTheLine) {
  for (const char* text :
       {"", "1\n0\n", "0\n2\nt 0 1\n", "0\n1\nt x 1\n", "0\n1\nt 0 -4\n", "0\n1\nt 0\n"}) {
    absl::StatusOr<HighWatermarks> r = DecodeHighWatermarks(text);
    EXPECT_EQ(absl::StatusCode::kDataLoss, r.status().code()) << text;
  }
  EXPECT_THAT(std::string(DecodeHighWatermarks("0\n1\nt 0 x\n").status().message()),
              HasSubstr("line 3"));
}

}  // namespace
}  // namespace samsa::broker
