// Compaction of one log: what a pass keeps, what it removes and when, and
// that every reader sees the same records at the same offsets throughout.
#include "storage/log_compactor.h"

#include <atomic>
#include <cerrno>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/batch_filter.h"
#include "storage/cleaner_files.h"
#include "storage/log_cleaner.h"
#include "storage/log_test_util.h"
#include "storage/topic_config.h"

namespace samsa::storage {
namespace {

using testing::AsBytes;
using testing::AsMutableBytes;
using testing::LogHarness;
using testing::ReadAll;

struct Rec {
  int64_t offset;
  std::string key;
  std::optional<std::string> value;  // nullopt: a tombstone
  bool operator==(const Rec&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Rec& r) {
  return os << r.offset << ":" << r.key << "=" << r.value.value_or("<null>");
}

// Every record of the log, read from its start as a consumer would.
std::vector<Rec> Records(const PartitionLog& log) {
  std::vector<Rec> out;
  testing::ForEachLoggedRecord(ReadAll(log), [&](const RecordView& r) {
    out.push_back({r.offset.value(), std::string(r.key.value_or("<none>")),
                   r.value.has_value() ? std::optional(std::string(*r.value)) : std::nullopt});
  });
  return out;
}

// Writes keyed records and remembers them, as the model of what the log
// must keep.
class Writer {
 public:
  explicit Writer(PartitionLog* log) : log_(log) {}

  void Write(const std::vector<std::pair<std::string, std::optional<std::string>>>& records,
             int64_t ts = 1000, BatchOptions options = {}) {
    BatchBuilder b(options);
    for (const auto& [k, v] : records) b.Append(ts, k, v);
    std::string batch = *b.Build();
    auto info = log_->AppendAsLeader(AsMutableBytes(batch), Epoch(1));
    ASSERT_TRUE(info.ok()) << info.status();
    int64_t offset = info->first_offset.value();
    for (const auto& [k, v] : records) written_.push_back({offset++, k, v});
  }

  // The latest record of each key below `end`, in offset order, tombstones
  // included or not; everything at or above `end` as written.
  std::vector<Rec> Expected(Offset end, bool with_tombstones) const {
    std::map<std::string, Rec> latest;
    for (const Rec& r : written_) {
      if (r.offset < end.value()) latest.insert_or_assign(r.key, r);
    }
    std::vector<Rec> out;
    for (const auto& [k, r] : latest) {
      if (r.value.has_value() || with_tombstones) out.push_back(r);
    }
    for (const Rec& r : written_) {
      if (r.offset >= end.value()) out.push_back(r);
    }
    std::sort(out.begin(), out.end(),
              [](const Rec& a, const Rec& b) { return a.offset < b.offset; });
    return out;
  }

  const std::vector<Rec>& written() const { return written_; }

