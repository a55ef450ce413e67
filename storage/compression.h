// Batch compression codecs, one interface for the four Kafka codecs.
//
// Wire compatibility with Kafka clients:
//   gzip    RFC 1952 gzip members (several concatenated members are read).
//   snappy  raw snappy is written (as librdkafka does); reading accepts raw
//           snappy and the xerial framing the Java client writes
//           ("\x82SNAPPY\0", version, compat, then length-prefixed blocks).
//   lz4     the LZ4 frame format (KIP-57), 64 KiB independent blocks, no
//           content checksum, as Kafka's KafkaLZ4BlockOutputStream writes.
//   zstd    standard zstd frames.
//
// Decompression is bounded: it fails with DATA_LOSS rather than produce more
// than `max_output` bytes, so a small malicious batch cannot exhaust memory
// (a zip bomb). Every malformed input is DATA_LOSS naming the codec.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/record_batch.h"

namespace samsa::storage {

class Codec {
 public:
  virtual ~Codec() = default;
  virtual Compression type() const = 0;
  // Appends the compressed form of `in` to `out`.
  virtual absl::Status Compress(std::span<const uint8_t> in, std::string* out) const = 0;
  // Appends the decompressed form of `in` to `out`, at most `max_output` bytes.
  virtual absl::Status Decompress(std::span<const uint8_t> in, size_t max_output,
                                  std::string* out) const = 0;
};

// The codec for a compressed type; `type` must not be kNone.
const Codec& CodecFor(Compression type);

std::string_view CompressionName(Compression type);
// "none", "gzip", "snappy", "lz4", "zstd".
absl::StatusOr<Compression> ParseCompression(std::string_view name);

}  // namespace samsa::storage
