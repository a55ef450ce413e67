// Storage throughput against the machine's own ceilings, in one run
// (issue: storage/ benchmarks; results in docs/benchmarks.md):
//   * appends of 100-byte records in 16 KiB and 1 MiB batches under
//     log.flush.policy=os and =always, next to a plain write() loop and a
//     write()+fdatasync() loop of the same chunk sizes on the same disk;
//   * batch validation (framing + CRC, no decode);
//   * sequential reads of raw batches next to memcpy over as much memory;
//   * opening 10,000 partitions;
//   * one log cleaner pass over 100-byte records of 1 M distinct keys, each
//     written twice (bytes/s: dirty log read and rewritten per second).
// Files go under $SAMSA_TEST_DIR (default $TMPDIR, then /tmp) and are removed
// afterwards.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/mutex_checks.h"
#include "storage/batch_builder.h"
#include "storage/env.h"
#include "storage/io_throttle.h"
#include "storage/log_compactor.h"
#include "storage/log_manager.h"
#include "storage/partition_log.h"
#include "storage/temp_dir.h"

namespace samsa::storage {
namespace {

constexpr size_t kRecordSize = 100;
constexpr int64_t kBytesPerRun = int64_t{256} << 20;  // written per benchmark run

// A batch of 100-byte records filling about `bytes`.
std::string MakeBatch(size_t bytes) {
  BatchBuilder b;
  const std::string value(kRecordSize, 'x');
  while (b.uncompressed_size() + kRecordSize + 8 <= bytes)
    b.Append(1700000000000, std::nullopt, value);
  return *b.Build();
}

struct BenchLog {
  explicit BenchLog(FlushPolicy policy) : dir(tmp.path()), files(Env::Default(), 64), health(dir) {
    LogConfig config;
    config.flush_policy = policy;
    log = *PartitionLog::Open(dir + "/bench-0", {config, &files, &health, &Clock::Real(), false});
  }
  TempDir tmp{"bench-storage"};
  std::string dir;
  FileCache files;
  LogDirHealth health;
  std::unique_ptr<PartitionLog> log;
};

void BM_Append(benchmark::State& state, FlushPolicy::Kind kind) {
  BenchLog b(FlushPolicy{kind});
  std::string batch = MakeBatch(static_cast<size_t>(state.range(0)));
  std::span<uint8_t> bytes(reinterpret_cast<uint8_t*>(batch.data()), batch.size());
  for (auto _ : state) {
    auto info = b.log->AppendAsLeader(bytes, Epoch(0));
    if (!info.ok()) state.SkipWithError(std::string(info.status().message()).c_str());
    if (kind == FlushPolicy::Kind::kAlways && !b.log->Flush().ok()) state.SkipWithError("flush");
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
  state.counters["records/s"] =
      benchmark::Counter(static_cast<double>(state.iterations()) *
                             static_cast<double>(batch.size() / (kRecordSize + 8)),
                         benchmark::Counter::kIsRate);
}

void BM_AppendOs(benchmark::State& s) { BM_Append(s, FlushPolicy::Kind::kOs); }
void BM_AppendAlways(benchmark::State& s) { BM_Append(s, FlushPolicy::Kind::kAlways); }

// The ceiling: write() of chunks of exactly the batch's size (the same
// unaligned appends the log makes) to one file, with or without an
// fdatasync after each.
void BM_RawWrite(benchmark::State& state, bool sync) {
  const TempDir tmp("bench-storage");
  const std::string path = tmp.path() + "/raw";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  const std::string chunk = MakeBatch(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size())) {
      state.SkipWithError("write");
    }
    if (sync && ::fdatasync(fd) != 0) state.SkipWithError("fdatasync");
  }
  ::close(fd);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * chunk.size()));
}

void BM_RawWriteBuffered(benchmark::State& s) { BM_RawWrite(s, false); }
void BM_RawWriteFdatasync(benchmark::State& s) { BM_RawWrite(s, true); }

