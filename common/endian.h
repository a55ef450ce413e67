// Big-endian (network order) loads and stores: the byte order of Kafka's
// RecordBatch and of Samsa's file formats. Unaligned access is fine.
#pragma once

#include <bit>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace samsa {

namespace internal {
template <std::integral T>
constexpr T ByteSwap(T v) {
  using U = std::make_unsigned_t<T>;
  U u = static_cast<U>(v);
  if constexpr (sizeof(T) == 2) u = __builtin_bswap16(u);
  if constexpr (sizeof(T) == 4) u = __builtin_bswap32(u);
  if constexpr (sizeof(T) == 8) u = __builtin_bswap64(u);
  return static_cast<T>(u);
}
}  // namespace internal

template <std::integral T>
inline T LoadBE(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  if constexpr (std::endian::native == std::endian::little) v = internal::ByteSwap(v);
  return v;
}

template <std::integral T>
inline void StoreBE(uint8_t* p, T v) {
  if constexpr (std::endian::native == std::endian::little) v = internal::ByteSwap(v);
  std::memcpy(p, &v, sizeof(T));
}

}  // namespace samsa
