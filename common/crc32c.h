// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected 0x82F63B78), the
// checksum of Kafka's RecordBatch v2 and of Samsa's own file formats.
//
// Extend() picks the SSE4.2 `crc32` instruction when the CPU has it (checked
// once at start-up) and a slicing-by-8 table implementation otherwise; both
// give identical results (crc32c_test cross-checks them on random input).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace samsa::crc32c {

// Returns the CRC-32C of `prefix || data[0, n)`, where `crc` is the CRC-32C
// of `prefix` (0 for an empty prefix). Values are the finalized CRC, so
// Extend(Extend(0, a), b) == Value(a || b).
uint32_t Extend(uint32_t crc, const void* data, size_t n);

inline uint32_t Value(const void* data, size_t n) { return Extend(0, data, n); }
inline uint32_t Value(std::span<const uint8_t> data) { return Extend(0, data.data(), data.size()); }

// The table implementation, always available. Exposed for tests and
// benchmarks; production code calls Extend().
uint32_t ExtendPortable(uint32_t crc, const void* data, size_t n);

// True when Extend() uses the hardware instruction.
bool HardwareAccelerated();

}  // namespace samsa::crc32c