 private:
  PartitionLog* log_;
  std::vector<Rec> written_;
};

LogConfig CompactConfig() {
  LogConfig c;
  c.segment_bytes = 700;
  c.cleanup_policy = {.delete_old = false, .compact = true};
  return c;
}

std::string Key(int i) { return "key-" + std::to_string(i); }

// Twenty keys overwritten five times over, some deleted, across many
// segments, in plain and compressed batches.
void Overwrites(Writer& w) {
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 20; i += 4) {
      BatchOptions options;
      options.compression = round % 2 == 1 ? Compression::kLz4 : Compression::kNone;
      std::vector<std::pair<std::string, std::optional<std::string>>> records;
      for (int j = i; j < i + 4; ++j) {
        const bool tombstone = round == 4 && j % 5 == 0;
        records.emplace_back(Key(j), tombstone ? std::nullopt
                                               : std::optional("v" + std::to_string(round) + "-" +
                                                               std::to_string(j)));
      }
      w.Write(records, 1000 + round, options);
    }
  }
}

absl::StatusOr<CleanStats> CleanPass(PartitionLog& log, absl::Time now,
                                     size_t map_bytes = 1 << 20) {
  IoThrottle unlimited(0);
  LogCompactor compactor(map_bytes, &unlimited);
  return compactor.Clean(log, now);
}

TEST(LogCompactorTest, KeepsExactlyTheLatestRecordOfEachKeyAtItsOffset) {
  LogHarness h(CompactConfig());
  auto log = *h.Open();
  log->SetCompactionLimit(Offset::Max());
  Writer w(log.get());
  Overwrites(w);
  ASSERT_GT(log->segment_count(), 4u);
  const Offset active = log->active_segment_base();
  const Offset end = log->log_end_offset();
  auto active_before = log->Read(active, 1 << 20, Offset::Max(), FirstBatch::kAlways);
  ASSERT_TRUE(active_before.ok());

  auto stats = CleanPass(*log, h.clock().Now());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(active, stats->clean_end) << "everything below the active segment is clean";
  EXPECT_EQ(active, log->clean_offset());
  EXPECT_GT(stats->records_removed, 0);
  EXPECT_LT(stats->bytes_written, stats->bytes_read);
  // Tombstones stay through their first clean (delete.retention.ms).
  EXPECT_THAT(Records(*log), ::testing::ElementsAreArray(w.Expected(active, true)));
  EXPECT_EQ(end, log->log_end_offset());
  EXPECT_EQ(Offset(0), log->log_start_offset()) << "the log start offset never moves";
  auto active_after = log->Read(active, 1 << 20, Offset::Max(), FirstBatch::kAlways);
  ASSERT_TRUE(active_after.ok());
  EXPECT_EQ(active_before->bytes.view(), active_after->bytes.view())
      << "the active segment is never cleaned";

  // Every offset still resolves: to its record, or the next one kept.
  const std::vector<Rec> kept = Records(*log);
  for (int64_t o = 0; o < end.value(); ++o) {
    auto slice = log->Read(Offset(o), 1, Offset::Max(), FirstBatch::kAlways);
    ASSERT_TRUE(slice.ok()) << o << ": " << slice.status();
    ASSERT_FALSE(slice->bytes.empty()) << o;
    EXPECT_GT(slice->next_offset, Offset(o));
  }
  // ListOffsets by time finds kept records only.
  auto by_time = log->OffsetForTimestamp(0);
  ASSERT_TRUE(by_time.ok());
  ASSERT_TRUE(by_time->has_value());
  EXPECT_EQ(kept.front().offset, (*by_time)->offset.value());

  // A second pass with nothing new to clean removes nothing.
  auto again = CleanPass(*log, h.clock().Now());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(0, again->records_removed);
  EXPECT_EQ(0u, again->bytes_read);

  // And the cleaned log reopens as it was, its clean offset kept.
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  h.Restart();
  auto reopened = *h.Open("t-0", /*clean_shutdown=*/true);
  EXPECT_EQ(kept, Records(*reopened));
  EXPECT_EQ(active, reopened->clean_offset());
}

TEST(LogCompactorTest, TombstonesStayForDeleteRetentionThenGo) {
  LogConfig c = CompactConfig();
  c.delete_retention = absl::Hours(1);
  LogHarness h(c);
  auto log = *h.Open();
  log->SetCompactionLimit(Offset::Max());
  Writer w(log.get());
  Overwrites(w);
  const std::string filler(200, 'f');
  auto clean_all = [&] {
    // New data rolls the segment holding the rest, so all of it is cleanable.
    for (int i = 0; i < 4; ++i) w.Write({{"filler-" + std::to_string(i), filler}});
    auto stats = CleanPass(*log, h.clock().Now());
    ASSERT_TRUE(stats.ok()) << stats.status();
  };
  auto tombstones = [&] {
    int n = 0;
    for (const Rec& r : Records(*log)) n += r.value.has_value() ? 0 : 1;
    return n;
  };
  clean_all();
  EXPECT_EQ(4, tombstones()) << "kept through the first clean";
  h.clock().Advance(absl::Minutes(59));
  clean_all();
  EXPECT_EQ(4, tombstones()) << "delete.retention.ms has not passed";
  h.clock().Advance(absl::Minutes(2));
  clean_all();
  EXPECT_EQ(0, tombstones()) << "delete.retention.ms has passed";
  // What is left is every key's latest value; the deleted keys are gone.
  const Offset active = log->active_segment_base();
  EXPECT_THAT(Records(*log), ::testing::ElementsAreArray(w.Expected(active, false)));
  // Records keep their own timestamps under the delete horizon.
  testing::ForEachLoggedRecord(ReadAll(*log), [&](const RecordView& r) {
    EXPECT_GE(r.timestamp, 1000);
    EXPECT_LE(r.timestamp, 1004);
  });
}

TEST(LogCompactorTest, MinCompactionLagAndTheHighWatermarkBoundWhatIsCleaned) {
  LogConfig c = CompactConfig();
  c.min_compaction_lag = absl::Minutes(10);
  LogHarness h(c);
  auto log = *h.Open();
  Writer w(log.get());
  const int64_t now_ms = absl::ToUnixMillis(h.clock().Now());
  Overwrites(w);  // old records (timestamps near 1970)
  const Offset young_start = log->log_end_offset();
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 20; i += 4) {
      w.Write({{Key(i), "young"}, {Key(i + 1), "young"}, {Key(i + 2), "young"}}, now_ms);
    }
  }
  w.Write({{"last", std::string(300, 'x')}}, now_ms);

  // Nothing at all until the high watermark says so.
  auto none = CleanPass(*log, h.clock().Now());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(0u, none->bytes_read);

  log->SetCompactionLimit(Offset::Max());
  auto stats = CleanPass(*log, h.clock().Now());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_LE(stats->clean_end, young_start) << "segments with young records wait";
  const Offset end = stats->clean_end;
  EXPECT_THAT(Records(*log), ::testing::ElementsAreArray(w.Expected(end, true)));

  h.clock().Advance(absl::Minutes(11));
  stats = CleanPass(*log, h.clock().Now());
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(log->active_segment_base(), stats->clean_end);
  EXPECT_THAT(Records(*log),
              ::testing::ElementsAreArray(w.Expected(log->active_segment_base(), true)));
}

