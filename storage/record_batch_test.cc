#include "storage/record_batch.h"

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "common/endian.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/batch_builder.h"
#include "storage/compression.h"
#include "storage/record_reader.h"

namespace samsa::storage {
namespace {

using ::testing::HasSubstr;

std::span<const uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
std::span<uint8_t> MutableBytes(std::string& s) {
  return {reinterpret_cast<uint8_t*>(s.data()), s.size()};
}

// A batch produced by librdkafka against a real Kafka broker: one record with
// an empty key, value "hello kafka", header foo=bar, timestamp 1641388919,
// leader epoch 0, not idempotent.
const std::string kLibrdkafkaBatch = absl::HexStringToBytes(
    "0000000000000000"  // baseOffset
    "0000004b"          // batchLength 75
    "00000000"          // partitionLeaderEpoch
    "02"                // magic
    "2724fecd"          // crc
    "0000"              // attributes
    "00000000"          // lastOffsetDelta
    "0000000061d59b77"  // baseTimestamp
    "0000000061d59b77"  // maxTimestamp
    "ffffffffffffffff"  // producerId
    "ffff"              // producerEpoch
    "ffffffff"          // baseSequence
    "00000001"          // recordCount
    "32000000"          // length 25, attributes, timestampDelta, offsetDelta
    "00"                // key length 0
    "16"
    "68656c6c6f206b61666b61"  // value "hello kafka"
    "02"
    "06"
    "666f6f"
    "06"
    "626172");  // 1 header: foo=bar

struct Decoded {
  int64_t offset;
  int64_t timestamp;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
  bool operator==(const Decoded&) const = default;
};

absl::StatusOr<std::vector<Decoded>> DecodeAll(const std::string& batch) {
  std::vector<Decoded> out;
  absl::Status st = ForEachRecord(Bytes(batch), [&](const RecordView& r) {
    Decoded d{r.offset.value(), r.timestamp, std::nullopt, std::nullopt, {}};
    if (r.key) d.key = std::string(*r.key);
    if (r.value) d.value = std::string(*r.value);
    for (const RecordHeaderView& h : r.headers) {
      d.headers.emplace_back(std::string(h.key),
                             h.value ? std::optional<std::string>(*h.value) : std::nullopt);
    }
    out.push_back(std::move(d));
    return absl::OkStatus();
  });
  if (!st.ok()) return st;
  return out;
}

TEST(RecordBatchTest, DecodesABatchFromAnotherClient) {
  ASSERT_EQ(87u, kLibrdkafkaBatch.size());
  auto h = ValidateBatch(Bytes(kLibrdkafkaBatch));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(Offset(0), h->base_offset);
  EXPECT_EQ(87u, h->size());
  EXPECT_EQ(Epoch(0), h->leader_epoch);
  EXPECT_EQ(Compression::kNone, h->compression());
  EXPECT_EQ(TimestampType::kCreateTime, h->timestamp_type());
  EXPECT_EQ(1641388919, h->max_timestamp);
  EXPECT_EQ(kNoProducerId, h->producer_id);
  EXPECT_EQ(1, h->record_count);
  EXPECT_EQ(Offset(1), h->next_offset());

  auto records = DecodeAll(kLibrdkafkaBatch);
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(1u, records->size());
  EXPECT_EQ((Decoded{0, 1641388919, "", "hello kafka", {{"foo", "bar"}}}), (*records)[0]);
}

TEST(RecordBatchTest, BuilderReproducesTheOtherClientsBytes) {
  BatchBuilder b;
  const RecordHeaderView header{"foo", "bar"};
  b.Append(1641388919, "", "hello kafka", {&header, 1});
  auto batch = b.Build();
  ASSERT_TRUE(batch.ok());
  StampBatch(MutableBytes(*batch), Offset(0), Epoch(0));
  EXPECT_EQ(absl::BytesToHexString(kLibrdkafkaBatch), absl::BytesToHexString(*batch));
}

TEST(RecordBatchTest, StampingOffsetAndEpochKeepsTheCrcValid) {
  std::string batch = kLibrdkafkaBatch;
  StampBatch(MutableBytes(batch), Offset(1234567), Epoch(42));
  auto h = ValidateBatch(Bytes(batch));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(Offset(1234567), h->base_offset);
  EXPECT_EQ(Epoch(42), h->leader_epoch);
  auto records = DecodeAll(batch);
  ASSERT_TRUE(records.ok());
  EXPECT_EQ(1234567, (*records)[0].offset);
}

class RoundTripTest : public ::testing::TestWithParam<Compression> {};

TEST_P(RoundTripTest, EveryShape) {
  BatchBuilder b(
      {.compression = GetParam(), .producer_id = 77, .producer_epoch = 3, .base_sequence = 100});
  std::vector<Decoded> expected;
  const std::vector<RecordHeaderView> headers = {{"h1", "v1"}, {"null-valued", std::nullopt}};
  b.Append(1000, std::nullopt, std::nullopt);
  expected.push_back({0, 1000, std::nullopt, std::nullopt, {}});
  b.Append(999, "", "");  // timestamps may go backwards inside a batch
  expected.push_back({1, 999, "", "", {}});
  b.Append(5000, "k", std::nullopt, headers);
  expected.push_back({2, 5000, "k", std::nullopt, {{"h1", "v1"}, {"null-valued", std::nullopt}}});
  const std::string big(100000, 'v');
  b.Append(1001, std::nullopt, big);
  expected.push_back({3, 1001, std::nullopt, big, {}});
  EXPECT_EQ(4, b.record_count());

  auto batch = b.Build();
  ASSERT_TRUE(batch.ok());
  auto h = ValidateBatch(Bytes(*batch));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(GetParam(), h->compression());
  EXPECT_EQ(4, h->record_count);
  EXPECT_EQ(3, h->last_offset_delta);
  EXPECT_EQ(1000, h->base_timestamp);
  EXPECT_EQ(5000, h->max_timestamp);
  EXPECT_EQ(77, h->producer_id);
  EXPECT_EQ(3, h->producer_epoch);
  EXPECT_EQ(100, h->base_sequence);
  EXPECT_EQ(kNoEpoch, h->leader_epoch);
  auto decoded = DecodeAll(*batch);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(expected, *decoded);
  EXPECT_EQ(0, b.record_count()) << "Build resets";
}

TEST_P(RoundTripTest, OneAndTenThousandRecords) {
  for (int n : {1, 10000}) {
    BatchBuilder b({.compression = GetParam()});
    for (int i = 0; i < n; ++i) {
      b.Append(1700000000000 + i, "key-" + std::to_string(i % 17), std::string(100, 'a' + i % 26));
    }
    auto batch = b.Build();
    ASSERT_TRUE(batch.ok());
    auto decoded = DecodeAll(*batch);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    ASSERT_EQ(static_cast<size_t>(n), decoded->size());
    for (int i = 0; i < n; ++i) {
      ASSERT_EQ(i, (*decoded)[i].offset);
      ASSERT_EQ(1700000000000 + i, (*decoded)[i].timestamp);
      ASSERT_EQ("key-" + std::to_string(i % 17), (*decoded)[i].key);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllCodecs, RoundTripTest,
                         ::testing::Values(Compression::kNone, Compression::kGzip,
                                           Compression::kSnappy, Compression::kLz4,
                                           Compression::kZstd),
                         [](const auto& info) { return std::string(CompressionName(info.param)); });

TEST(RecordBatchTest, LogAppendTimeGivesEveryRecordTheBatchTime) {
  BatchBuilder b({.timestamp_type = TimestampType::kLogAppendTime});
  b.Append(1, "a", "a");
  b.Append(2, "b", "b");
  auto batch = b.Build();
  ASSERT_TRUE(batch.ok());
  StoreBE<int64_t>(MutableBytes(*batch).data() + kMaxTimestampPos, 777);
  EXPECT_FALSE(ValidateBatch(Bytes(*batch)).ok()) << "maxTimestamp is inside the CRC";
  UpdateBatchCrc(MutableBytes(*batch));
  auto decoded = DecodeAll(*batch);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(777, (*decoded)[0].timestamp);
  EXPECT_EQ(777, (*decoded)[1].timestamp);
}

TEST(RecordBatchTest, EmptyBatchIsNoProducerBatch) {
  BatchBuilder b;
  EXPECT_EQ(absl::StatusCode::kFailedPrecondition, b.Build().status().code());
  std::string batch = kLibrdkafkaBatch;
  StoreBE<int32_t>(MutableBytes(batch).data() + kRecordCountPos, 0);
  StoreBE<int32_t>(MutableBytes(batch).data() + kLastOffsetDeltaPos, -1);
  UpdateBatchCrc(MutableBytes(batch));
  EXPECT_THAT(ValidateBatch(Bytes(batch)).status().message(),
              HasSubstr("lastOffsetDelta -1 disagrees with recordCount 0"));
  // The cleaner's empty batch (KIP-98) keeps its offset span: a valid log
  // batch, never a valid producer batch.
  batch.resize(kBatchHeaderSize);
  StoreBE<int32_t>(MutableBytes(batch).data() + kBatchLengthPos, kBatchHeaderSize - kLogOverhead);
  StoreBE<int32_t>(MutableBytes(batch).data() + kLastOffsetDeltaPos, 3);
  StoreBE<uint16_t>(MutableBytes(batch).data() + kAttributesPos, 0);
  UpdateBatchCrc(MutableBytes(batch));
  absl::StatusOr<BatchHeader> h = ValidateBatch(Bytes(batch));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(3, h->last_offset() - h->base_offset);
  EXPECT_THAT(CheckProducerBatchShape(*h).message(), HasSubstr("a producer batch needs"));
  int seen = 0;
  EXPECT_TRUE(ForEachRecord(Bytes(batch), [&](const RecordView&) {
                ++seen;
                return absl::OkStatus();
              }).ok());
  EXPECT_EQ(0, seen);
}

// Each class of corruption a batch from the network or a damaged disk can
// carry is caught, with the field named.
struct Corruption {
  std::string name;
  std::function<void(std::string&)> damage;
  std::string message;
  bool fix_crc = true;  // re-seal the CRC so the structural check is what fires
};

class CorruptionTest : public ::testing::TestWithParam<Corruption> {};

TEST_P(CorruptionTest, IsDetected) {
  std::string batch = kLibrdkafkaBatch;
  GetParam().damage(batch);
  if (GetParam().fix_crc && batch.size() >= kBatchHeaderSize) {
    const size_t len =
        std::min(batch.size(), kLogOverhead + LoadBE<int32_t>(Bytes(batch).data() + 8) * size_t{1});
    if (len >= kAttributesPos) UpdateBatchCrc(MutableBytes(batch).first(len));
  }
  absl::Status st = ForEachRecord(Bytes(batch), [](const RecordView&) { return absl::OkStatus(); });
  EXPECT_EQ(absl::StatusCode::kDataLoss, st.code()) << st;
  EXPECT_THAT(st.message(), HasSubstr(GetParam().message));
}

auto Set8 = [](size_t pos, uint8_t v) {
  return [=](std::string& b) { b[pos] = static_cast<char>(v); };
};
auto Set32 = [](size_t pos, int32_t v) {
  return [=](std::string& b) { StoreBE<int32_t>(MutableBytes(b).data() + pos, v); };
};

INSTANTIATE_TEST_SUITE_P(
    Classes, CorruptionTest,
    ::testing::Values(
        Corruption{"Truncated", [](std::string& b) { b.resize(80); }, "runs past the 80 bytes",
                   false},
        Corruption{"HeaderOnly", [](std::string& b) { b.resize(30); }, "needs at least 61 bytes",
                   false},
        Corruption{"BadMagic", Set8(kMagicPos, 1), "magic is 1, expected 2"},
        Corruption{"BatchLengthTooSmall", Set32(kBatchLengthPos, 10), "smaller than the header",
                   false},
        Corruption{"FlippedValueByte", Set8(75, 'H'), "CRC mismatch", false},
        Corruption{"FlippedCrc", Set8(kCrcPos, 0), "CRC mismatch", false},
        Corruption{"UnknownAttributes", Set8(kAttributesPos, 0x80), "unknown attribute bits"},
        Corruption{"UnknownCodec", Set8(kAttributesPos + 1, 0x06), "unknown compression codec 6"},
        Corruption{"CountAboveDeltaSpan", Set32(kLastOffsetDeltaPos, -1),
                   "disagrees with recordCount"},
        Corruption{"CountTooLargeForBytes",
                   [](std::string& b) {
                     StoreBE<int32_t>(MutableBytes(b).data() + kRecordCountPos, 10);
                     StoreBE<int32_t>(MutableBytes(b).data() + kLastOffsetDeltaPos, 9);
                   },
                   "cannot hold 10 records"},
        Corruption{"FewerRecordsThanCounted",
                   [](std::string& b) {
                     StoreBE<int32_t>(MutableBytes(b).data() + kRecordCountPos, 2);
                     StoreBE<int32_t>(MutableBytes(b).data() + kLastOffsetDeltaPos, 1);
                   },
                   "batch ends after 1 of 2 records"},
        Corruption{"WrongOffsetDelta", Set8(64, 0x02), "record 0 has offset delta 1"},
        Corruption{"RecordLengthOverruns", Set8(61, 0x7E), "runs past the batch"},
        Corruption{"ValueLengthOverruns", Set8(66, 0x7E), "value length 63 is out of range"},
        Corruption{"NegativeKeyLength", Set8(65, 0x05), "key length -3 is out of range"},
        Corruption{"AbsurdHeaderCount", Set8(78, 0x7E), "header count 63 is out of range"},
        Corruption{"TrailingBytes",
                   [](std::string& b) {
                     b.push_back('\0');
                     StoreBE<int32_t>(MutableBytes(b).data() + kBatchLengthPos, 76);
                   },
                   "1 bytes follow the last record"},
        Corruption{"VarintTooLong",
                   [](std::string& b) {
                     for (size_t i = 65; i < 71; ++i) b[i] = static_cast<char>(0xFF);
                   },
                   "key: varint"}),
    [](const auto& info) { return info.param.name; });

TEST(RecordBatchTest, CompressedGarbageIsDataLoss) {
  BatchBuilder b({.compression = Compression::kZstd});
  b.Append(1, "k", std::string(1000, 'x'));
  auto batch = b.Build();
  ASSERT_TRUE(batch.ok());
  (*batch)[kBatchHeaderSize + 5] ^= 0x55;
  UpdateBatchCrc(MutableBytes(*batch));
  absl::Status st =
      ForEachRecord(Bytes(*batch), [](const RecordView&) { return absl::OkStatus(); });
  EXPECT_EQ(absl::StatusCode::kDataLoss, st.code());
  EXPECT_THAT(st.message(), HasSubstr("zstd"));
}

TEST(RecordBatchTest, ZipBombIsBounded) {
  BatchBuilder b({.compression = Compression::kLz4});
  for (int i = 0; i < 1000; ++i) b.Append(1, std::nullopt, std::string(10000, '\0'));
  auto batch = b.Build();
  ASSERT_TRUE(batch.ok());
  EXPECT_LT(batch->size(), size_t{100} << 10);
  absl::Status st = ForEachRecord(
      Bytes(*batch), [](const RecordView&) { return absl::OkStatus(); }, 1 << 20);
  EXPECT_EQ(absl::StatusCode::kDataLoss, st.code());
  EXPECT_THAT(st.message(), HasSubstr("decompresses to more than"));
}

TEST(RecordBatchTest, CallbackErrorStopsTheWalk) {
  BatchBuilder b;
  for (int i = 0; i < 5; ++i) b.Append(i, std::nullopt, "v");
  auto batch = b.Build();
  int seen = 0;
  absl::Status st = ForEachRecord(Bytes(*batch), [&](const RecordView&) {
    return ++seen == 2 ? absl::CancelledError("enough") : absl::OkStatus();
  });
  EXPECT_EQ(absl::StatusCode::kCancelled, st.code());
  EXPECT_EQ(2, seen);
}

}  // namespace
}  // namespace samsa::storage
