#include "broker/group_coordinator.h"

#include "common/murmur2.h"
#include "gtest/gtest.h"
#include "rocksdb/env.h"
#include "storage/record_batch.h"

namespace samsa::broker {
namespace {

const absl::Time kNow = absl::FromUnixSeconds(1700000000);
const std::map<std::string, int32_t> kTopics = {{"orders-topic", 2}};

// __consumer_offsets in memory: appends commit at once (or fail with
// `fail_with`).
class MemoryOffsetsLog final : public OffsetsLog {
 public:
  void Append(PartitionId partition, std::string batch,
              absl::AnyInvocable<void(v1::ErrorCode, std::string)> done) override {
    if (fail_with != v1::NONE) return done(fail_with, "the log refused");
    const Offset next = LogEnd(partition);
    storage::StampBatch({reinterpret_cast<uint8_t*>(batch.data()), batch.size()}, next,
                        Epoch(epoch));
    logs[partition].push_back(std::move(batch));
    done(v1::NONE, "");
  }
  absl::StatusOr<std::string> ReadCommitted(PartitionId partition, Offset from) override {
    if (from > LogEnd(partition)) return absl::OutOfRangeError("past the log end");
    const Offset hw = HighWatermark(partition);
    std::string out;
    for (const std::string& b : logs[partition]) {
      const Offset last = Header(b).last_offset();
      if (last >= from && last < hw) out += b;
    }
    return out;
  }

  Offset LogEnd(PartitionId partition) override {
    const std::vector<std::string>& log = logs[partition];
    return log.empty() ? Offset(0) : Header(log.back()).last_offset() + 1;
  }
  Offset HighWatermark(PartitionId partition) override {
    return LogEnd(partition) - (hw_lag > 0 ? hw_lag : 0);
  }

  Offset EndOffsetForEpoch(PartitionId partition, Epoch e) override {
    // The first offset of a later epoch, else the log end.
    for (const std::string& b : logs[partition]) {
      const storage::BatchHeader h = Header(b);
      if (h.leader_epoch > e) return h.base_offset;
    }
    return LogEnd(partition);
  }

  std::map<PartitionId, std::vector<std::string>> logs;
  int64_t hw_lag = 0;  // how far the high watermark trails the log end
  int32_t epoch = 0;   // the leader epoch appends are stamped with
  v1::ErrorCode fail_with = v1::NONE;

 private:
  static storage::BatchHeader Header(const std::string& b) {
    return *storage::ParseBatchHeader({reinterpret_cast<const uint8_t*>(b.data()), b.size()});
  }
};

class GroupCoordinatorTest : public ::testing::Test {
 protected:
  GroupCoordinatorTest() : env_(rocksdb::NewMemEnv(rocksdb::Env::Default())) {
    store_ = *OffsetStore::Open("/offsets", env_.get());
    coordinator_ = std::make_unique<GroupCoordinator>(GroupCoordinatorOptions{
        .session_timeout = absl::Seconds(10), .log = &log_, .store = store_.get()});
    coordinator_->SetLeadership(
        5, {PartitionId(0), PartitionId(1), PartitionId(2), PartitionId(3), PartitionId(4)});
  }

  v1::OffsetCommitResponse Commit(const std::string& group, const std::string& member,
                                  int32_t epoch, int32_t partition, int64_t offset) {
    v1::OffsetCommitRequest req;
    req.set_group(group);
    req.set_member_id(member);
    req.set_member_epoch(epoch);
    v1::OffsetCommitRequest::Partition* p = req.add_partitions();
    p->set_topic("orders-topic");
    p->set_partition(partition);
    p->set_offset(offset);
    v1::OffsetCommitResponse out;
    coordinator_->OffsetCommit(req, kNow, [&](v1::OffsetCommitResponse r) { out = std::move(r); });
    return out;
  }
  int64_t Fetch(const std::string& group, int32_t partition) {
    v1::OffsetFetchRequest req;
    req.set_group(group);
    v1::TopicPartition* tp = req.add_partitions();
    tp->set_topic("orders-topic");
    tp->set_partition(partition);
    v1::OffsetFetchResponse r = coordinator_->OffsetFetch(req);
    EXPECT_EQ(v1::NONE, r.error().code()) << r.error().message();
    return r.partitions_size() == 1 ? r.partitions(0).offset() : -2;
  }
  v1::ConsumerGroupHeartbeatResponse Join(const std::string& group) {
    v1::ConsumerGroupHeartbeatRequest req;
    req.set_group(group);
    req.mutable_subscription()->add_topics("orders-topic");
    return coordinator_->Heartbeat(req, kTopics, kNow);
  }
  void Leave(const std::string& group, const std::string& member) {
    v1::ConsumerGroupHeartbeatRequest req;
    req.set_group(group);
    req.set_member_id(member);
    req.set_member_epoch(-1);
    EXPECT_EQ(v1::NONE, coordinator_->Heartbeat(req, kTopics, kNow).error().code());
  }

