#include "storage/compression.h"

#include <random>
#include <string>

#include "common/endian.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace samsa::storage {
namespace {

using ::testing::HasSubstr;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Compressible text is a random walk over a few words, like log lines;
// otherwise random bytes.
std::string RandomText(size_t n, uint64_t seed, bool compressible) {
  static constexpr std::string_view kWords[] = {"user ", "clicked ",    "buy-now ",
                                                "page ", "session=42 ", "\n"};
  std::mt19937_64 rng(seed);
  std::string s;
  while (s.size() < n) {
    if (compressible) {
      s.append(kWords[rng() % std::size(kWords)]);
    } else {
      s.push_back(static_cast<char>(rng()));
    }
  }
  s.resize(n);
  return s;
}

class CodecTest : public ::testing::TestWithParam<Compression> {
 protected:
  const Codec& codec() { return CodecFor(GetParam()); }
};

TEST_P(CodecTest, RoundTrips) {
  EXPECT_EQ(GetParam(), codec().type());
  for (size_t n : {size_t{0}, size_t{1}, size_t{100}, size_t{70000}, size_t{1} << 20}) {
    for (bool compressible : {true, false}) {
      const std::string in = RandomText(n, n, compressible);
      std::string compressed = "prefix";
      ASSERT_TRUE(codec().Compress(Bytes(in), &compressed).ok());
      ASSERT_EQ("prefix", compressed.substr(0, 6)) << "Compress appends";
      const std::string body = compressed.substr(6);
      if (compressible && n >= 70000) {
        EXPECT_LT(body.size(), n / 2);
      }
      std::string out = "x";
      absl::Status st = codec().Decompress(Bytes(body), n + 1, &out);
      ASSERT_TRUE(st.ok()) << st << " n=" << n;
      ASSERT_EQ("x" + in, out);
    }
  }
}

TEST_P(CodecTest, RefusesToExceedTheOutputBound) {
  const std::string zeros(4 << 20, '\0');
  std::string compressed;
  ASSERT_TRUE(codec().Compress(Bytes(zeros), &compressed).ok());
  EXPECT_LT(compressed.size(), size_t{300} << 10);
  std::string out = "keep";
  absl::Status st = codec().Decompress(Bytes(compressed), 1 << 20, &out);
  EXPECT_EQ(absl::StatusCode::kDataLoss, st.code());
  EXPECT_THAT(st.message(), HasSubstr("decompresses to more than 1048576 bytes"));
  EXPECT_EQ("keep", out) << "nothing appended on failure";
  // Exactly at the bound is fine.
  out.clear();
  EXPECT_TRUE(codec().Decompress(Bytes(compressed), zeros.size(), &out).ok());
}

TEST_P(CodecTest, GarbageIsDataLoss) {
  for (uint64_t seed = 0; seed < 50; ++seed) {
    const std::string garbage = RandomText(1 + seed * 7, seed, false);
    std::string out;
    absl::Status st = codec().Decompress(Bytes(garbage), 1 << 20, &out);
    if (!st.ok()) {
      EXPECT_EQ(absl::StatusCode::kDataLoss, st.code()) << st;
      EXPECT_TRUE(out.empty());
    }
  }
  std::string out;
  EXPECT_EQ(absl::StatusCode::kDataLoss, codec().Decompress({}, 100, &out).code()) << "empty input";
}

TEST_P(CodecTest, EveryTruncationFails) {
  const std::string in = RandomText(5000, 3, true);
  std::string compressed;
  ASSERT_TRUE(codec().Compress(Bytes(in), &compressed).ok());
  for (size_t len = 0; len < compressed.size(); ++len) {
    std::string out;
    const std::string cut = compressed.substr(0, len);
    absl::Status st = codec().Decompress(Bytes(cut), 1 << 20, &out);
    // A raw snappy prefix can still be a valid shorter stream only if it
    // decodes to the same length, which the length preamble rules out.
    EXPECT_FALSE(st.ok() && out == in) << "len=" << len;
    if (!st.ok()) {
      EXPECT_EQ(absl::StatusCode::kDataLoss, st.code());
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, CodecTest,
                         ::testing::Values(Compression::kGzip, Compression::kSnappy,
                                           Compression::kLz4, Compression::kZstd),
                         [](const auto& info) { return std::string(CompressionName(info.param)); });

TEST(SnappyTest, ReadsXerialFraming) {
  // The Java client's snappy-java stream: header, then length-prefixed blocks.
  const std::string a = RandomText(3000, 1, true);
  const std::string b = RandomText(2000, 2, true);
  std::string framed("\x82SNAPPY\0", 8);
  framed.append(std::string("\0\0\0\1\0\0\0\1", 8));  // version 1, compatible 1
  for (const std::string* part : {&a, &b}) {
    std::string block;
    ASSERT_TRUE(CodecFor(Compression::kSnappy).Compress(Bytes(*part), &block).ok());
    uint8_t len[4];
    StoreBE<int32_t>(len, static_cast<int32_t>(block.size()));
    framed.append(reinterpret_cast<char*>(len), 4);
    framed.append(block);
  }
  std::string out;
  ASSERT_TRUE(CodecFor(Compression::kSnappy).Decompress(Bytes(framed), 1 << 20, &out).ok());
  EXPECT_EQ(a + b, out);

  framed.resize(framed.size() - 1);
  out.clear();
  EXPECT_EQ(absl::StatusCode::kDataLoss,
            CodecFor(Compression::kSnappy).Decompress(Bytes(framed), 1 << 20, &out).code());
}

TEST(GzipTest, ReadsConcatenatedMembers) {
  std::string both;
  ASSERT_TRUE(CodecFor(Compression::kGzip).Compress(Bytes("hello "), &both).ok());
  ASSERT_TRUE(CodecFor(Compression::kGzip).Compress(Bytes("world"), &both).ok());
  std::string out;
  ASSERT_TRUE(CodecFor(Compression::kGzip).Decompress(Bytes(both), 100, &out).ok());
  EXPECT_EQ("hello world", out);
}

TEST(CompressionNameTest, ParsesEveryName) {
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                        Compression::kLz4, Compression::kZstd}) {
    EXPECT_EQ(c, *ParseCompression(CompressionName(c)));
  }
  EXPECT_EQ("unknown compression 'brotli' (expected none, gzip, snappy, lz4 or zstd)",
            ParseCompression("brotli").status().message());
}

}  // namespace
}  // namespace samsa::storage
