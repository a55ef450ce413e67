// Variable-length integers as Kafka's RecordBatch v2 uses them.
//
// Unsigned varints are little-endian base-128: seven value bits per byte,
// the high bit set on every byte but the last (protobuf's encoding). Signed
// "varint" (int32) and "varlong" (int64) are zigzag-mapped first, so small
// negative numbers stay short: 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, ...
//
// Decoding untrusted bytes never reads past the given span and reports why it
// failed: kTruncated (the input ended inside a varint), kTooLong (more bytes
// than the type can need: 5 for 32-bit, 10 for 64-bit), kOverflow (the last
// allowed byte carries bits beyond the type's width). Like Kafka, a
// non-minimal encoding within those lengths (0x80 0x00 for 0) is accepted.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "absl/status/status.h"

namespace samsa::varint {

inline constexpr size_t kMax32Bytes = 5;
inline constexpr size_t kMax64Bytes = 10;

enum class DecodeError : uint8_t { kOk, kTruncated, kTooLong, kOverflow };

struct DecodeResult {
  DecodeError error = DecodeError::kOk;
  uint8_t length = 0;  // bytes consumed; meaningful only when ok()
  bool ok() const { return error == DecodeError::kOk; }
};

constexpr uint32_t ZigZag32(int32_t v) {
  return (static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31);
}
constexpr uint64_t ZigZag64(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
constexpr int32_t UnZigZag32(uint32_t v) {
  return static_cast<int32_t>(v >> 1) ^ -static_cast<int32_t>(v & 1);
}
constexpr int64_t UnZigZag64(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

constexpr size_t UnsignedSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
constexpr size_t SignedSize32(int32_t v) { return UnsignedSize(ZigZag32(v)); }
constexpr size_t SignedSize64(int64_t v) { return UnsignedSize(ZigZag64(v)); }

// Encoders write into `out`, which must have room for kMax32Bytes /
// kMax64Bytes, and return the number of bytes written.
inline size_t EncodeUnsigned64(uint64_t v, uint8_t* out) {
  size_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<uint8_t>(v);
  return n;
}
inline size_t EncodeUnsigned32(uint32_t v, uint8_t* out) { return EncodeUnsigned64(v, out); }
inline size_t EncodeSigned32(int32_t v, uint8_t* out) { return EncodeUnsigned64(ZigZag32(v), out); }
inline size_t EncodeSigned64(int64_t v, uint8_t* out) { return EncodeUnsigned64(ZigZag64(v), out); }

DecodeResult DecodeUnsigned32(std::span<const uint8_t> in, uint32_t* out);
DecodeResult DecodeUnsigned64(std::span<const uint8_t> in, uint64_t* out);

inline DecodeResult DecodeSigned32(std::span<const uint8_t> in, int32_t* out) {
  uint32_t raw = 0;
  DecodeResult r = DecodeUnsigned32(in, &raw);
  *out = UnZigZag32(raw);
  return r;
}
inline DecodeResult DecodeSigned64(std::span<const uint8_t> in, int64_t* out) {
  uint64_t raw = 0;
  DecodeResult r = DecodeUnsigned64(in, &raw);
  *out = UnZigZag64(raw);
  return r;
}

// An INVALID_ARGUMENT status naming `what` (e.g. "record key length") and the
// reason, for callers that turn a failed decode into an error.
absl::Status ToStatus(DecodeError error, std::string_view what);

}  // namespace samsa::varint