TEST(LogCompactorTest, AFullKeyMapCleansAsFarAsItHoldsThenTheRest) {
  LogHarness h(CompactConfig());
  auto log = *h.Open();
  log->SetCompactionLimit(Offset::Max());
  Writer w(log.get());
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 60; i += 3) {
      w.Write({{Key(i), "r" + std::to_string(round)},
               {Key(i + 1), "r" + std::to_string(round)},
               {Key(i + 2), "r" + std::to_string(round)}});
    }
  }
  const Offset active = log->active_segment_base();
  // Room for 20 keys: each pass maps part of the dirty range.
  const size_t small = 23 * KeyOffsetMap::kBytesPerSlot;
  int passes = 0;
  while (log->clean_offset() < active && passes < 20) {
    auto stats = CleanPass(*log, h.clock().Now(), small);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_LE(stats->map_keys, 20u);
    ++passes;
    // Whatever a pass left, the model of its range holds.
    EXPECT_THAT(Records(*log), ::testing::ElementsAreArray(w.Expected(log->clean_offset(), true)));
  }
  EXPECT_GT(passes, 2);
  EXPECT_EQ(active, log->clean_offset());
}

TEST(LogCompactorTest, AnEmptiedBatchStaysWhenItIsItsProducersLast) {
  LogHarness h(CompactConfig());
  auto log = *h.Open();
  log->SetCompactionLimit(Offset::Max());
  Writer w(log.get());
  BatchOptions idempotent{.producer_id = 7, .producer_epoch = 0, .base_sequence = 0};
  w.Write({{"a", "1"}, {"b", "1"}}, 1000, idempotent);
  idempotent.base_sequence = 2;
  w.Write({{"a", "2"}, {"b", "2"}}, 1000, idempotent);
  // Another producer overwrites both keys.
  for (int i = 0; i < 3; ++i) w.Write({{"a", "x"}, {"b", "x"}, {"pad", std::string(300, 'p')}});
  w.Write({{"tail", std::string(300, 't')}});
  ASSERT_TRUE(CleanPass(*log, h.clock().Now()).ok());

  // Producer 7's batches lost every record; its last one remains, empty,
  // with its offsets and sequence.
  std::vector<BatchHeader> of_7;
  const std::string bytes = ReadAll(*log);
  std::span<const uint8_t> in = AsBytes(bytes);
  while (!in.empty()) {
    auto hdr = ValidateBatch(in);
    ASSERT_TRUE(hdr.ok()) << hdr.status();
    if (hdr->producer_id == 7) of_7.push_back(*hdr);
    in = in.subspan(hdr->size());
  }
  ASSERT_EQ(1u, of_7.size());
  EXPECT_EQ(0, of_7[0].record_count);
  EXPECT_EQ(Offset(2), of_7[0].base_offset);
  EXPECT_EQ(Offset(3), of_7[0].last_offset());
  EXPECT_EQ(2, of_7[0].base_sequence);
}