  MemoryOffsetsLog log_;
  std::unique_ptr<rocksdb::Env> env_;
  std::unique_ptr<OffsetStore> store_;
  std::unique_ptr<GroupCoordinator> coordinator_;
};

TEST_F(GroupCoordinatorTest, TwoGroupsKeepTheirOwnOffsets) {
  EXPECT_EQ(v1::NONE, Commit("group-A", "", -1, 0, 3).partitions(0).error().code());
  EXPECT_EQ(v1::NONE, Commit("group-B", "", -1, 0, 1).partitions(0).error().code());
  EXPECT_EQ(v1::NONE, Commit("group-A", "", -1, 0, 5).partitions(0).error().code());
  EXPECT_EQ(5, Fetch("group-A", 0));
  EXPECT_EQ(1, Fetch("group-B", 0));
  EXPECT_EQ(-1, Fetch("group-A", 1)) << "nothing committed";
  // Each commit is one batch in its group's partition of __consumer_offsets.
  size_t batches = 0;
  for (const auto& [p, log] : log_.logs) batches += log.size();
  EXPECT_EQ(3u, batches);
  EXPECT_FALSE(log_.logs[PartitionId(PartitionForKey("group-A", 5))].empty());
  EXPECT_FALSE(log_.logs[PartitionId(PartitionForKey("group-B", 5))].empty());
}

TEST_F(GroupCoordinatorTest, MembersCommitWithTheirEpochStandaloneOnlyWhenEmpty) {
  v1::ConsumerGroupHeartbeatResponse m = Join("g");
  ASSERT_EQ(v1::NONE, m.error().code());
  EXPECT_EQ(2, m.assignment().topics(0).partitions_size());
  EXPECT_EQ(v1::NONE, Commit("g", m.member_id(), m.member_epoch(), 0, 7).error().code());
  EXPECT_EQ(v1::STALE_MEMBER_EPOCH,
            Commit("g", m.member_id(), m.member_epoch() - 1, 0, 8).error().code());
  EXPECT_EQ(v1::UNKNOWN_MEMBER_ID, Commit("g", "", -1, 0, 9).error().code())
      << "a standalone commit to a group with members";
  EXPECT_EQ(7, Fetch("g", 0));
}

TEST_F(GroupCoordinatorTest, GroupsOfPartitionsLedElsewhereAreRefused) {
  const int32_t mine = PartitionForKey("g", 5);
  std::set<PartitionId> others;
  for (int32_t p = 0; p < 5; ++p) {
    if (p != mine) others.insert(PartitionId(p));
  }
  coordinator_->SetLeadership(5, others);
  EXPECT_EQ(v1::NOT_COORDINATOR, Join("g").error().code());
  EXPECT_EQ(v1::NOT_COORDINATOR, Commit("g", "", -1, 0, 1).error().code());
  v1::OffsetFetchRequest req;
  req.set_group("g");
  EXPECT_EQ(v1::NOT_COORDINATOR, coordinator_->OffsetFetch(req).error().code());
  v1::OffsetFetchRequest empty;
  EXPECT_EQ(v1::INVALID_GROUP_ID, coordinator_->OffsetFetch(empty).error().code());
  GroupCoordinator before_topic({.log = &log_, .store = store_.get()});
  EXPECT_EQ(v1::COORDINATOR_NOT_AVAILABLE, before_topic.OffsetFetch(req).error().code())
      << "__consumer_offsets does not exist yet";
}

TEST_F(GroupCoordinatorTest, AFailedAppendFailsTheCommitAndBadOffsetsAreRefused) {
  log_.fail_with = v1::NOT_ENOUGH_REPLICAS;
  EXPECT_EQ(v1::NOT_ENOUGH_REPLICAS, Commit("g", "", -1, 0, 3).partitions(0).error().code());
  log_.fail_with = v1::NONE;
  EXPECT_EQ(-1, Fetch("g", 0)) << "nothing was committed";
  EXPECT_EQ(v1::INVALID_COMMIT_OFFSET_SIZE,
            Commit("g", "", -1, 0, -5).partitions(0).error().code());
}

TEST_F(GroupCoordinatorTest, AFollowerReplicaMaterializesWhatItCopied) {
  ASSERT_EQ(v1::NONE, Commit("g", "", -1, 1, 42).partitions(0).error().code());
  // A second broker holding the same log (a follower) and its own store.
  auto env = std::unique_ptr<rocksdb::Env>(rocksdb::NewMemEnv(rocksdb::Env::Default()));
  auto store = *OffsetStore::Open("/follower", env.get());
  GroupCoordinator follower({.log = &log_, .store = store.get()});
  const PartitionId p(PartitionForKey("g", 5));
  ASSERT_TRUE(follower.Materialize(p).ok());
  EXPECT_EQ(42, (*store->Get(p, "g", "orders-topic", PartitionId(1)))->offset());
  // When it becomes the coordinator, fetches are served at once.
  follower.SetLeadership(5, {p});
  v1::OffsetFetchRequest req;
  req.set_group("g");
  v1::OffsetFetchResponse r = follower.OffsetFetch(req);
  ASSERT_EQ(1, r.partitions_size());
  EXPECT_EQ(42, r.partitions(0).offset());
}

TEST_F(GroupCoordinatorTest, AReplicaTruncatedBelowWhatItAppliedReplaysItsLog) {
  ASSERT_EQ(v1::NONE, Commit("g", "", -1, 0, 10).partitions(0).error().code());
  ASSERT_EQ(v1::NONE, Commit("g", "", -1, 0, 20).partitions(0).error().code());
  EXPECT_EQ(20, Fetch("g", 0));
  // The second commit was never replicated: a new leader's log wins and
  // this replica keeps only the first.
  std::vector<std::string>& log = log_.logs[PartitionId(PartitionForKey("g", 5))];
  log.pop_back();
  EXPECT_EQ(10, Fetch("g", 0)) << "the store forgot what the log lost";

  // Truncated again and regrown past what was applied, by a newer leader:
  // the log end alone cannot tell, the epochs can.
  ASSERT_EQ(v1::NONE, Commit("g", "", -1, 0, 30).partitions(0).error().code());
  EXPECT_EQ(30, Fetch("g", 0));
  log.pop_back();
  log_.epoch = 1;
  ASSERT_EQ(v1::NONE, Commit("g", "", -1, 1, 99).partitions(0).error().code());
  EXPECT_EQ(10, Fetch("g", 0)) << "the overwritten commit of 30 is forgotten";
}

TEST_F(GroupCoordinatorTest, ANewCoordinatorWaitsForItsHighWatermarkToReachItsLogEnd) {
  ASSERT_EQ(v1::NONE, Commit("g", "", -1, 0, 10).partitions(0).error().code());
  ASSERT_EQ(v1::NONE, Commit("g", "", -1, 0, 20).partitions(0).error().code());
  const PartitionId p(PartitionForKey("g", 5));
  // Another broker takes over while its high watermark still trails its log
  // (the last commit is in its log but not yet known committed).
  auto env = std::unique_ptr<rocksdb::Env>(rocksdb::NewMemEnv(rocksdb::Env::Default()));
  auto store = *OffsetStore::Open("/next", env.get());
  GroupCoordinator next({.log = &log_, .store = store.get()});
  log_.hw_lag = 1;
  next.SetLeadership(5, {p});
  v1::OffsetFetchRequest req;
  req.set_group("g");
  EXPECT_EQ(v1::COORDINATOR_LOAD_IN_PROGRESS, next.OffsetFetch(req).error().code())
      << "serving now would answer 10 for an acknowledged 20";
  log_.hw_lag = 0;  // the followers fetched
  v1::OffsetFetchResponse r = next.OffsetFetch(req);
  ASSERT_EQ(v1::NONE, r.error().code());
  EXPECT_EQ(20, r.partitions(0).offset());
}

TEST_F(GroupCoordinatorTest, GroupsAreListedDescribedAndDeletedWhenEmpty) {
  ASSERT_EQ(v1::NONE, Commit("idle", "", -1, 0, 4).partitions(0).error().code());
  v1::ConsumerGroupHeartbeatResponse m = Join("busy");
  ASSERT_EQ(v1::NONE, Commit("busy", m.member_id(), m.member_epoch(), 1, 2).error().code());

  v1::ListGroupsResponse listed = coordinator_->ListGroups();
  ASSERT_EQ(2, listed.groups_size());
  EXPECT_EQ("busy", listed.groups(0).group());
  EXPECT_EQ(1, listed.groups(0).members());
  EXPECT_EQ("idle", listed.groups(1).group());
  EXPECT_EQ("empty", listed.groups(1).state());

  v1::DescribeGroupsRequest describe;
  describe.add_groups("busy");
  describe.add_groups("nobody");
  v1::DescribeGroupsResponse d = coordinator_->DescribeGroups(describe);
  ASSERT_EQ(2, d.groups_size());
  ASSERT_EQ(v1::NONE, d.groups(0).error().code());
  ASSERT_EQ(1, d.groups(0).members_size());
  EXPECT_EQ(m.member_id(), d.groups(0).members(0).member_id());
  ASSERT_EQ(1, d.groups(0).offsets_size());
  EXPECT_EQ(2, d.groups(0).offsets(0).committed());
  EXPECT_EQ(m.member_id(), d.groups(0).offsets(0).owner());
  EXPECT_EQ(v1::GROUP_ID_NOT_FOUND, d.groups(1).error().code());

  v1::DeleteGroupsRequest del;
  del.add_groups("busy");
  del.add_groups("idle");
  del.add_groups("nobody");
  v1::DeleteGroupsResponse deleted;
  coordinator_->DeleteGroups(del, [&](v1::DeleteGroupsResponse r) { deleted = std::move(r); });
  ASSERT_EQ(3, deleted.results_size());
  EXPECT_EQ(v1::NON_EMPTY_GROUP, deleted.results(0).error().code());
  EXPECT_EQ(v1::NONE, deleted.results(1).error().code());
  EXPECT_EQ(v1::GROUP_ID_NOT_FOUND, deleted.results(2).error().code());
  EXPECT_EQ(-1, Fetch("idle", 0)) << "its offsets are gone";
  EXPECT_EQ(1, coordinator_->ListGroups().groups_size());
}

TEST_F(GroupCoordinatorTest, OffsetsOfGroupsWithoutMembersExpire) {
  ASSERT_EQ(v1::NONE, Commit("old", "", -1, 0, 4).partitions(0).error().code());
  v1::ConsumerGroupHeartbeatResponse m = Join("live");
  ASSERT_EQ(v1::NONE, Commit("live", m.member_id(), m.member_epoch(), 0, 2).error().code());
  coordinator_->ExpireOffsets(kNow + absl::Hours(24 * 6), absl::Hours(24 * 7));
  EXPECT_EQ(4, Fetch("old", 0)) << "not yet";
  coordinator_->ExpireOffsets(kNow + absl::Hours(24 * 8), absl::Hours(24 * 7));
  EXPECT_EQ(-1, Fetch("old", 0)) << "a week after its last commit, without members";
  EXPECT_EQ(2, Fetch("live", 0)) << "a group with members keeps its offsets";
}

// KIP-211: a member that stays, idle, without committing keeps its group's
// offsets; once it leaves, retention counts from when the group was last
// seen with members, not from its old commit.
TEST_F(GroupCoordinatorTest, RetentionCountsFromWhenTheGroupWasLastInUse) {
  v1::ConsumerGroupHeartbeatResponse m = Join("idle");
  ASSERT_EQ(v1::NONE, Commit("idle", m.member_id(), m.member_epoch(), 0, 7).error().code());
  const absl::Duration week = absl::Hours(24 * 7);
  coordinator_->ExpireOffsets(kNow + absl::Hours(24 * 10), week);
  EXPECT_EQ(7, Fetch("idle", 0)) << "in use, ten days after its commit";
  Leave("idle", m.member_id());
  coordinator_->ExpireOffsets(kNow + absl::Hours(24 * 16), week);
  EXPECT_EQ(7, Fetch("idle", 0)) << "six days after it was last seen in use";
  coordinator_->ExpireOffsets(kNow + absl::Hours(24 * 18), week);
  EXPECT_EQ(-1, Fetch("idle", 0)) << "eight days after";
}

}  // namespace
}  // namespace samsa::broker
