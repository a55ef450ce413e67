// Helpers shared by the storage tests: a PartitionLog on an in-memory or
// fault-injecting Env with a fake clock, and batches with known contents.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/eventually.h"
#include "gtest/gtest.h"
#include "storage/batch_builder.h"
#include "storage/fault_env.h"
#include "storage/mem_env.h"
#include "storage/partition_log.h"
#include "storage/record_reader.h"

namespace samsa::storage::testing {

inline std::span<const uint8_t> AsBytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}
inline std::span<uint8_t> AsMutableBytes(std::string& s) {
  return {reinterpret_cast<uint8_t*>(s.data()), s.size()};
}

// A batch of `records` records with values "<tag>-<i>" and timestamp `ts`.
inline std::string MakeBatch(const std::string& tag, int records = 1, int64_t ts = 1000,
                             size_t value_padding = 0) {
  BatchBuilder b;
  for (int i = 0; i < records; ++i) {
    b.Append(ts, std::nullopt, tag + "-" + std::to_string(i) + std::string(value_padding, '.'));
  }
  return *b.Build();
}

// Calls `fn` with each record of `bytes` (whole batches), in order.
template <typename Fn>
void ForEachLoggedRecord(const std::string& bytes, Fn fn) {
  std::span<const uint8_t> in = AsBytes(bytes);
  while (!in.empty()) {
    auto h = ValidateBatch(in);
    EXPECT_TRUE(h.ok()) << h.status();
    if (!h.ok()) break;
    EXPECT_TRUE(ForEachRecord(in.first(h->size()), [&](const RecordView& r) {
                  fn(r);
                  return absl::OkStatus();
                }).ok());
    in = in.subspan(h->size());
  }
}

// Every record value in `bytes` (whole batches), in order, with its offset.
inline std::vector<std::pair<int64_t, std::string>> Values(const std::string& bytes) {
  std::vector<std::pair<int64_t, std::string>> out;
  ForEachLoggedRecord(bytes, [&](const RecordView& r) {
    out.emplace_back(r.offset.value(), std::string(r.value.value_or("<null>")));
  });
  return out;
}

// Owns the environment of one or more partition logs.
class LogHarness {
 public:
  explicit LogHarness(LogConfig config = {}, bool fault = false)
      : mem_(NewMemEnv()),
        fault_(fault ? std::make_unique<FaultEnv>(mem_.get()) : nullptr),
        files_(std::make_unique<FileCache>(env(), 64)),
        health_(std::make_unique<LogDirHealth>("/data")),
        config_(config) {
    EXPECT_TRUE(env()->CreateDirs("/data").ok());
  }

  Env* env() { return fault_ ? static_cast<Env*>(fault_.get()) : mem_.get(); }
  FaultEnv* fault() { return fault_.get(); }
  FakeClock& clock() { return clock_; }
  LogConfig& config() { return config_; }
  LogDirHealth* health() { return health_.get(); }

  absl::StatusOr<std::unique_ptr<PartitionLog>> Open(const std::string& name = "t-0",
                                                     bool clean_shutdown = false) {
    return PartitionLog::Open(JoinPath("/data", name),
                              {config_, files_.get(), health_.get(), &clock_, clean_shutdown});
  }
  // A fresh file cache and health, as after a process restart.
  void Restart() {
    files_ = std::make_unique<FileCache>(env(), 64);
    health_ = std::make_unique<LogDirHealth>("/data");
  }

 private:
  std::unique_ptr<Env> mem_;
  std::unique_ptr<FaultEnv> fault_;
  std::unique_ptr<FileCache> files_;
  std::unique_ptr<LogDirHealth> health_;
  FakeClock clock_;
  LogConfig config_;
};

// Appends `batch` as leader; returns the info (asserting success).
inline AppendInfo AppendLeader(PartitionLog& log, std::string batch, Epoch epoch = Epoch(0)) {
  auto info = log.AppendAsLeader(AsMutableBytes(batch), epoch);
  EXPECT_TRUE(info.ok()) << info.status();
  return info.ok() ? *info : AppendInfo{};
}

// Everything in the log, read batch by batch from the start.
inline std::string ReadAll(const PartitionLog& log) {
  std::string out;
  Offset at = log.log_start_offset();
  while (at < log.log_end_offset()) {
    auto slice = log.Read(at, 1 << 20, Offset::Max(), FirstBatch::kAlways);
    EXPECT_TRUE(slice.ok()) << slice.status();
    if (!slice.ok() || slice->bytes.empty()) break;
    out += slice->bytes.view();
    at = slice->next_offset;
  }
  return out;
}

using samsa::testing::Eventually;

}  // namespace samsa::storage::testing