TEST(LogCompactorTest, ReadersNeverSeeAnErrorOrAMissingRecordDuringSwaps) {
  LogHarness h(CompactConfig());
  auto log = *h.Open();
  log->SetCompactionLimit(Offset::Max());
  Writer w(log.get());
  for (int i = 0; i < 200; ++i) w.Write({{Key(i % 10), "value-" + std::to_string(i)}});
  std::atomic<bool> done{false};
  std::atomic<int> reads{0};
  std::string failure;  // the reader's first complaint
  std::thread reader([&] {
    while (!done) {
      // Every offset resolves whatever the swaps do.
      Offset at = log->log_start_offset();
      while (at < log->log_end_offset()) {
        auto slice = log->Read(at, 256, Offset::Max(), FirstBatch::kAlways);
        if (!slice.ok() || slice->bytes.empty() || slice->next_offset <= at) {
          failure = absl::StrCat("read at ", at.value(), ": ",
                                 slice.ok() ? "nothing returned" : slice.status().ToString());
          done = true;
          return;
        }
        at = slice->next_offset;
      }
      ++reads;
    }
  });
  for (int round = 0; round < 30 && !done; ++round) {
    for (int i = 0; i < 10; ++i) w.Write({{Key(i), "round-" + std::to_string(round)}});
    ASSERT_TRUE(CleanPass(*log, h.clock().Now()).ok());
  }
  while (reads < 3 && !done) std::this_thread::yield();
  done = true;
  reader.join();
  EXPECT_EQ("", failure);
  EXPECT_THAT(Records(*log),
              ::testing::ElementsAreArray(w.Expected(log->active_segment_base(), true)));
}

TEST(LogCompactorTest, RetentionAndCompactionTogether) {
  LogConfig c = CompactConfig();
  c.cleanup_policy.delete_old = true;
  c.retention_bytes = 2000;
  LogHarness h(c);
  auto log = *h.Open();
  log->SetCompactionLimit(Offset::Max());
  Writer w(log.get());
  Overwrites(w);
  ASSERT_TRUE(CleanPass(*log, h.clock().Now()).ok());
  auto deleted = log->ApplyRetention(h.clock().Now());
  ASSERT_TRUE(deleted.ok());
  EXPECT_LE(log->size_bytes(), 2000u + 700u);
  // compact alone never deletes by retention
  LogConfig only_compact = CompactConfig();
  only_compact.retention_bytes = 1;
  log->SetConfig(only_compact);
  const uint64_t size = log->size_bytes();
  auto none = log->ApplyRetention(h.clock().Now());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(0, *none);
  EXPECT_EQ(size, log->size_bytes());
}

