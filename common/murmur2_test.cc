#include "common/murmur2.h"

#include <string>

#include "gtest/gtest.h"

namespace samsa {
namespace {

// Kafka's UtilsTest.testMurmur2 and librdkafka's rdmurmur2 vectors.
TEST(Murmur2Test, MatchesKafkasUtilsMurmur2) {
  const std::pair<std::string, int32_t> cases[] = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107},
      {"1", -1993445489},
      {"12", 126087238},
      {"123", -267702483},
      {"1234", -1614185708},
      {"12345", -1188365604},
      {"kafka", -798503068},
  };
  for (const auto& [key, hash] : cases) EXPECT_EQ(hash, Murmur2(key)) << key;
}

TEST(Murmur2Test, PartitionIsThePositiveHashModuloTheCount) {
  // toPositive(-973932308) = 1173551340; 1173551340 % 6 = 0.
  EXPECT_EQ(1173551340 % 6, PartitionForKey("21", 6));
  EXPECT_EQ(479470107 % 7, PartitionForKey("abc", 7));
  for (int n = 1; n < 50; ++n) {
    const int32_t p = PartitionForKey("user-" + std::to_string(n), n);
    EXPECT_GE(p, 0);
    EXPECT_LT(p, n);
  }
}

}  // namespace
}  // namespace samsa
