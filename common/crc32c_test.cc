#include "common/crc32c.h"

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace samsa::crc32c {
namespace {

// Each vector runs through both implementations.
void ExpectBoth(uint32_t expected, const void* data, size_t n) {
  EXPECT_EQ(expected, Value(data, n));
  EXPECT_EQ(expected, ExtendPortable(0, data, n));
}

TEST(Crc32cTest, StandardCheckValue) {
  const std::string s = "123456789";
  ExpectBoth(0xE3069283u, s.data(), s.size());
}

TEST(Crc32cTest, EmptyInputIsZero) { ExpectBoth(0u, "", 0); }

// RFC 3720 (iSCSI) appendix B.4 test patterns.
TEST(Crc32cTest, Rfc3720Patterns) {
  uint8_t buf[32];
  std::memset(buf, 0, sizeof(buf));
  ExpectBoth(0x8A9136AAu, buf, sizeof(buf));

  std::memset(buf, 0xFF, sizeof(buf));
  ExpectBoth(0x62A8AB43u, buf, sizeof(buf));

  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(i);
  ExpectBoth(0x46DD794Eu, buf, sizeof(buf));

  for (int i = 0; i < 32; ++i) buf[i] = static_cast<uint8_t>(31 - i);
  ExpectBoth(0x113FDB5Cu, buf, sizeof(buf));

  // An iSCSI SCSI Read (10) command PDU.
  const uint8_t pdu[48] = {
      0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00,
      0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00,
      0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  };
  ExpectBoth(0xD9963A56u, pdu, sizeof(pdu));
}

TEST(Crc32cTest, ExtendEqualsValueOfConcatenation) {
  const std::string a = "hello ";
  const std::string b = "world";
  const std::string ab = a + b;
  EXPECT_EQ(Value(ab.data(), ab.size()), Extend(Value(a.data(), a.size()), b.data(), b.size()));
  EXPECT_EQ(Value(ab.data(), ab.size()),
            ExtendPortable(ExtendPortable(0, a.data(), a.size()), b.data(), b.size()));
}

TEST(Crc32cTest, DifferentInputsDiffer) {
  EXPECT_NE(Value("a", 1), Value("b", 1));
  EXPECT_NE(Value("ab", 2), Value("ba", 2));
}

// The fast path (whichever Extend() chose) agrees with the table fallback for
// random contents, lengths, alignments and split points.
TEST(Crc32cTest, FastPathMatchesPortableOnRandomInput) {
  std::mt19937_64 rng(20261126);
  // Up to 100 KiB: through the three-stream paths (3 x 8 KiB and 3 x 256 B
  // blocks) and the single-stream tail.
  constexpr size_t kMax = 100 << 10;
  std::vector<uint8_t> buf(kMax + 16);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (int iter = 0; iter < 2000; ++iter) {
    const size_t offset = rng() % 16;
    const size_t len = iter % 4 == 0 ? rng() % kMax : rng() % 2048;
    const uint8_t* p = buf.data() + offset;
    const uint32_t expected = ExtendPortable(0, p, len);
    ASSERT_EQ(expected, Value(p, len)) << "offset=" << offset << " len=" << len;
    const size_t split = len == 0 ? 0 : rng() % len;
    ASSERT_EQ(expected, Extend(Extend(0, p, split), p + split, len - split));
  }
}

TEST(Crc32cTest, ReportsAcceleration) {
#if defined(__x86_64__)
  EXPECT_EQ(__builtin_cpu_supports("sse4.2") != 0, HardwareAccelerated());
#else
  EXPECT_FALSE(HardwareAccelerated());
#endif
}

}  // namespace
}  // namespace samsa::crc32c