// What recovery must leave after a crash or an I/O error anywhere in a
// pass: a log that opens, holds only records that were written, at their
// offsets, and still holds every key's latest record and everything the
// pass was not allowed to touch; and a later pass that finishes the job.
void CheckRecoveredAndFinish(LogHarness& h, const Writer& w, Offset active, Offset end,
                             const std::string& where) {
  h.Restart();
  auto log = h.Open();
  ASSERT_TRUE(log.ok()) << where << ": " << log.status();
  EXPECT_EQ(end, (*log)->log_end_offset()) << where;
  std::map<int64_t, Rec> written;
  std::map<std::string, int64_t> latest;
  for (const Rec& r : w.written()) {
    written.emplace(r.offset, r);
    latest[r.key] = r.offset;
  }
  std::set<int64_t> seen;
  int64_t last = -1;
  for (const Rec& r : Records(**log)) {
    ASSERT_GT(r.offset, last) << where;
    last = r.offset;
    ASSERT_TRUE(written.contains(r.offset)) << where << ": " << r;
    EXPECT_EQ(written.at(r.offset), r) << where;
    seen.insert(r.offset);
  }
  for (const auto& [key, offset] : latest) {
    EXPECT_TRUE(seen.contains(offset)) << where << ": the latest record of " << key << " is lost";
  }
  for (const Rec& r : w.written()) {
    if (r.offset >= active.value()) {
      EXPECT_TRUE(seen.contains(r.offset)) << where << ": " << r;
    }
  }
  (*log)->SetCompactionLimit(Offset::Max());
  auto stats = CleanPass(**log, h.clock().Now());
  ASSERT_TRUE(stats.ok()) << where << ": " << stats.status();
  EXPECT_THAT(Records(**log), ::testing::ElementsAreArray(w.Expected(active, true))) << where;
}

// A log ready to be cleaned, everything in it durable, with its model and
// where it stood before the pass.
struct Prepared {
  explicit Prepared(LogHarness& h) : log(*h.Open()), writer(log.get()) {
    log->SetCompactionLimit(Offset::Max());
    Overwrites(writer);
    EXPECT_TRUE(log->Flush().ok());
    active = log->active_segment_base();
    end = log->log_end_offset();
  }
  std::unique_ptr<PartitionLog> log;
  Writer writer;
  Offset active;
  Offset end;
};

class CompactionCrashTest : public ::testing::Test {
 protected:
  void SetUp() override { SetMinLogLevel(LogLevel::kFatal); }
  void TearDown() override { SetMinLogLevel(LogLevel::kInfo); }
};

TEST_F(CompactionCrashTest, ACrashAtEveryStepOfAPassLosesNoLatestValue) {
  int64_t total_ops = 0;
  {
    LogHarness dry(CompactConfig(), /*fault=*/true);
    Prepared p(dry);
    const int64_t before = dry.fault()->mutating_ops();
    ASSERT_TRUE(CleanPass(*p.log, dry.clock().Now()).ok());
    total_ops = dry.fault()->mutating_ops() - before;
  }
  ASSERT_GT(total_ops, 15) << "a pass writes, syncs and renames";
  for (int64_t k = 0; k <= total_ops; ++k) {
    for (CrashMode mode : {CrashMode::kDropUnsynced, CrashMode::kTearLastWrite}) {
      LogHarness h(CompactConfig(), /*fault=*/true);
      Prepared p(h);
      h.fault()->SetCrashAfter(k);
      (void)CleanPass(*p.log, h.clock().Now());
      p.log.reset();
      ASSERT_TRUE(h.fault()->Crash(mode, static_cast<uint64_t>(k)).ok());
      CheckRecoveredAndFinish(h, p.writer, p.active, p.end, "crash after op " + std::to_string(k));
      if (HasFatalFailure()) return;
    }
  }
}

