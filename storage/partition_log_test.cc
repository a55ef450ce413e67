#include "storage/partition_log.h"

#include <cerrno>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/log_test_util.h"

namespace samsa::storage {
namespace {

using testing::AppendLeader;
using testing::AsBytes;
using testing::AsMutableBytes;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::LogHarness;
using testing::MakeBatch;
using ::testing::Pair;
using testing::ReadAll;
using testing::Values;

TEST(PartitionLogTest, NewLogIsEmptyAtZero) {
  LogHarness h;
  auto log = h.Open();
  ASSERT_TRUE(log.ok()) << log.status();
  EXPECT_EQ(Offset(0), (*log)->log_start_offset());
  EXPECT_EQ(Offset(0), (*log)->log_end_offset());
  EXPECT_EQ(Offset(0), (*log)->flushed_offset());
  EXPECT_EQ(1u, (*log)->segment_count());
  EXPECT_FALSE((*log)->latest_epoch().has_value());
}

TEST(PartitionLogTest, LeaderAppendAssignsDenseOffsetsAndStampsEpoch) {
  LogHarness h;
  auto log = *h.Open();
  AppendInfo a = AppendLeader(*log, MakeBatch("a", 3), Epoch(5));
  EXPECT_EQ(Offset(0), a.first_offset);
  EXPECT_EQ(Offset(2), a.last_offset);
  EXPECT_EQ(3, a.record_count);
  // Two batches in one record set.
  std::string two = MakeBatch("b", 2) + MakeBatch("c", 1);
  auto b = log->AppendAsLeader(AsMutableBytes(two), Epoch(5));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(Offset(3), b->first_offset);
  EXPECT_EQ(Offset(5), b->last_offset);
  EXPECT_EQ(Offset(6), log->log_end_offset());

  const std::string all = ReadAll(*log);
  EXPECT_THAT(Values(all), ElementsAre(Pair(0, "a-0"), Pair(1, "a-1"), Pair(2, "a-2"),
                                       Pair(3, "b-0"), Pair(4, "b-1"), Pair(5, "c-0")));
  auto first = ParseBatchHeader(AsBytes(all));
  EXPECT_EQ(Epoch(5), first->leader_epoch);
  EXPECT_THAT(log->epoch_entries(), ElementsAre(EpochEntry{Epoch(5), Offset(0)}));
}

TEST(PartitionLogTest, CorruptBatchLeavesNothing) {
  LogHarness h;
  auto log = *h.Open();
  AppendLeader(*log, MakeBatch("ok"));
  std::string set = MakeBatch("good") + MakeBatch("bad");
  set[set.size() - 3] ^= 1;  // breaks the second batch's CRC
  auto r = log->AppendAsLeader(AsMutableBytes(set), Epoch(0));
  EXPECT_EQ(absl::StatusCode::kDataLoss, r.status().code());
  EXPECT_THAT(r.status().message(), HasSubstr("CRC mismatch"));
  EXPECT_EQ(Offset(1), log->log_end_offset());
  std::string empty;
  EXPECT_EQ(absl::StatusCode::kInvalidArgument,
            log->AppendAsLeader(AsMutableBytes(empty), Epoch(0)).status().code());
}

TEST(PartitionLogTest, ReadBoundsAndPositions) {
  LogHarness h;
  h.config().index_interval_bytes = 1;  // an index entry for every batch
  auto log = *h.Open();
  for (int i = 0; i < 10; ++i) AppendLeader(*log, MakeBatch("b" + std::to_string(i), 2));
  // From the middle of a batch: the whole batch comes back.
  auto s = log->Read(Offset(5), 1 << 20, Offset::Max(), FirstBatch::kAlways);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Offset(4), s->first_offset);
  EXPECT_EQ(Offset(20), s->next_offset);
  // The upper bound (high watermark) excludes batches reaching it.
  s = log->Read(Offset(0), 1 << 20, Offset(7), FirstBatch::kAlways);
  EXPECT_EQ(Offset(6), s->next_offset);
  s = log->Read(Offset(6), 1 << 20, Offset(7), FirstBatch::kAlways);
  EXPECT_TRUE(s->bytes.empty());
  // max_bytes: only whole batches fit; min_one returns one regardless.
  const size_t batch_size = MakeBatch("b0", 2).size();
  s = log->Read(Offset(0), batch_size * 2 + 10, Offset::Max(), FirstBatch::kIfItFits);
  EXPECT_EQ(2 * batch_size, s->bytes.size());
  s = log->Read(Offset(0), 1, Offset::Max(), FirstBatch::kIfItFits);
  EXPECT_TRUE(s->bytes.empty());
  s = log->Read(Offset(0), 1, Offset::Max(), FirstBatch::kAlways);
  EXPECT_EQ(batch_size, s->bytes.size());
  // At the end: nothing. Past it or before the start: out of range.
  s = log->Read(Offset(20), 100, Offset::Max(), FirstBatch::kAlways);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->bytes.empty());
  EXPECT_EQ(absl::StatusCode::kOutOfRange,
            log->Read(Offset(21), 100, Offset::Max(), FirstBatch::kAlways).status().code());
  EXPECT_EQ(absl::StatusCode::kOutOfRange,
            log->Read(Offset(-1), 100, Offset::Max(), FirstBatch::kAlways).status().code());
}

