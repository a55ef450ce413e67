// Partition's producer-state snapshots: written on roll and at shutdown,
// used at open, dropped when truncation or a crash makes them wrong.
#include "broker/partition.h"

#include "common/clock.h"
#include "gtest/gtest.h"
#include "storage/log_test_util.h"

namespace samsa::broker {
namespace {

using storage::testing::AsMutableBytes;
using storage::testing::LogHarness;

constexpr int64_t kProducer = 42;

std::string Batch(int32_t first_seq, int n = 1, int64_t producer = kProducer) {
  storage::BatchBuilder b(
      {.producer_id = producer, .producer_epoch = 0, .base_sequence = first_seq});
  for (int i = 0; i < n; ++i) b.Append(1000, std::nullopt, std::string(100, 'v'));
  return *b.Build();
}

class PartitionTest : public ::testing::Test {
 protected:
  PartitionTest() {
    h_.config().segment_bytes = 1000;  // a few batches per segment
    Open();
  }

  void Open() {
    log_ = *h_.Open();
    partition_ = std::make_unique<Partition>(storage::TopicPartitionName{"t", PartitionId(0)}, log_,
                                             NodeId(1));
  }
  // Closes the log (or, with `crash`, drops it) and opens it again.
  void Reopen(bool crash = false) {
    partition_.reset();
    if (!crash) {
      ASSERT_TRUE(log_->Close().ok());
    }
    log_.reset();
    h_.Restart();
    Open();
  }

  // Leads as `state` says with replicas 1-3 (flush.policy=always), appends
  // three batches, flushes them and has broker 2 acknowledge them all;
  // returns the log end.
  Offset LeadWithThreeCommittedBatches(PartitionState state) {
    state.leader = true;
    state.leader_id = NodeId(1);
    state.replicas = {NodeId(1), NodeId(2), NodeId(3)};
    state.flush_always = true;
    partition_->SetState(std::move(state));
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(Partition::LeaderAppend::Outcome::kAppended, Append(Batch(i)).outcome);
    }
    EXPECT_TRUE(log_->Flush().ok());
    const Offset end = log_->log_end_offset();
    partition_->OnLocalOffset(end);
    partition_->OnFollowerFetch(NodeId(2), end, end, absl::Now());
    return end;
  }

  Partition::LeaderAppend Append(std::string batch) {
    return partition_->AppendAsLeader(AsMutableBytes(batch), Epoch(0));
  }

  std::vector<std::string> Snapshots() {
    absl::StatusOr<std::vector<std::string>> names = h_.env()->ListDir("/data/t-0");
    EXPECT_TRUE(names.ok()) << names.status();
    std::vector<std::string> out;
    if (!names.ok()) return out;
    for (const std::string& name : *names) {
      if (name.ends_with(".snapshot")) out.push_back(name);
    }
    return out;
  }