TEST_F(CompactionCrashTest, AnIoErrorAtEachStepTakesTheDirectoryOfflineAndLosesNothing) {
  struct Fault {
    FaultOp op;
    std::string path;  // substring of the path that fails
  };
  const Fault faults[] = {
      {FaultOp::kOpen, ".cleaned"},       {FaultOp::kAppend, ".cleaned"},
      {FaultOp::kSync, ".cleaned"},       {FaultOp::kSyncDir, ""},
      {FaultOp::kOpen, "cleaner-swap"},   {FaultOp::kRename, ".log.cleaned"},
      {FaultOp::kRename, ".log"},         {FaultOp::kRename, ".index.cleaned"},
      {FaultOp::kDelete, "cleaner-swap"}, {FaultOp::kDelete, ".deleted"},
      {FaultOp::kRead, ".log"},           {FaultOp::kOpen, "cleaner-checkpoint"},
  };
  for (const Fault& f : faults) {
    const std::string where = absl::StrCat("op ", static_cast<int>(f.op), " on '", f.path, "'");
    LogHarness h(CompactConfig(), /*fault=*/true);
    Prepared p(h);
    h.fault()->InjectError(f.op, EIO, f.path);
    auto stats = CleanPass(*p.log, h.clock().Now());
    EXPECT_FALSE(stats.ok()) << where << ": the fault was never hit";
    EXPECT_TRUE(h.health()->offline()) << where;
    EXPECT_FALSE(p.log->Read(Offset(0), 100, Offset::Max(), FirstBatch::kAlways).ok()) << where;
    p.log.reset();
    h.fault()->ClearErrors();
    CheckRecoveredAndFinish(h, p.writer, p.active, p.end, where);
    if (HasFatalFailure()) return;
  }
}

TEST(LogCleanerTest, CleansTheDirtiestLogFirstAndSetsAsideOneItCannotRead) {
  LogHarness h(CompactConfig());
  std::vector<std::pair<std::string, std::shared_ptr<PartitionLog>>> logs;
  std::vector<std::unique_ptr<Writer>> writers;
  for (const char* name : {"little-0", "much-0", "plain-0", "broken-0"}) {
    std::shared_ptr<PartitionLog> log = *h.Open(name);
    log->SetCompactionLimit(Offset::Max());
    writers.push_back(std::make_unique<Writer>(log.get()));
    logs.emplace_back(name, log);
  }
  Overwrites(*writers[1]);
  // Some of this one is clean already: its dirty ratio stays below 1.
  for (int i = 0; i < 12; ++i) writers[0]->Write({{Key(i % 3), std::string(100, 'v')}});
  ASSERT_TRUE(CleanPass(*logs[0].second, h.clock().Now()).ok());
  for (int i = 0; i < 9; ++i) writers[0]->Write({{Key(i % 3), std::string(100, 'w')}});
  LogConfig plain;
  plain.segment_bytes = 700;  // cleanup.policy=delete
  logs[2].second->SetConfig(plain);
  Overwrites(*writers[2]);
  // A batch whose CRC is right but whose records do not decode, as a
  // leader would send it to a follower.
  std::string bad = [] {
    BatchBuilder b;
    b.Append(1000, "k", "v");
    return *b.Build();
  }();
  bad[kBatchHeaderSize + 1] = 0x7f;  // attributes byte of the first record
  bad[kBatchHeaderSize] = 0x7f;      // a record length running past the batch
  UpdateBatchCrc(AsMutableBytes(bad));
  ASSERT_TRUE(logs[3].second->AppendAsFollower(AsBytes(bad)).ok());
  Overwrites(*writers[3]);

  LogCleaner cleaner({.enable = false}, &h.clock(), [&] { return logs; });
  std::vector<std::string> order;
  while (std::optional<std::string> name = cleaner.CleanOnce()) order.push_back(*name);
  EXPECT_THAT(order, ::testing::UnorderedElementsAre("much-0", "broken-0", "little-0"));
  EXPECT_EQ("much-0", order.front()) << "the dirtiest log goes first";
  EXPECT_THAT(cleaner.uncleanable(), ::testing::ElementsAre(::testing::Pair(
                                         "broken-0", ::testing::HasSubstr("corrupt record"))));
  const CleanerMetrics m = cleaner.metrics();
  EXPECT_EQ(1, m.errors);
  EXPECT_EQ(1u, m.uncleanable_logs);
  EXPECT_GT(m.records_removed, 0);
  EXPECT_GT(m.bytes_read, m.bytes_written);
  EXPECT_EQ(writers[2]->written().size(), Records(*logs[2].second).size())
      << "a log with cleanup.policy=delete is never compacted";
  EXPECT_THAT(Records(*logs[1].second), ::testing::ElementsAreArray(writers[1]->Expected(
                                            logs[1].second->active_segment_base(), true)));
}