TEST(PartitionLogTest, RollsBySizeAndAgeAndReadsAcrossSegments) {
  LogHarness h;
  h.config().segment_bytes = 500;
  h.config().segment_age = absl::Hours(1);
  auto log = *h.Open();
  for (int i = 0; i < 20; ++i) AppendLeader(*log, MakeBatch("x" + std::to_string(i), 1, 1000, 40));
  EXPECT_GT(log->segment_count(), 3u);
  const size_t segments = log->segment_count();
  h.clock().Advance(absl::Hours(2));
  AppendLeader(*log, MakeBatch("late"));
  EXPECT_EQ(segments + 1, log->segment_count()) << "rolled by age";
  auto values = Values(ReadAll(*log));
  ASSERT_EQ(21u, values.size());
  for (int i = 0; i < 21; ++i) EXPECT_EQ(i, values[i].first);
  // A batch larger than a segment still goes in (alone).
  AppendLeader(*log, MakeBatch("huge", 1, 1000, 2000));
  EXPECT_EQ(Offset(22), log->log_end_offset());
}

TEST(PartitionLogTest, FollowerAppendKeepsOffsetsRejectsOverlapsTakesGaps) {
  LogHarness leader_env;
  auto leader = *leader_env.Open();
  AppendLeader(*leader, MakeBatch("a", 2), Epoch(1));
  AppendLeader(*leader, MakeBatch("b", 2), Epoch(3));
  const std::string data = ReadAll(*leader);

  LogHarness h;
  auto follower = *h.Open();
  auto ok = follower->AppendAsFollower(AsBytes(data));
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(Offset(4), follower->log_end_offset());
  EXPECT_THAT(follower->epoch_entries(),
              ElementsAre(EpochEntry{Epoch(1), Offset(0)}, EpochEntry{Epoch(3), Offset(2)}));
  EXPECT_EQ(data, ReadAll(*follower)) << "bytes are kept as the leader wrote them";

  // Replaying the same data overlaps and changes nothing.
  auto overlap = follower->AppendAsFollower(AsBytes(data));
  EXPECT_EQ(absl::StatusCode::kOutOfRange, overlap.status().code());
  EXPECT_THAT(overlap.status().message(), HasSubstr("starts at offset 0, below 4"));
  EXPECT_EQ(Offset(4), follower->log_end_offset());
  // A batch past the log end follows a range the leader's cleaner removed.
  std::string gap = MakeBatch("gap");
  StampBatch(AsMutableBytes(gap), Offset(10), Epoch(3));
  ASSERT_TRUE(follower->AppendAsFollower(AsBytes(gap)).ok());
  EXPECT_EQ(Offset(11), follower->log_end_offset());
  auto read = follower->Read(Offset(5), 1 << 20, Offset::Max(), FirstBatch::kAlways);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(Offset(10), read->first_offset) << "a read in the gap starts at the next batch";
}

