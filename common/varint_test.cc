#include "common/varint.h"

#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace samsa::varint {
namespace {

std::vector<uint8_t> Bytes(std::initializer_list<int> v) {
  std::vector<uint8_t> out;
  for (int b : v) out.push_back(static_cast<uint8_t>(b));
  return out;
}

TEST(VarintTest, ZigZagMapsSmallMagnitudesToSmallNumbers) {
  EXPECT_EQ(0u, ZigZag32(0));
  EXPECT_EQ(1u, ZigZag32(-1));
  EXPECT_EQ(2u, ZigZag32(1));
  EXPECT_EQ(3u, ZigZag32(-2));
  EXPECT_EQ(0xFFFFFFFEu, ZigZag32(std::numeric_limits<int32_t>::max()));
  EXPECT_EQ(0xFFFFFFFFu, ZigZag32(std::numeric_limits<int32_t>::min()));
  EXPECT_EQ(~uint64_t{0}, ZigZag64(std::numeric_limits<int64_t>::min()));
}

// Byte strings Kafka's ByteUtils produces for the same values.
TEST(VarintTest, KnownEncodings) {
  uint8_t buf[kMax64Bytes];
  ASSERT_EQ(1u, EncodeSigned32(0, buf));
  EXPECT_EQ(0x00, buf[0]);
  ASSERT_EQ(1u, EncodeSigned32(-1, buf));
  EXPECT_EQ(0x01, buf[0]);
  ASSERT_EQ(1u, EncodeSigned32(63, buf));
  EXPECT_EQ(0x7E, buf[0]);
  ASSERT_EQ(2u, EncodeSigned32(64, buf));
  EXPECT_EQ(0x80, buf[0]);
  EXPECT_EQ(0x01, buf[1]);
  ASSERT_EQ(2u, EncodeUnsigned32(300, buf));
  EXPECT_EQ(0xAC, buf[0]);
  EXPECT_EQ(0x02, buf[1]);
  EXPECT_EQ(5u, EncodeSigned32(std::numeric_limits<int32_t>::min(), buf));
  EXPECT_EQ(10u, EncodeSigned64(std::numeric_limits<int64_t>::min(), buf));
}

TEST(VarintTest, SizeMatchesEncodedLength) {
  uint8_t buf[kMax64Bytes];
  for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{16383}, uint64_t{16384},
                     uint64_t{1} << 35, ~uint64_t{0}}) {
    EXPECT_EQ(UnsignedSize(v), EncodeUnsigned64(v, buf)) << v;
  }
}

TEST(VarintTest, RoundTripsBoundaryAndRandomValues) {
  std::vector<int64_t> values = {0,
                                 1,
                                 -1,
                                 63,
                                 -64,
                                 64,
                                 std::numeric_limits<int32_t>::max(),
                                 std::numeric_limits<int32_t>::min(),
                                 std::numeric_limits<int64_t>::max(),
                                 std::numeric_limits<int64_t>::min()};
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) values.push_back(static_cast<int64_t>(rng()) >> (rng() % 64));

  uint8_t buf[kMax64Bytes];
  for (int64_t v : values) {
    const size_t n = EncodeSigned64(v, buf);
    ASSERT_EQ(SignedSize64(v), n);
    int64_t back = 0;
    DecodeResult r = DecodeSigned64(std::span<const uint8_t>(buf, n), &back);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(n, r.length);
    ASSERT_EQ(v, back);

    const auto v32 = static_cast<int32_t>(v);
    const size_t n32 = EncodeSigned32(v32, buf);
    ASSERT_EQ(SignedSize32(v32), n32);
    int32_t back32 = 0;
    r = DecodeSigned32(std::span<const uint8_t>(buf, n32), &back32);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(n32, r.length);
    ASSERT_EQ(v32, back32);
  }
}

TEST(VarintTest, DecodeConsumesOnlyOneVarint) {
  const auto in = Bytes({0xAC, 0x02, 0x05});
  uint32_t v = 0;
  DecodeResult r = DecodeUnsigned32(in, &v);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(2u, r.length);
  EXPECT_EQ(300u, v);
}

TEST(VarintTest, EmptyInputIsTruncated) {
  uint32_t v32 = 0;
  uint64_t v64 = 0;
  EXPECT_EQ(DecodeError::kTruncated, DecodeUnsigned32({}, &v32).error);
  EXPECT_EQ(DecodeError::kTruncated, DecodeUnsigned64({}, &v64).error);
}

TEST(VarintTest, EveryTruncationOfAValidEncodingIsTruncated) {
  uint8_t buf[kMax64Bytes];
  const size_t n = EncodeUnsigned64(~uint64_t{0}, buf);
  ASSERT_EQ(kMax64Bytes, n);
  for (size_t len = 0; len < n; ++len) {
    uint64_t v = 0;
    EXPECT_EQ(DecodeError::kTruncated,
              DecodeUnsigned64(std::span<const uint8_t>(buf, len), &v).error)
        << len;
  }
}

TEST(VarintTest, TooLong) {
  uint32_t v32 = 0;
  // Six bytes with continuation bits: a 32-bit varint has at most five.
  EXPECT_EQ(DecodeError::kTooLong,
            DecodeUnsigned32(Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x00}), &v32).error);
  uint64_t v64 = 0;
  EXPECT_EQ(DecodeError::kTooLong,
            DecodeUnsigned64(
                Bytes({0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}), &v64)
                .error);
}

TEST(VarintTest, Overflow) {
  uint32_t v32 = 0;
  // 0x10 in the fifth byte would be bit 32.
  EXPECT_EQ(DecodeError::kOverflow,
            DecodeUnsigned32(Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x10}), &v32).error);
  EXPECT_TRUE(DecodeUnsigned32(Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0x0F}), &v32).ok());
  EXPECT_EQ(0xFFFFFFFFu, v32);

  uint64_t v64 = 0;
  EXPECT_EQ(
      DecodeError::kOverflow,
      DecodeUnsigned64(Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02}), &v64)
          .error);
  EXPECT_TRUE(
      DecodeUnsigned64(Bytes({0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01}), &v64)
          .ok());
  EXPECT_EQ(~uint64_t{0}, v64);
}

TEST(VarintTest, NonMinimalEncodingAcceptedLikeKafka) {
  uint32_t v = 1;
  DecodeResult r = DecodeUnsigned32(Bytes({0x80, 0x00}), &v);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(2u, r.length);
  EXPECT_EQ(0u, v);
}

TEST(VarintTest, ErrorsBecomeInvalidArgumentNamingTheField) {
  EXPECT_TRUE(ToStatus(DecodeError::kOk, "x").ok());
  absl::Status st = ToStatus(DecodeError::kTruncated, "record key length");
  EXPECT_EQ(absl::StatusCode::kInvalidArgument, st.code());
  EXPECT_EQ("record key length: varint truncated", st.message());
  EXPECT_EQ("n: varint too long", ToStatus(DecodeError::kTooLong, "n").message());
  EXPECT_EQ("n: varint overflows its type", ToStatus(DecodeError::kOverflow, "n").message());
}

}  // namespace
}  // namespace samsa::varint