TEST(TopicConfigTest, CompactionKeysReachTheLogConfig) {
  auto c = ParseTopicConfig(
      LogConfig(), std::map<std::string, std::string>{{"cleanup.policy", "delete,compact"},
                                                      {"min.cleanable.dirty.ratio", "0.25"},
                                                      {"min.compaction.lag.ms", "1000"},
                                                      {"delete.retention.ms", "5000"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->log.cleanup_policy.compact && c->log.cleanup_policy.delete_old);
  EXPECT_EQ("compact,delete", CleanupPolicyName(c->log.cleanup_policy));
  EXPECT_EQ(0.25, c->log.min_cleanable_dirty_ratio);
  EXPECT_EQ(absl::Seconds(1), c->log.min_compaction_lag);
  EXPECT_EQ(absl::InfiniteDuration(), c->log.max_compaction_lag) << "the default: never forced";
  EXPECT_EQ(absl::Seconds(5), c->log.delete_retention);
  auto compact = ParseTopicConfig(
      LogConfig(), std::map<std::string, std::string>{{"cleanup.policy", "compact"}});
  ASSERT_TRUE(compact.ok());
  EXPECT_FALSE(compact->log.cleanup_policy.delete_old) << "compact alone deletes nothing by age";
  EXPECT_FALSE(
      ParseTopicConfig(LogConfig(), std::map<std::string, std::string>{{"cleanup.policy", ""}})
          .ok());
}

TEST(TopicConfigTest, PartitionLimitsAreTyped) {
  const TopicConfig defaults;
  EXPECT_EQ(1, defaults.min_insync_replicas);
  EXPECT_EQ(1048588, defaults.max_message_bytes);
  EXPECT_FALSE(defaults.unclean_leader_election);
  auto c = ParseTopicConfig(
      LogConfig(), std::map<std::string, std::string>{{"min.insync.replicas", "2"},
                                                      {"max.message.bytes", "4096"},
                                                      {"unclean.leader.election.enable", "true"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(2, c->min_insync_replicas);
  EXPECT_EQ(4096, c->max_message_bytes);
  EXPECT_TRUE(c->unclean_leader_election);
  absl::Status bad =
      ParseTopicConfig(LogConfig(),
                       std::map<std::string, std::string>{{"min.insync.replicas", "0"}})
          .status();
  EXPECT_NE(std::string::npos, bad.message().find("min.insync.replicas")) << bad;
}

TEST(KeyOffsetMapTest, GrowsWithItsKeysUpToItsBudgetThenReportsFull) {
  KeyOffsetMap map(size_t{64} << 20);
  const size_t start = map.memory();
  for (int i = 0; i < 300'000; ++i) ASSERT_TRUE(map.Put(Key(i), Offset(i)));
  for (int i = 0; i < 300'000; i += 2) ASSERT_TRUE(map.Put(Key(i), Offset(1'000'000 + i)));
  EXPECT_EQ(300'000u, map.size());
  EXPECT_GT(map.memory(), start);
  EXPECT_LE(map.memory(), size_t{64} << 20);
  for (int i = 0; i < 300'000; ++i) {
    ASSERT_EQ(Offset(i % 2 == 0 ? 1'000'000 + i : i), map.Get(Key(i))) << i;
  }
  EXPECT_FALSE(map.Get("never put").has_value());

  KeyOffsetMap small(100 * KeyOffsetMap::kBytesPerSlot);  // 90 keys at most
  int taken = 0;
  while (small.Put(Key(taken), Offset(taken))) ++taken;
  EXPECT_EQ(90, taken);
  EXPECT_TRUE(small.Put(Key(3), Offset(500))) << "a key it holds still takes a newer offset";
  EXPECT_EQ(Offset(500), small.Get(Key(3)));
}

}  // namespace
}  // namespace samsa::storage