TEST(PartitionLogTest, TruncateAcrossSegmentsThenContinue) {
  LogHarness h;
  h.config().segment_bytes = 300;
  auto log = *h.Open();
  for (int i = 0; i < 10; ++i) {
    AppendLeader(*log, MakeBatch("e" + std::to_string(i), 2, 1000, 30), Epoch(i < 5 ? 1 : 2));
  }
  ASSERT_GT(log->segment_count(), 3u);
  ASSERT_TRUE(log->TruncateTo(Offset(7)).ok());  // offset 7 is inside batch [6, 7]
  EXPECT_EQ(Offset(6), log->log_end_offset());
  EXPECT_THAT(log->epoch_entries(), ElementsAre(EpochEntry{Epoch(1), Offset(0)}));
  EXPECT_LE(log->flushed_offset(), Offset(6));
  AppendLeader(*log, MakeBatch("new"), Epoch(3));
  auto values = Values(ReadAll(*log));
  ASSERT_EQ(7u, values.size());
  EXPECT_EQ(std::make_pair(int64_t{6}, std::string("new-0")), values[6]);
  EXPECT_THAT(log->epoch_entries(),
              ElementsAre(EpochEntry{Epoch(1), Offset(0)}, EpochEntry{Epoch(3), Offset(6)}));

  // Truncating beyond the end is a no-op; to the start empties the log.
  ASSERT_TRUE(log->TruncateTo(Offset(100)).ok());
  EXPECT_EQ(Offset(7), log->log_end_offset());
  ASSERT_TRUE(log->TruncateTo(Offset(0)).ok());
  EXPECT_EQ(Offset(0), log->log_end_offset());
  ASSERT_TRUE(log->TruncateFullyAndStartAt(Offset(500)).ok());
  EXPECT_EQ(Offset(500), log->log_start_offset());
  EXPECT_EQ(Offset(500), log->log_end_offset());
  EXPECT_EQ(1u, log->segment_count());
  EXPECT_TRUE(log->epoch_entries().empty());
  AppendLeader(*log, MakeBatch("restart"), Epoch(4));
  EXPECT_EQ(Offset(501), log->log_end_offset());
}

TEST(PartitionLogTest, EndOffsetForEpoch) {
  LogHarness h;
  auto log = *h.Open();
  AppendLeader(*log, MakeBatch("a", 3), Epoch(1));  // 0..2
  AppendLeader(*log, MakeBatch("b", 2), Epoch(3));  // 3..4
  AppendLeader(*log, MakeBatch("c", 1), Epoch(4));  // 5
  EXPECT_EQ(std::make_pair(kNoEpoch, Offset(-1)), log->EndOffsetForEpoch(Epoch(0)));
  EXPECT_EQ(std::make_pair(Epoch(1), Offset(3)), log->EndOffsetForEpoch(Epoch(1)));
  EXPECT_EQ(std::make_pair(Epoch(1), Offset(3)), log->EndOffsetForEpoch(Epoch(2)));
  EXPECT_EQ(std::make_pair(Epoch(3), Offset(5)), log->EndOffsetForEpoch(Epoch(3)));
  EXPECT_EQ(std::make_pair(Epoch(4), Offset(6)), log->EndOffsetForEpoch(Epoch(4)));
  EXPECT_EQ(std::make_pair(Epoch(4), Offset(6)), log->EndOffsetForEpoch(Epoch(9)));
}

