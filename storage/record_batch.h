// RecordBatch v2: Kafka's record format (magic 2), byte for byte. This
// comment is the format's specification (copied to docs/formats.md).
//
// A batch, all integers big-endian:
//
//   offset  size  field
//        0     8  baseOffset            first record's offset (set by the leader)
//        8     4  batchLength           bytes after this field (= total - 12)
//       12     4  partitionLeaderEpoch  leader epoch that appended it (set by the leader)
//       16     1  magic                 2
//       17     4  crc                   CRC-32C of bytes [21, end)
//       21     2  attributes            bits 0-2 compression (0 none, 1 gzip, 2 snappy,
//                                       3 lz4, 4 zstd); bit 3 timestamp type (0 create,
//                                       1 log-append); bit 4 transactional; bit 5 control;
//                                       bit 6 delete horizon set; others 0
//       23     4  lastOffsetDelta       last record's offset - baseOffset
//       27     8  baseTimestamp         first record's timestamp (ms)
//       35     8  maxTimestamp          largest record timestamp (or the log-append time)
//       43     8  producerId            -1 when not idempotent
//       51     2  producerEpoch         -1 when not idempotent
//       53     4  baseSequence          -1 when not idempotent
//       57     4  recordCount           number of records
//       61     -  records               recordCount records, compressed as a whole
//                                       when the compression bits say so
//
// A record (varint = zigzag int32, varlong = zigzag int64, see common/varint.h):
//
//   varint   length           bytes after this field
//   int8     attributes       unused, 0
//   varlong  timestampDelta   timestamp - baseTimestamp
//   varint   offsetDelta      offset - baseOffset; the i-th record has delta i in
//                             a producer's batch, strictly increasing deltas
//                             up to lastOffsetDelta once the cleaner removed
//                             records (a compacted batch)
//   varint   keyLength        -1 for a null key
//   bytes    key
//   varint   valueLength      -1 for a null value
//   bytes    value
//   varint   headerCount
//   headers  headerCount x (varint keyLength, key (UTF-8), varint valueLength
//            (-1 null), value)
//
// baseOffset and partitionLeaderEpoch lie outside the CRC, so a leader can
// stamp them into a producer's batch without touching the checksum; the CRC
// is checked once, when the batch enters the broker.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/status/statusor.h"
#include "common/ids.h"

namespace samsa::storage {

inline constexpr size_t kBaseOffsetPos = 0;
inline constexpr size_t kBatchLengthPos = 8;
inline constexpr size_t kLeaderEpochPos = 12;
inline constexpr size_t kMagicPos = 16;
inline constexpr size_t kCrcPos = 17;
inline constexpr size_t kAttributesPos = 21;
inline constexpr size_t kLastOffsetDeltaPos = 23;
inline constexpr size_t kBaseTimestampPos = 27;
inline constexpr size_t kMaxTimestampPos = 35;
inline constexpr size_t kProducerIdPos = 43;
inline constexpr size_t kProducerEpochPos = 51;
inline constexpr size_t kBaseSequencePos = 53;
inline constexpr size_t kRecordCountPos = 57;
inline constexpr size_t kBatchHeaderSize = 61;
// batchLength counts the bytes after itself.
inline constexpr size_t kLogOverhead = 12;
inline constexpr uint8_t kMagicV2 = 2;

// The smallest record: length(1) attrs(1) tsDelta(1) offDelta(1) key(1)
// value(1) headers(1).
inline constexpr size_t kMinRecordSize = 7;

enum class Compression : uint8_t { kNone = 0, kGzip = 1, kSnappy = 2, kLz4 = 3, kZstd = 4 };
enum class TimestampType : uint8_t { kCreateTime = 0, kLogAppendTime = 1 };

inline constexpr uint16_t kCompressionMask = 0x07;
inline constexpr uint16_t kTimestampTypeBit = 0x08;
inline constexpr uint16_t kTransactionalBit = 0x10;
inline constexpr uint16_t kControlBit = 0x20;
inline constexpr uint16_t kDeleteHorizonBit = 0x40;
inline constexpr uint16_t kKnownAttributeBits = 0x7F;

inline constexpr int64_t kNoProducerId = -1;
inline constexpr int16_t kNoProducerEpoch = -1;
inline constexpr int32_t kNoSequence = -1;

// The fixed header of one batch, decoded.
struct BatchHeader {
  Offset base_offset;
  int32_t batch_length = 0;
  Epoch leader_epoch;
  int8_t magic = 0;
  uint32_t crc = 0;
  uint16_t attributes = 0;
  int32_t last_offset_delta = 0;
  int64_t base_timestamp = 0;
  int64_t max_timestamp = 0;
  int64_t producer_id = kNoProducerId;
  int16_t producer_epoch = kNoProducerEpoch;
  int32_t base_sequence = kNoSequence;
  int32_t record_count = 0;

  Compression compression() const {
    return static_cast<Compression>(attributes & kCompressionMask);
  }
  TimestampType timestamp_type() const {
    return (attributes & kTimestampTypeBit) ? TimestampType::kLogAppendTime
                                            : TimestampType::kCreateTime;
  }
  bool transactional() const { return attributes & kTransactionalBit; }
  bool control() const { return attributes & kControlBit; }
  Offset last_offset() const { return base_offset + last_offset_delta; }
  Offset next_offset() const { return last_offset() + 1; }
  // Bytes of the whole batch, header included.
  size_t size() const { return static_cast<size_t>(batch_length) + kLogOverhead; }
};

// Decodes the header from the first kBatchHeaderSize bytes of `bytes` without
// any validation beyond the length (INVALID_ARGUMENT if shorter).
absl::StatusOr<BatchHeader> ParseBatchHeader(std::span<const uint8_t> bytes);

// Validates the framing of the batch that starts `bytes` and returns its
// header: enough bytes for the header and for batchLength, magic 2, known
// attribute bits and compression, a record count and lastOffsetDelta that
// agree (0 <= count <= delta + 1: a compacted batch keeps its offset span
// with fewer records, or none), uncompressed record bytes that could
// hold that many records, and the CRC. Does not decode records; cost is one
// pass of CRC-32C. Errors are DATA_LOSS (a CRC or structural mismatch:
// Kafka's CORRUPT_MESSAGE) naming the field at fault.
absl::StatusOr<BatchHeader> ValidateBatch(std::span<const uint8_t> bytes);

// What a producer's batch must also be, since the leader gives it
// consecutive offsets: at least one record and count = lastOffsetDelta + 1.
// DATA_LOSS otherwise.
absl::Status CheckProducerBatchShape(const BatchHeader& h);

// Recomputes the CRC of a complete batch in place (after a field inside the
// CRC, like maxTimestamp for log-append time, was rewritten).
void UpdateBatchCrc(std::span<uint8_t> batch);

// Stamps baseOffset and partitionLeaderEpoch, which lie outside the CRC.
void StampBatch(std::span<uint8_t> batch, Offset base_offset, Epoch leader_epoch);

}  // namespace samsa::storage
