// CRC-32C and varint throughput: the per-byte costs under every batch
// validation (CRC over the whole batch) and record decode (varints).
#include <cstring>
#include <random>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/crc32c.h"
#include "common/varint.h"

namespace samsa {
namespace {

std::vector<uint8_t> RandomBytes(size_t n) {
  std::mt19937_64 rng(1);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

void BM_Crc32c(benchmark::State& state) {
  const auto data = RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(crc32c::Value(data.data(), data.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32c)->Arg(100)->Arg(16 << 10)->Arg(1 << 20);

void BM_Crc32cPortable(benchmark::State& state) {
  const auto data = RandomBytes(static_cast<size_t>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(crc32c::ExtendPortable(0, data.data(), data.size()));
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Crc32cPortable)->Arg(16 << 10)->Arg(1 << 20);

void BM_Memcpy(benchmark::State& state) {
  const auto src = RandomBytes(static_cast<size_t>(state.range(0)));
  std::vector<uint8_t> dst(src.size());
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), src.size());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Memcpy)->Arg(1 << 20);

// Decoding a stream of zigzag varlongs of mixed sizes, as record headers hold.
void BM_VarintDecode(benchmark::State& state) {
  std::mt19937_64 rng(2);
  std::vector<uint8_t> buf;
  int count = 0;
  for (; buf.size() < (64 << 10); ++count) {
    uint8_t tmp[varint::kMax64Bytes];
    const int64_t v = static_cast<int64_t>(rng()) >> (rng() % 64);
    buf.insert(buf.end(), tmp, tmp + varint::EncodeSigned64(v, tmp));
  }
  for (auto _ : state) {
    std::span<const uint8_t> in(buf);
    int64_t sum = 0;
    while (!in.empty()) {
      int64_t v = 0;
      const varint::DecodeResult r = varint::DecodeSigned64(in, &v);
      if (!r.ok()) break;
      sum += v;
      in = in.subspan(r.length);
    }
    benchmark::DoNotOptimize(sum);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * count);
}
BENCHMARK(BM_VarintDecode);

}  // namespace
}  // namespace samsa