TEST(PartitionLogTest, OffsetForTimestamp) {
  LogHarness h;
  h.config().segment_bytes = 200;
  auto log = *h.Open();
  for (int i = 0; i < 10; ++i) {
    BatchBuilder b;
    b.Append(1000 + 100 * i, std::nullopt, "first");
    b.Append(1050 + 100 * i, std::nullopt, "second");
    AppendLeader(*log, *b.Build());
  }
  ASSERT_GT(log->segment_count(), 2u);
  auto r = log->OffsetForTimestamp(0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(Offset(0), (*r)->offset);
  r = log->OffsetForTimestamp(1550);  // the second record of batch 5
  EXPECT_EQ(Offset(11), (*r)->offset);
  EXPECT_EQ(1550, (*r)->timestamp);
  r = log->OffsetForTimestamp(1551);  // next is batch 6's first record
  EXPECT_EQ(Offset(12), (*r)->offset);
  r = log->OffsetForTimestamp(99999);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
}

TEST(PartitionLogTest, LogAppendTimeOverridesProducerTimestamps) {
  LogHarness h;
  h.config().timestamp_type = TimestampType::kLogAppendTime;
  auto log = *h.Open();
  AppendInfo info = AppendLeader(*log, MakeBatch("t", 2, /*ts=*/5));
  const int64_t now = absl::ToUnixMillis(h.clock().Now());
  EXPECT_EQ(now, info.log_append_time);
  const std::string bytes = ReadAll(*log);
  ASSERT_TRUE(ValidateBatch(AsBytes(bytes)).ok()) << "CRC was resealed";
  ASSERT_TRUE(ForEachRecord(AsBytes(bytes), [&](const RecordView& r) {
                EXPECT_EQ(now, r.timestamp);
                return absl::OkStatus();
              }).ok());
}

TEST(PartitionLogTest, RetentionByTimeAndSize) {
  LogHarness h;
  h.config().segment_bytes = 200;
  h.config().retention_age = absl::Hours(1);
  auto log = *h.Open();
  const int64_t now_ms = absl::ToUnixMillis(h.clock().Now());
  // Old data, then fresh data.
  for (int i = 0; i < 6; ++i) {
    AppendLeader(*log, MakeBatch("old", 1, now_ms - 3 * 3600 * 1000, 60), Epoch(1));
  }
  for (int i = 0; i < 6; ++i) AppendLeader(*log, MakeBatch("new", 1, now_ms, 60), Epoch(2));
  const size_t before = log->segment_count();
  auto deleted = log->ApplyRetention(h.clock().Now());
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_GT(*deleted, 0);
  EXPECT_EQ(before - *deleted, log->segment_count());
  const Offset start = log->log_start_offset();
  EXPECT_GT(start, Offset(0));
  EXPECT_LE(start, Offset(6)) << "only old segments go";
  EXPECT_EQ(absl::StatusCode::kOutOfRange,
            log->Read(Offset(0), 100, Offset::Max(), FirstBatch::kAlways).status().code());
  EXPECT_EQ(start, log->epoch_entries().front().start_offset);

  // By size: keep at most ~2 segments' worth; the active one always stays.
  h.config().retention_bytes = 0;
  LogHarness h2(h.config());
  h2.config().retention_age = absl::InfiniteDuration();
  auto log2 = *h2.Open();
  for (int i = 0; i < 12; ++i) AppendLeader(*log2, MakeBatch("s", 1, now_ms, 60));
  ASSERT_TRUE(log2->ApplyRetention(h2.clock().Now()).ok());
  EXPECT_EQ(1u, log2->segment_count());
  EXPECT_EQ(log2->log_end_offset(), Offset(12));
  // Files of deleted segments are gone.
  auto names = h2.env()->ListDir("/data/t-0");
  ASSERT_TRUE(names.ok());
  for (const std::string& n : *names) EXPECT_FALSE(n.ends_with(".deleted")) << n;
}

TEST(PartitionLogTest, DeleteSegmentsBelowKeepsEverythingFromTheOffset) {
  LogHarness h;
  h.config().segment_bytes = 200;
  auto log = *h.Open();
  for (int i = 0; i < 12; ++i) AppendLeader(*log, MakeBatch("s", 1, 1000, 60));
  ASSERT_GT(log->segment_count(), 3u);
  auto deleted = log->DeleteSegmentsBelow(Offset(7));
  ASSERT_TRUE(deleted.ok());
  EXPECT_GT(*deleted, 0);
  EXPECT_LE(log->log_start_offset(), Offset(7));
  auto s = log->Read(Offset(7), 1 << 20, Offset::Max(), FirstBatch::kAlways);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(Offset(7), s->first_offset);
  EXPECT_EQ(0, *log->DeleteSegmentsBelow(Offset(0)));
  // Never the active segment, even when everything is below.
  ASSERT_TRUE(log->DeleteSegmentsBelow(Offset(1000)).ok());
  EXPECT_EQ(1u, log->segment_count());
  EXPECT_EQ(Offset(12), log->log_end_offset());
}

TEST(PartitionLogTest, CleanReopenSkipsTheScan) {
  LogHarness h;
  h.config().segment_bytes = 300;
  {
    auto log = *h.Open();
    for (int i = 0; i < 8; ++i)
      AppendLeader(*log, MakeBatch("c" + std::to_string(i), 1, 1000, 40), Epoch(2));
    ASSERT_TRUE(log->Close().ok());
    std::string late = MakeBatch("x");
    EXPECT_EQ(absl::StatusCode::kFailedPrecondition,
              log->AppendAsLeader(AsMutableBytes(late), Epoch(2)).status().code());
  }
  h.Restart();
  auto log = *h.Open("t-0", /*clean_shutdown=*/true);
  EXPECT_EQ(0, log->recovery_stats().batches_scanned);
  EXPECT_FALSE(log->recovery_stats().rebuilt_index);
  EXPECT_EQ(Offset(8), log->log_end_offset());
  EXPECT_EQ(Offset(8), log->flushed_offset());
  EXPECT_THAT(log->epoch_entries(), ElementsAre(EpochEntry{Epoch(2), Offset(0)}));
  EXPECT_EQ(8u, Values(ReadAll(*log)).size());
}

TEST(PartitionLogTest, UncleanReopenScansAndCutsACorruptTail) {
  LogHarness h;
  std::string log_file;
  {
    auto log = *h.Open();
    for (int i = 0; i < 5; ++i) AppendLeader(*log, MakeBatch("d" + std::to_string(i)));
    log_file = "/data/t-0/" + SegmentFileName(Offset(0), ".log");
  }  // no Close: as if the process died
  // Garbage after the last batch, as a crash mid-append can leave.
  {
    auto f = h.env()->OpenFile(log_file, OpenMode::kOpenExisting);
    ASSERT_TRUE((*f)->Append(AsBytes(std::string(30, '\x7f'))).ok());
  }
  h.Restart();
  auto log = *h.Open();
  EXPECT_EQ(5, log->recovery_stats().batches_scanned);
  EXPECT_EQ(30, log->recovery_stats().bytes_truncated);
  EXPECT_EQ(Offset(5), log->log_end_offset());
  AppendLeader(*log, MakeBatch("after"));
  EXPECT_EQ(6u, Values(ReadAll(*log)).size());
}

TEST(PartitionLogTest, RecoveryDropsEverythingFromTheFirstBadBatch) {
  LogHarness h;
  const std::string path = "/data/t-0/" + SegmentFileName(Offset(0), ".log");
  size_t second_batch_pos = 0;
  {
    auto log = *h.Open();
    second_batch_pos = MakeBatch("f0").size();
    for (int i = 0; i < 4; ++i) AppendLeader(*log, MakeBatch("f" + std::to_string(i)));
  }
  // Flip a byte inside the second batch: it and every later batch must go,
  // even though the later ones are intact.
  std::string contents = *h.env()->ReadFile(path);
  contents[second_batch_pos + 70] ^= 0x20;
  ASSERT_TRUE(h.env()->DeleteFile(path).ok());
  {
    auto f = h.env()->OpenFile(path, OpenMode::kCreateNew);
    ASSERT_TRUE((*f)->Append(AsBytes(contents)).ok());
  }
  h.Restart();
  auto log = *h.Open();
  EXPECT_EQ(Offset(1), log->log_end_offset());
  EXPECT_EQ(static_cast<int64_t>(contents.size() - second_batch_pos),
            log->recovery_stats().bytes_truncated);
}

TEST(PartitionLogTest, DamagedOrMissingIndexesOfSealedSegmentsAreRebuilt) {
  LogHarness h;
  h.config().segment_bytes = 300;
  h.config().index_interval_bytes = 1;
  {
    auto log = *h.Open();
    for (int i = 0; i < 10; ++i)
      AppendLeader(*log, MakeBatch("g" + std::to_string(i), 1, 1000 + i, 40));
    ASSERT_TRUE(log->Close().ok());
  }
  const std::string first_index = "/data/t-0/" + SegmentFileName(Offset(0), ".index");
  ASSERT_TRUE(*h.env()->FileExists(first_index));
  ASSERT_TRUE(h.env()->DeleteFile(first_index).ok());
  // Second segment's index: garbage of the wrong size.
  auto names = *h.env()->ListDir("/data/t-0");
  std::string second_index;
  for (const auto& n : names) {
    if (n.ends_with(".index") && "/data/t-0/" + n != first_index) {
      second_index = "/data/t-0/" + n;
      break;
    }
  }
  ASSERT_FALSE(second_index.empty());
  ASSERT_TRUE(h.env()->WriteFileAtomically(second_index, "garbage").ok());
  h.Restart();
  auto log = *h.Open();
  EXPECT_TRUE(log->recovery_stats().rebuilt_index);
  // Every offset is found through the (rebuilt) indexes.
  for (int64_t o = 0; o < 10; ++o) {
    auto s = log->Read(Offset(o), 1, Offset::Max(), FirstBatch::kAlways);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(Offset(o), s->first_offset);
  }
}

TEST(PartitionLogTest, LeftoversOfAnInterruptedDeleteAreRemoved) {
  LogHarness h;
  {
    auto log = *h.Open();
    AppendLeader(*log, MakeBatch("z"));
  }
  ASSERT_TRUE(h.env()->WriteFileAtomically("/data/t-0/00000000000000000077.log.deleted", "x").ok());
  ASSERT_TRUE(
      h.env()->WriteFileAtomically("/data/t-0/00000000000000000077.index", "12345678").ok());
  ASSERT_TRUE(h.env()->WriteFileAtomically("/data/t-0/leader-epoch-checkpoint.tmp", "x").ok());
  h.Restart();
  auto log = *h.Open();
  EXPECT_EQ(Offset(1), log->log_end_offset());
  EXPECT_THAT(*h.env()->ListDir("/data/t-0"),
              ElementsAre("00000000000000000000.log", "leader-epoch-checkpoint"));
}

// A process crash leaves unsynced data in the page cache, where recovery
// reads it back and counts it as flushed; a power loss after that must not
// take it away.
TEST(PartitionLogTest, WhatRecoveryCountsAsFlushedSurvivesALaterPowerLoss) {
  LogHarness h({}, /*fault=*/true);
  {
    auto log = *h.Open();
    for (int i = 0; i < 3; ++i) AppendLeader(*log, MakeBatch("p" + std::to_string(i)));
    EXPECT_EQ(Offset(0), log->flushed_offset());
  }  // the process dies; the machine stays up
  h.Restart();
  Offset flushed;
  {
    auto log = *h.Open();
    flushed = log->flushed_offset();
    EXPECT_EQ(Offset(3), flushed);
    h.fault()->Freeze();
  }
  ASSERT_TRUE(h.fault()->Crash(CrashMode::kDropUnsynced).ok());  // now the power goes
  h.Restart();
  auto log = *h.Open();
  EXPECT_GE(log->log_end_offset(), flushed);
}

TEST(PartitionLogTest, FailedFsyncTakesTheDirectoryOfflineForGood) {
  LogHarness h({}, /*fault=*/true);
  auto a = *h.Open("a-0");
  auto b = *h.Open("b-0");
  AppendLeader(*a, MakeBatch("a"));
  h.fault()->InjectError(FaultOp::kSync, EIO, "/data/a-0");
  absl::Status st = a->Flush();
  EXPECT_EQ(absl::StatusCode::kUnavailable, st.code());
  EXPECT_THAT(st.message(), HasSubstr("offline"));
  EXPECT_THAT(st.message(), HasSubstr("Input/output error"));
  EXPECT_TRUE(h.health()->offline());
  EXPECT_EQ(Offset(0), a->flushed_offset()) << "never reported durable";
  // Not retried: the next flush fails too, without touching the disk.
  EXPECT_EQ(absl::StatusCode::kUnavailable, a->Flush().code());
  std::string batch = MakeBatch("b");
  EXPECT_EQ(absl::StatusCode::kUnavailable,
            b->AppendAsLeader(AsMutableBytes(batch), Epoch(0)).status().code())
      << "every partition of the directory";
  EXPECT_EQ(absl::StatusCode::kUnavailable,
            b->Read(Offset(0), 10, Offset::Max(), FirstBatch::kAlways).status().code());
}

TEST(PartitionLogTest, FailedWriteTakesTheDirectoryOffline) {
  LogHarness h({}, /*fault=*/true);
  auto log = *h.Open();
  h.fault()->InjectError(FaultOp::kAppend, ENOSPC);
  std::string batch = MakeBatch("full");
  auto r = log->AppendAsLeader(AsMutableBytes(batch), Epoch(0));
  EXPECT_EQ(absl::StatusCode::kUnavailable, r.status().code());
  EXPECT_THAT(r.status().message(), HasSubstr("No space left on device"));
  EXPECT_TRUE(h.health()->offline());
}

}  // namespace
}  // namespace samsa::storage