int64_t Iterations(int64_t chunk) { return kBytesPerRun / chunk; }

// I/O rates are per wall-clock second; each pair runs its ceiling first, and
// repetitions expose the variance of the page cache and the disk.
#define IO_BENCH(fn, chunk, divisor)              \
  BENCHMARK(fn)                                   \
      ->Arg(chunk)                                \
      ->Iterations(Iterations(chunk) / (divisor)) \
      ->UseRealTime()                             \
      ->Repetitions(3)
IO_BENCH(BM_RawWriteBuffered, 16 << 10, 1);
IO_BENCH(BM_AppendOs, 16 << 10, 1);
IO_BENCH(BM_RawWriteBuffered, 1 << 20, 1);
IO_BENCH(BM_AppendOs, 1 << 20, 1);
IO_BENCH(BM_RawWriteFdatasync, 16 << 10, 4);
IO_BENCH(BM_AppendAlways, 16 << 10, 4);
IO_BENCH(BM_RawWriteFdatasync, 1 << 20, 1);
IO_BENCH(BM_AppendAlways, 1 << 20, 1);

void BM_ValidateBatch(benchmark::State& state) {
  const std::string batch = MakeBatch(static_cast<size_t>(state.range(0)));
  std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(batch.data()), batch.size());
  for (auto _ : state) {
    auto h = ValidateBatch(bytes);
    benchmark::DoNotOptimize(h);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * batch.size()));
}
BENCHMARK(BM_ValidateBatch)->Arg(16 << 10)->Arg(1 << 20);

constexpr size_t kReadSetBytes = 256 << 20;

// Sequential 1 MiB reads of raw batches over a page-cache-resident log.
void BM_SequentialRead(benchmark::State& state) {
  BenchLog b(FlushPolicy{FlushPolicy::Kind::kOs});
  std::string batch = MakeBatch(16 << 10);
  std::span<uint8_t> bytes(reinterpret_cast<uint8_t*>(batch.data()), batch.size());
  while (b.log->size_bytes() < kReadSetBytes) (void)b.log->AppendAsLeader(bytes, Epoch(0));
  Offset at(0);
  const Offset end = b.log->log_end_offset();
  int64_t total = 0;
  for (auto _ : state) {
    auto slice = b.log->Read(at, 1 << 20, Offset::Max(), FirstBatch::kAlways);
    if (!slice.ok()) state.SkipWithError("read");
    total += static_cast<int64_t>(slice->bytes.size());
    at = slice->next_offset >= end ? Offset(0) : slice->next_offset;
  }
  state.SetBytesProcessed(total);
}
BENCHMARK(BM_SequentialRead);

// memcpy over the same amount of memory in the same 1 MiB steps.
void BM_MemcpySequential(benchmark::State& state) {
  std::vector<char> src(kReadSetBytes, 'x');
  std::vector<char> dst(1 << 20);
  size_t at = 0;
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data() + at, dst.size());
    benchmark::ClobberMemory();
    at = (at + dst.size()) % src.size();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * dst.size()));
}
BENCHMARK(BM_MemcpySequential);