  LogHarness h_;
  std::shared_ptr<storage::PartitionLog> log_;
  std::unique_ptr<Partition> partition_;
};

TEST_F(PartitionTest, ARollTakesASnapshotAndOpeningReplaysOnlyWhatFollowsIt) {
  ASSERT_TRUE(partition_->LoadProducers().ok());
  for (int seq = 0; seq < 20; ++seq) {
    ASSERT_EQ(Partition::LeaderAppend::Outcome::kAppended, Append(Batch(seq)).outcome);
    ASSERT_TRUE(partition_->SnapshotProducers(Partition::SnapshotWhen::kIfRolled).ok());
  }
  ASSERT_GT(log_->segment_count(), 3u);
  EXPECT_EQ(2u, Snapshots().size()) << "the newest two are kept";
  const Offset end = log_->log_end_offset();

  Reopen(/*crash=*/true);
  absl::StatusOr<Partition::ProducerLoad> load = partition_->LoadProducers();
  ASSERT_TRUE(load.ok()) << load.status();
  ASSERT_TRUE(load->snapshot.has_value());
  EXPECT_GT(*load->snapshot, Offset(0));
  EXPECT_LT(load->bytes_replayed, static_cast<int64_t>(log_->size_bytes()) / 2);

  // The last five batches are known: a retry of the newest is a duplicate
  // with its original offset, the next sequence is accepted.
  Partition::LeaderAppend retry = Append(Batch(19));
  EXPECT_EQ(Partition::LeaderAppend::Outcome::kDuplicate, retry.outcome);
  EXPECT_EQ(end - 1, retry.info.first_offset);
  EXPECT_EQ(Partition::LeaderAppend::Outcome::kOutOfOrder, Append(Batch(22)).outcome);
  EXPECT_EQ(Partition::LeaderAppend::Outcome::kAppended, Append(Batch(20)).outcome);
}

TEST_F(PartitionTest, ACleanShutdownSnapshotLeavesNothingToReplay) {
  ASSERT_TRUE(partition_->LoadProducers().ok());
  for (int seq = 0; seq < 3; ++seq) Append(Batch(seq));
  ASSERT_TRUE(partition_->SnapshotProducers(Partition::SnapshotWhen::kAlways).ok());
  Reopen();
  absl::StatusOr<Partition::ProducerLoad> load = partition_->LoadProducers();
  ASSERT_TRUE(load.ok()) << load.status();
  EXPECT_EQ(log_->log_end_offset(), load->snapshot);
  EXPECT_EQ(0, load->bytes_replayed);
  EXPECT_EQ(Partition::LeaderAppend::Outcome::kDuplicate, Append(Batch(2)).outcome);
}

TEST_F(PartitionTest, ADamagedSnapshotIsDeletedAndTheLogReplayedInstead) {
  ASSERT_TRUE(partition_->LoadProducers().ok());
  for (int seq = 0; seq < 3; ++seq) Append(Batch(seq));
  ASSERT_TRUE(partition_->SnapshotProducers(Partition::SnapshotWhen::kAlways).ok());
  ASSERT_EQ(1u, Snapshots().size());
  const std::string path = "/data/t-0/" + Snapshots()[0];
  std::string bytes = *h_.env()->ReadFile(path);
  bytes[bytes.size() - 1] ^= 1;
  ASSERT_TRUE(h_.env()->WriteFileAtomically(path, bytes).ok());

  Reopen();
  absl::StatusOr<Partition::ProducerLoad> load = partition_->LoadProducers();
  ASSERT_TRUE(load.ok()) << load.status();
  EXPECT_FALSE(load->snapshot.has_value());
  EXPECT_EQ(static_cast<int64_t>(log_->size_bytes()), load->bytes_replayed);
  EXPECT_TRUE(Snapshots().empty());
  EXPECT_EQ(Partition::LeaderAppend::Outcome::kDuplicate, Append(Batch(2)).outcome);
}

TEST_F(PartitionTest, TruncationDropsLaterSnapshotsAndTheBatchesItRemoved) {
  ASSERT_TRUE(partition_->LoadProducers().ok());
  for (int seq = 0; seq < 4; ++seq) Append(Batch(seq));
  ASSERT_TRUE(partition_->SnapshotProducers(Partition::SnapshotWhen::kAlways).ok());
  ASSERT_TRUE(partition_->TruncateTo(Offset(2)).ok());
  EXPECT_TRUE(Snapshots().empty()) << "the snapshot at 4 describes batches the log lost";
  // Sequences 2 and 3 are gone: 2 is new again, not a duplicate.
  EXPECT_EQ(Partition::LeaderAppend::Outcome::kOutOfOrder, Append(Batch(3)).outcome);
  Partition::LeaderAppend again = Append(Batch(2));
  EXPECT_EQ(Partition::LeaderAppend::Outcome::kAppended, again.outcome);
  EXPECT_EQ(Offset(2), again.info.first_offset);

  ASSERT_TRUE(partition_->SnapshotProducers(Partition::SnapshotWhen::kAlways).ok());
  ASSERT_TRUE(partition_->TruncateFullyAndStartAt(Offset(100)).ok());
  EXPECT_TRUE(Snapshots().empty());
  EXPECT_EQ(Partition::LeaderAppend::Outcome::kOutOfOrder, Append(Batch(3)).outcome)
      << "the producer is forgotten: it must start at sequence 0";
}

TEST_F(PartitionTest, ASnapshotPastALostTailIsIgnored) {
  ASSERT_TRUE(partition_->LoadProducers().ok());
  Append(Batch(0));
  ASSERT_TRUE(partition_->SnapshotProducers(Partition::SnapshotWhen::kAlways).ok());
  // A snapshot claiming more than the log holds (its tail lost in a crash).
  ASSERT_TRUE(h_.env()
                  ->WriteFileAtomically("/data/t-0/00000000000000000009.snapshot",
                                        storage::ProducerState().Encode(Offset(9)))
                  .ok());
  Reopen();
  absl::StatusOr<Partition::ProducerLoad> load = partition_->LoadProducers();
  ASSERT_TRUE(load.ok()) << load.status();
  EXPECT_EQ(Offset(1), load->snapshot);
  EXPECT_EQ(std::vector<std::string>{"00000000000000000001.snapshot"}, Snapshots());
}

// The leader admits a follower to the ISR only once it holds the high
// watermark durably (flush.policy=always), as it reports it now: not on its
// fetch offset alone, and not on what it held before it came back empty.
// The leader tries its waiting requests only when a fetch moved the high
// watermark, so the answer must be right.
TEST_F(PartitionTest, AFollowersFetchSaysWhetherItMovedTheHighWatermark) {
  PartitionState state;
  state.isr = {NodeId(1), NodeId(2)};
  LeadWithThreeCommittedBatches(state);
  ASSERT_FALSE(HasFailure());
  ASSERT_EQ(Partition::LeaderAppend::Outcome::kAppended, Append(Batch(3)).outcome);
  ASSERT_TRUE(log_->Flush().ok());
  const Offset end = log_->log_end_offset();
  partition_->OnLocalOffset(end);
  const absl::Time now = absl::Now();
  EXPECT_FALSE(partition_->OnFollowerFetch(NodeId(3), end, end, now)) << "not in the ISR";
  EXPECT_FALSE(partition_->OnFollowerFetch(NodeId(2), end, Offset(0), now)) << "nothing durable";
  EXPECT_TRUE(partition_->OnFollowerFetch(NodeId(2), end, end, now));
  EXPECT_EQ(end, partition_->high_watermark());
  EXPECT_FALSE(partition_->OnFollowerFetch(NodeId(2), end, end, now)) << "the same report again";
}

TEST_F(PartitionTest, AFollowerRejoinsTheIsrOnlyHoldingTheHighWatermarkDurably) {
  PartitionState state;
  state.isr = {NodeId(1), NodeId(2)};
  const Offset end = LeadWithThreeCommittedBatches(state);
  ASSERT_FALSE(HasFailure());
  const absl::Time now = absl::Now();
  ASSERT_EQ(end, partition_->high_watermark());

  // Broker 3 held it all, then came back with an empty disk.
  partition_->OnFollowerFetch(NodeId(3), end, end, now);
  partition_->OnFollowerFetch(NodeId(3), Offset(0), Offset(0), now);
  EXPECT_EQ(std::nullopt, partition_->ProposeIsr(now, absl::Seconds(30)));
  // It fetched up to the end, nothing of it durable yet: still out.
  partition_->OnFollowerFetch(NodeId(3), end, Offset(0), now);
  EXPECT_EQ(std::nullopt, partition_->ProposeIsr(now, absl::Seconds(30)));
  // Durable: in.
  partition_->OnFollowerFetch(NodeId(3), end, end, now);
  EXPECT_EQ((std::vector<NodeId>{NodeId(1), NodeId(2), NodeId(3)}),
            partition_->ProposeIsr(now, absl::Seconds(30)));
}

// NextIsrCheck: when the first ISR follower not heard from runs out of
// its lag, and not before; at once while a replica is outside the ISR;
// never when not leading or with nobody to drop.
TEST_F(PartitionTest, TheNextIsrCheckIsWhenTheFirstIsrFollowerRunsOutOfLag) {
  constexpr absl::Duration kLag = absl::Seconds(30);
  PartitionState state;
  state.isr = {NodeId(1), NodeId(2), NodeId(3)};
  const Offset end = LeadWithThreeCommittedBatches(state);
  ASSERT_FALSE(HasFailure());
  const absl::Time t = MonotonicNow();
  partition_->OnFollowerFetch(NodeId(2), end, end, t);
  partition_->OnFollowerFetch(NodeId(3), end, end, t + absl::Seconds(5));
  const absl::Time due = partition_->NextIsrCheck(kLag);
  EXPECT_EQ(t + kLag + absl::Nanoseconds(1), due);
  EXPECT_EQ(std::nullopt, partition_->ProposeIsr(due - absl::Nanoseconds(1), kLag));
  EXPECT_EQ((std::vector<NodeId>{NodeId(1), NodeId(3)}), partition_->ProposeIsr(due, kLag));
  EXPECT_EQ(due, partition_->NextIsrCheck(kLag)) << "still due until the image drops it";

  PartitionState shrunk = *partition_->state();
  shrunk.isr = {NodeId(1), NodeId(3)};
  shrunk.partition_epoch += 1;
  partition_->SetState(shrunk);
  EXPECT_EQ(absl::InfinitePast(), partition_->NextIsrCheck(kLag)) << "broker 2 may rejoin";

  PartitionState alone = shrunk;
  alone.replicas = {NodeId(1)};
  alone.isr = {NodeId(1)};
  alone.partition_epoch += 1;
  partition_->SetState(alone);
  EXPECT_EQ(absl::InfiniteFuture(), partition_->NextIsrCheck(kLag)) << "nobody to drop";

  PartitionState follower = alone;
  follower.leader = false;
  follower.leader_id = NodeId(2);
  follower.leader_epoch = Epoch(follower.leader_epoch.value() + 1);
  partition_->SetState(follower);
  EXPECT_EQ(absl::InfiniteFuture(), partition_->NextIsrCheck(kLag));
}

// A replica a move took away and a later move gives back starts over: what
// it acknowledged before it left (its log since deleted) does not let it
// rejoin the ISR under the same leader.
TEST_F(PartitionTest, AReplicaRemovedAndAddedBackStartsOverUnderTheSameLeader) {
  PartitionState state;
  state.leader_epoch = Epoch(4);
  state.isr = {NodeId(1), NodeId(2), NodeId(3)};
  const Offset end = LeadWithThreeCommittedBatches(state);
  ASSERT_FALSE(HasFailure());
  const absl::Time now = absl::Now();
  partition_->OnFollowerFetch(NodeId(3), end, end, now);
  ASSERT_EQ(end, partition_->high_watermark());
  state = *partition_->state();  // as the helper completed it

  // A move removes broker 3 (same leader, same epoch) ...
  PartitionState without = state;
  without.replicas = {NodeId(1), NodeId(2)};
  without.isr = {NodeId(1), NodeId(2)};
  partition_->SetState(without);
  // ... and another gives it back, as a new replica outside the ISR.
  PartitionState back = without;
  back.replicas = {NodeId(1), NodeId(2), NodeId(3)};
  partition_->SetState(back);
  EXPECT_EQ(std::nullopt, partition_->ProposeIsr(now, absl::Seconds(30)))
      << "nothing it acknowledged before it left counts";
  partition_->OnFollowerFetch(NodeId(3), end, end, now);
  EXPECT_EQ((std::vector<NodeId>{NodeId(1), NodeId(2), NodeId(3)}),
            partition_->ProposeIsr(now, absl::Seconds(30)));

  // The same seen as one change: broker 3 removed and given back between
  // two images this leader applied. Only the partition epoch moved.
  PartitionState later = back;
  later.partition_epoch = back.partition_epoch + 2;
  partition_->SetState(later);
  EXPECT_EQ(std::nullopt, partition_->ProposeIsr(now, absl::Seconds(30)))
      << "a report from before the change does not count";
  partition_->OnFollowerFetch(NodeId(3), end, end, now);
  EXPECT_EQ((std::vector<NodeId>{NodeId(1), NodeId(2), NodeId(3)}),
            partition_->ProposeIsr(now, absl::Seconds(30)));
}

// A follower the leader asks the controller to add counts toward the high
// watermark before the answer: the controller may commit it to the ISR and
// elect it (a move completing) before this leader hears, so nothing may be
// committed that it lacks (KIP-497). An answer that the controller took
// none of it ends that, as does the next image.
TEST_F(PartitionTest, AFollowerAskedForHoldsTheHighWatermarkUntilTheAnswer) {
  PartitionState state;
  state.isr = {NodeId(1), NodeId(2)};
  const Offset end = LeadWithThreeCommittedBatches(state);
  ASSERT_FALSE(HasFailure());
  const absl::Time now = absl::Now();
  partition_->OnFollowerFetch(NodeId(3), end, end, now);
  ASSERT_EQ((std::vector<NodeId>{NodeId(1), NodeId(2), NodeId(3)}),
            partition_->ProposeIsr(now, absl::Seconds(30)));

  // Broker 2 acknowledges a fourth batch that broker 3 has not fetched.
  auto append_acked_by_2 = [&](int32_t seq) {
    EXPECT_EQ(Partition::LeaderAppend::Outcome::kAppended, Append(Batch(seq)).outcome);
    EXPECT_TRUE(log_->Flush().ok());
    const Offset later = log_->log_end_offset();
    partition_->OnLocalOffset(later);
    partition_->OnFollowerFetch(NodeId(2), later, later, now);
    return later;
  };
  const Offset fourth = append_acked_by_2(3);
  EXPECT_EQ(end, partition_->high_watermark()) << "broker 3 may be the next leader";
  partition_->OnFollowerFetch(NodeId(3), fourth, fourth, now);
  EXPECT_EQ(fourth, partition_->high_watermark());

  // Unanswered, the proposal is made again, and an answer at a later
  // partition epoch (the controller took it) keeps broker 3 counting.
  ASSERT_EQ((std::vector<NodeId>{NodeId(1), NodeId(2), NodeId(3)}),
            partition_->ProposeIsr(now, absl::Seconds(30)));
  partition_->OnIsrAnswer(state.partition_epoch + 1);
  const Offset fifth = append_acked_by_2(4);
  EXPECT_EQ(fourth, partition_->high_watermark());

  // The controller holds the partition as it was: it took none of it.
  partition_->OnIsrAnswer(state.partition_epoch);
  EXPECT_EQ(fifth, partition_->high_watermark());
  const absl::Time later = now + absl::Minutes(1);
  partition_->OnFollowerFetch(NodeId(2), fifth, fifth, later);
  EXPECT_EQ(std::nullopt, partition_->ProposeIsr(later, absl::Seconds(30)))
      << "broker 3, lagging now, is not asked for again";
}

// A newly elected leader answers the latest offset only once its high
// watermark reached the log end it started leading at: until then its
// predecessor may have exposed more, and the end a consumer sees would
// step back (KIP-207).
TEST_F(PartitionTest, ANewLeaderHasNoLatestOffsetUntilItsHighWatermarkCatchesUp) {
  PartitionState follower;
  follower.leader_id = NodeId(2);
  follower.replicas = {NodeId(1), NodeId(2), NodeId(3)};
  follower.isr = follower.replicas;
  partition_->SetState(follower);
  for (int i = 0; i < 3; ++i) Append(Batch(i));
  ASSERT_TRUE(log_->Flush().ok());
  const Offset end = log_->log_end_offset();
  partition_->OnLeaderHighWatermark(Offset(1));

  PartitionState leader = follower;
  leader.leader = true;
  leader.leader_id = NodeId(1);
  leader.leader_epoch = Epoch(1);
  leader.partition_epoch = 1;
  partition_->SetState(leader);
  EXPECT_EQ(Offset(1), partition_->high_watermark());
  EXPECT_EQ(std::nullopt, partition_->LatestOffset());
  partition_->OnFollowerFetch(NodeId(2), end, end, absl::Now());
  EXPECT_EQ(std::nullopt, partition_->LatestOffset()) << "broker 3 has not reported";
  partition_->OnFollowerFetch(NodeId(3), end, end, absl::Now());
  EXPECT_EQ(end, partition_->LatestOffset());
}

}  // namespace
}  // namespace samsa::broker
