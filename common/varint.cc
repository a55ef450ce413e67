#include "common/varint.h"

#include "absl/strings/str_cat.h"
#include "common/string_view.h"

namespace samsa::varint {
namespace {

// Shared decoder: at most `max_bytes` bytes; the last of them may carry at
// most `last_byte_max` (the bits that still fit the type).
template <typename T>
DecodeResult DecodeUnsigned(std::span<const uint8_t> in, T* out, size_t max_bytes,
                            uint8_t last_byte_max) {
  T value = 0;
  for (size_t i = 0; i < max_bytes; ++i) {
    if (i == in.size()) return {DecodeError::kTruncated, 0};
    const uint8_t b = in[i];
    if (i == max_bytes - 1) {
      if (b & 0x80) return {DecodeError::kTooLong, 0};
      if (b > last_byte_max) return {DecodeError::kOverflow, 0};
    }
    value |= static_cast<T>(b & 0x7F) << (7 * i);
    if ((b & 0x80) == 0) {
      *out = value;
      return {DecodeError::kOk, static_cast<uint8_t>(i + 1)};
    }
  }
  return {DecodeError::kTooLong, 0};  // unreachable: the last byte returns above
}

}  // namespace

DecodeResult DecodeUnsigned32(std::span<const uint8_t> in, uint32_t* out) {
  // 4 * 7 = 28 bits in the first four bytes; the fifth may add 4 more.
  return DecodeUnsigned<uint32_t>(in, out, kMax32Bytes, 0x0F);
}

DecodeResult DecodeUnsigned64(std::span<const uint8_t> in, uint64_t* out) {
  // 9 * 7 = 63 bits in the first nine bytes; the tenth may add 1 more.
  return DecodeUnsigned<uint64_t>(in, out, kMax64Bytes, 0x01);
}

absl::Status ToStatus(DecodeError error, std::string_view what) {
  const absl::string_view w = ToAbsl(what);
  switch (error) {
    case DecodeError::kOk:
      return absl::OkStatus();
    case DecodeError::kTruncated:
      return absl::InvalidArgumentError(absl::StrCat(w, ": varint truncated"));
    case DecodeError::kTooLong:
      return absl::InvalidArgumentError(absl::StrCat(w, ": varint too long"));
    case DecodeError::kOverflow:
      return absl::InvalidArgumentError(absl::StrCat(w, ": varint overflows its type"));
  }
  return absl::InternalError("unknown varint error");
}

}  // namespace samsa::varint
