#include "common/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace samsa::crc32c {
namespace {

constexpr uint32_t kPolyReflected = 0x82F63B78;

// kTables[k][b] is the CRC contribution of byte b followed by k zero bytes,
// which lets the portable path fold 8 input bytes per step (slicing-by-8).
constexpr std::array<std::array<uint32_t, 256>, 8> MakeTables() {
  std::array<std::array<uint32_t, 256>, 8> t{};
  for (uint32_t b = 0; b < 256; ++b) {
    uint32_t crc = b;
    for (int i = 0; i < 8; ++i) crc = (crc >> 1) ^ ((crc & 1) ? kPolyReflected : 0);
    t[0][b] = crc;
  }
  for (uint32_t b = 0; b < 256; ++b) {
    for (size_t k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xFF];
  }
  return t;
}

constexpr auto kTables = MakeTables();

inline uint64_t LoadLE64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;  // x86-64 and aarch64 are little-endian; the table folding assumes it.
}

// Combining parallel streams. The CRC register is linear over GF(2): running
// it over A || B from state s gives Shift(s, |B|) ^ (B run from state 0),
// where Shift advances a register over |B| zero bytes. So three independent
// streams over adjacent blocks can be merged with two Shifts, and the CPU's
// crc32 unit (latency 3, throughput 1 per cycle) is kept busy.

// A 32x32 GF(2) matrix as its 32 columns: column n is the image of bit n.
using Gf2Matrix = std::array<uint32_t, 32>;

constexpr uint32_t Apply(const Gf2Matrix& m, uint32_t v) {
  uint32_t out = 0;
  for (int n = 0; v != 0; ++n, v >>= 1) {
    if (v & 1) out ^= m[n];
  }
  return out;
}

// The operator advancing the register over `bytes` zero bytes (a power of 2).
constexpr Gf2Matrix ZerosOperator(size_t bytes) {
  Gf2Matrix op{};
  op[0] = kPolyReflected;  // one zero bit: r -> (r >> 1) ^ (r & 1 ? poly : 0)
  for (int n = 1; n < 32; ++n) op[n] = uint32_t{1} << (n - 1);
  for (size_t bits = 1; bits < 8 * bytes; bits <<= 1) {
    Gf2Matrix squared{};
    for (int n = 0; n < 32; ++n) squared[n] = Apply(op, op[n]);
    op = squared;
  }
  return op;
}

// The operator applied a byte at a time: ShiftTable[k][b] = op(b << 8k).
using ShiftTable = std::array<std::array<uint32_t, 256>, 4>;

constexpr ShiftTable MakeShiftTable(size_t bytes) {
  const Gf2Matrix op = ZerosOperator(bytes);
  ShiftTable t{};
  for (uint32_t k = 0; k < 4; ++k) {
    for (uint32_t b = 0; b < 256; ++b) t[k][b] = Apply(op, b << (8 * k));
  }
  return t;
}

inline uint32_t Shift(const ShiftTable& t, uint32_t crc) {
  return t[0][crc & 0xFF] ^ t[1][(crc >> 8) & 0xFF] ^ t[2][(crc >> 16) & 0xFF] ^ t[3][crc >> 24];
}

constexpr size_t kLongBlock = 8192;
constexpr size_t kShortBlock = 256;
constexpr ShiftTable kLongShift = MakeShiftTable(kLongBlock);
constexpr ShiftTable kShortShift = MakeShiftTable(kShortBlock);

#if defined(__x86_64__)
// Runs three streams over adjacent `block`-byte blocks while at least three
// blocks remain.
__attribute__((target("sse4.2"))) inline uint64_t Crc3Way(uint64_t c, const uint8_t*& p, size_t& n,
                                                          size_t block, const ShiftTable& shift) {
  while (n >= 3 * block) {
    uint64_t c1 = 0;
    uint64_t c2 = 0;
    const uint8_t* end = p + block;
    do {
      c = _mm_crc32_u64(c, LoadLE64(p));
      c1 = _mm_crc32_u64(c1, LoadLE64(p + block));
      c2 = _mm_crc32_u64(c2, LoadLE64(p + 2 * block));
      p += 8;
    } while (p < end);
    c = Shift(shift, static_cast<uint32_t>(c)) ^ c1;
    c = Shift(shift, static_cast<uint32_t>(c)) ^ c2;
    p += 2 * block;
    n -= 3 * block;
  }
  return c;
}

__attribute__((target("sse4.2"))) uint32_t ExtendSse42(uint32_t crc, const uint8_t* p, size_t n) {
  uint64_t c = ~crc;
  // Align to 8 bytes so the 64-bit loads below never straddle a cache line.
  while (n > 0 && (reinterpret_cast<uintptr_t>(p) & 7) != 0) {
    c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
    --n;
  }
  c = Crc3Way(c, p, n, kLongBlock, kLongShift);
  c = Crc3Way(c, p, n, kShortBlock, kShortShift);
  while (n >= 8) {
    c = _mm_crc32_u64(c, LoadLE64(p));
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = _mm_crc32_u8(static_cast<uint32_t>(c), *p++);
    --n;
  }
  return ~static_cast<uint32_t>(c);
}

bool DetectSse42() {
  __builtin_cpu_init();  // needed when first called from a static initializer
  return __builtin_cpu_supports("sse4.2");
}
#else
bool DetectSse42() { return false; }
#endif

bool UseHardware() {
  static const bool hardware = DetectSse42();
  return hardware;
}

}  // namespace

uint32_t ExtendPortable(uint32_t crc, const void* data, size_t n) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint32_t c = ~crc;
  while (n >= 8) {
    uint64_t v = LoadLE64(p) ^ c;
    c = kTables[7][v & 0xFF] ^ kTables[6][(v >> 8) & 0xFF] ^ kTables[5][(v >> 16) & 0xFF] ^
        kTables[4][(v >> 24) & 0xFF] ^ kTables[3][(v >> 32) & 0xFF] ^ kTables[2][(v >> 40) & 0xFF] ^
        kTables[1][(v >> 48) & 0xFF] ^ kTables[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n > 0) {
    c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xFF];
    --n;
  }
  return ~c;
}

uint32_t Extend(uint32_t crc, const void* data, size_t n) {
#if defined(__x86_64__)
  if (UseHardware()) return ExtendSse42(crc, static_cast<const uint8_t*>(data), n);
#endif
  return ExtendPortable(crc, data, n);
}

bool HardwareAccelerated() { return UseHardware(); }

}  // namespace samsa::crc32c