// LogManager::Open over 10,000 one-batch partitions, after a clean shutdown
// (arg 1) or a crash (arg 0: every partition's tail is scanned and fsynced).
void BM_OpenTenThousandPartitions(benchmark::State& state) {
  const bool clean = state.range(0) == 1;
  const TempDir tmp("bench-storage");
  const std::string& dir = tmp.path();
  FakeClock clock;
  auto options = [&] {
    LogManagerOptions o;
    o.dirs = {dir};
    o.env = Env::Default();
    o.clock = &clock;
    o.max_open_files = 1024;
    return o;
  };
  {
    LogConfig config;
    config.flush_policy.kind = FlushPolicy::Kind::kOs;
    auto mgr = *LogManager::Open(options());
    std::string batch = MakeBatch(1024);
    for (int p = 0; p < 10000; ++p) {
      std::string copy = batch;
      PartitionLog* log = *mgr->GetOrCreate({"t", PartitionId(p)}, config);
      (void)log->AppendAsLeader({reinterpret_cast<uint8_t*>(copy.data()), copy.size()}, Epoch(0));
    }
    if (clean) (void)mgr->Close();
  }
  for (auto _ : state) {
    auto mgr = LogManager::Open(options());
    if (!mgr.ok() || (*mgr)->partitions().size() != 10000) state.SkipWithError("open");
    state.PauseTiming();
    if (clean) (void)(*mgr)->Close();
    mgr->reset();
    state.ResumeTiming();
  }
}
// One cleaning pass (the whole log dirty) over `range(0)` distinct keys,
// each written twice in 16 KiB batches of 100-byte records (8-byte keys,
// 80-byte values), with the default 128 MiB key map and no I/O throttle.
void BM_Compact(benchmark::State& state) {
  const int64_t keys = state.range(0);
  uint64_t read = 0, written = 0;
  int64_t removed = 0;
  for (auto _ : state) {
    state.PauseTiming();
    {
      const TempDir tmp("bench-storage");
      const std::string& dir = tmp.path();
      FileCache files(Env::Default(), 64);
      LogDirHealth health(dir);
      FakeClock clock;
      LogConfig config;
      config.flush_policy.kind = FlushPolicy::Kind::kOs;
      config.segment_bytes = 64 << 20;
      config.cleanup_policy = {.delete_old = false, .compact = true};
      auto log = *PartitionLog::Open(dir + "/bench-0", {config, &files, &health, &clock, false});
      const std::string value(80, 'v');
      char key[24];
      for (int pass = 0; pass < 2; ++pass) {
        BatchBuilder b;
        for (int64_t k = 0; k < keys; ++k) {
          snprintf(key, sizeof(key), "%08ld", static_cast<long>(k));
          b.Append(1700000000000, std::string_view(key, 8), value);
          if (b.uncompressed_size() >= (16 << 10) || k + 1 == keys) {
            std::string batch = *b.Build();
            (void)log->AppendAsLeader({reinterpret_cast<uint8_t*>(batch.data()), batch.size()},
                                      Epoch(0));
          }
        }
      }
      // Roll, so everything written is in sealed segments.
      config.segment_age = absl::ZeroDuration();
      log->SetConfig(config);
      std::string last = MakeBatch(1024);
      (void)log->AppendAsLeader({reinterpret_cast<uint8_t*>(last.data()), last.size()}, Epoch(0));
      log->SetCompactionLimit(Offset::Max());
      IoThrottle unlimited(0);
      LogCompactor compactor(size_t{128} << 20, &unlimited);
      state.ResumeTiming();
      absl::StatusOr<CleanStats> stats = compactor.Clean(*log, clock.Now());
      state.PauseTiming();
      if (!stats.ok()) {
        state.SkipWithError(std::string(stats.status().message()).c_str());
      } else {
        read += stats->bytes_read;
        written += stats->bytes_written;
        removed += stats->records_removed;
      }
    }
    state.ResumeTiming();
  }
  state.SetBytesProcessed(static_cast<int64_t>(read));
  state.counters["written_MB"] =
      static_cast<double>(written) / 1e6 / static_cast<double>(state.iterations());
  state.counters["removed"] =
      static_cast<double>(removed) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_Compact)->Arg(1'000'000)->Iterations(3)->UseRealTime()->Unit(benchmark::kMillisecond);

BENCHMARK(BM_OpenTenThousandPartitions)
    ->Arg(1)
    ->Arg(0)
    ->Iterations(3)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace samsa::storage

int main(int argc, char** argv) {
  samsa::SetMinLogLevel(samsa::LogLevel::kWarning);
  samsa::SkipMutexDeadlockDetection();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
