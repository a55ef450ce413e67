// A consumer group of three `samsa consume --group` processes on six
// partitions; one is killed with SIGKILL: its partitions go to the others
// within the session timeout and every record is read at least once.
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/admin.h"
#include "gtest/gtest.h"
#include "storage/env.h"
#include "tests/harness/broker_ops.h"
#include "tests/harness/cluster.h"

namespace samsa::testing {
namespace {

constexpr int kPartitions = 6;
constexpr int kSessionTimeoutMs = 2000;

// Every (partition, offset) the consumers printed so far.
std::set<std::pair<int, int64_t>> Seen(const std::vector<std::string>& files) {
  std::set<std::pair<int, int64_t>> seen;
  for (const std::string& f : files) {
    const std::string text = storage::Env::Default()->ReadFile(f).value_or("");
    for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
      std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
      int partition = 0;
      int64_t offset = 0;
      if (fields.size() >= 2 && absl::SimpleAtoi(fields[0], &partition) &&
          absl::SimpleAtoi(fields[1], &offset)) {
        seen.emplace(partition, offset);
      }
    }
  }
  return seen;
}

bool WaitForAll(const std::vector<std::string>& files, int per_partition, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (Seen(files).size() == static_cast<size_t>(kPartitions * per_partition)) return true;
    absl::SleepFor(absl::Milliseconds(100));
  }
  return false;
}

void ProduceRound(Cluster& c, int round) {
  for (int p = 0; p < kPartitions; ++p) {
    std::vector<std::string> values;
    for (int i = 0; i < 50; ++i) values.push_back(absl::StrCat("r", round, "-p", p, "-", i));
    const int leader = PartitionOf(c, "events", p).leader();
    ASSERT_EQ(v1::NONE, ProduceTo(c, leader, "events", p, values, -1).error().code());
  }
}

TEST(GroupFaultTest, AKilledMembersPartitionsMoveToTheOthers) {
  Cluster c(
      {.voters = 1,
       .brokers = 3,
       .broker_overrides = {"offsets.topic.num.partitions=3",
                            absl::StrCat("group.consumer.session.timeout.ms=", kSessionTimeoutMs),
                            "group.consumer.heartbeat.interval.ms=200"}});
  ASSERT_TRUE(c.StartAll().ok());
  std::vector<std::string> addresses;
  for (int b : {101, 102, 103}) {
    ASSERT_TRUE(c.StartBroker(b).ok());
    ASSERT_TRUE(c.WaitForBrokerState(b, v1::BrokerDescription::ACTIVE));
    addresses.push_back(c.DescribeBroker(b).address());
  }
  v1::CreateTopicsRequest create;
  v1::CreateTopicsRequest::Topic* t = create.add_topics();
  t->set_name("events");
  t->set_partitions(kPartitions);
  t->set_replication_factor(3);
  v1::CreateTopicsResponse created;
  ASSERT_TRUE(c.stub(1).CreateTopics(RpcContext().get(), create, &created).ok());
  ASSERT_EQ(v1::NONE, created.results(0).error().code());
  for (int p = 0; p < kPartitions; ++p) {
    ASSERT_TRUE(WaitForLeader(c, PartitionOf(c, "events", p).leader(), "events", p));
  }
  ProduceRound(c, 0);
  if (HasFatalFailure()) return;

  TempDir dir;
  std::vector<std::string> files;
  std::vector<ChildProcess> members;
  for (int m = 0; m < 3; ++m) {
    files.push_back(absl::StrCat(dir.path(), "/member-", m, ".out"));
    const std::string command = absl::StrCat(
        "exec '", SAMSA_CLI_BIN, "' --bootstrap '", absl::StrJoin(addresses, ","),
        "' consume events --group readers --from-beginning --print-partition --print-offset > '",
        files.back(), "'");
    absl::StatusOr<ChildProcess> p = ChildProcess::Spawn(
        "/bin/sh", {"-c", command}, absl::StrCat(dir.path(), "/member-", m, ".err"));
    ASSERT_TRUE(p.ok()) << p.status();
    members.push_back(*std::move(p));
  }
  ASSERT_TRUE(WaitForAll(files, 50, absl::Seconds(30))) << "the group read the first round";
  // The first member may have read all of it before the others joined. Once
  // the group is stable with each member holding partitions, each reads some
  // of the second round.
  auto admin = client::Admin::Create({.bootstrap = absl::StrJoin(addresses, ",")});
  ASSERT_TRUE(admin.ok());
  auto spread = [&] {
    absl::StatusOr<client::GroupDescription> g = (*admin)->DescribeGroup("readers");
    if (!g.ok() || g->state != "stable" || g->members.size() != 3) return false;
    for (const v1::DescribeGroupsResponse::Member& m : g->members) {
      if (m.assignment().topics().empty()) return false;
    }
    return true;
  };
  const absl::Time spread_deadline = absl::Now() + absl::Seconds(30);
  while (!spread() && absl::Now() < spread_deadline) absl::SleepFor(absl::Milliseconds(100));
  ASSERT_TRUE(spread()) << "the group did not settle on three members";
  ProduceRound(c, 1);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitForAll(files, 100, absl::Seconds(30)));
  for (size_t m = 0; m < files.size(); ++m) {
    bool second_round = false;
    for (const auto& [p, offset] : Seen({files[m]})) second_round = second_round || offset >= 50;
    ASSERT_TRUE(second_round) << "member " << m
                              << " owns no partition: the kill would prove nothing";
  }

  // One member dies without a word; new records on every partition must
  // still be read, by the two left, once its session has expired.
  members[0].Kill();
  const absl::Time killed = absl::Now();
  ProduceRound(c, 2);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitForAll(files, 150, absl::Milliseconds(kSessionTimeoutMs) + absl::Seconds(20)))
      << "only " << Seen(files).size() << " of " << kPartitions * 150 << " records were read";
  RecordProperty("takeover_ms", static_cast<int>(absl::ToInt64Milliseconds(absl::Now() - killed)));

  // The survivors stop cleanly (they commit and leave).
  for (int m = 1; m < 3; ++m) EXPECT_EQ(0, members[static_cast<size_t>(m)].Terminate()) << m;
}

// The coordinator of a group killed -9 in the middle of a stream of
// commits: every acknowledged commit is there afterwards, and the offset a
// fetch returns never goes backwards.
TEST(GroupFaultTest, AcknowledgedCommitsSurviveTheCoordinatorsDeathMidStream) {
  Cluster c(FastFailoverCluster());
  StartWithTopic(c, "orders-topic");
  if (HasFatalFailure()) return;
  std::atomic<int> dead{-1};
  // The coordinator as some live broker sees it; -1 while none answers.
  auto coordinator = [&] {
    for (int b : {101, 102, 103}) {
      if (b == dead) continue;
      v1::FindCoordinatorRequest req;
      req.set_group("stream");
      v1::FindCoordinatorResponse r;
      if (c.broker_stub(b).FindCoordinator(RpcContext(absl::Seconds(1)).get(), req, &r).ok() &&
          r.error().code() == v1::NONE && r.node_id() != dead) {
        return r.node_id();
      }
    }
    return -1;
  };
  int first = -1;
  for (absl::Time deadline = absl::Now() + absl::Seconds(30);
       first == -1 && absl::Now() < deadline;) {
    first = coordinator();
  }
  ASSERT_NE(-1, first);

  std::atomic<int64_t> acknowledged{-1};
  std::atomic<bool> stop{false};
  std::thread committer([&] {
    int to = first;
    for (int64_t offset = 1; !stop; ++offset) {
      while (!stop) {
        v1::OffsetCommitRequest req;
        req.set_group("stream");
        req.set_member_epoch(-1);
        v1::OffsetCommitRequest::Partition* p = req.add_partitions();
        p->set_topic("orders-topic");
        p->set_offset(offset);
        v1::OffsetCommitResponse r;
        if (to != -1 &&
            c.broker_stub(to).OffsetCommit(RpcContext(absl::Seconds(3)).get(), req, &r).ok() &&
            r.error().code() == v1::NONE && r.partitions_size() == 1 &&
            r.partitions(0).error().code() == v1::NONE) {
          acknowledged = offset;
          break;
        }
        absl::SleepFor(absl::Milliseconds(20));
        to = coordinator();
      }
    }
  });
  while (acknowledged < 50) absl::SleepFor(absl::Milliseconds(5));
  dead = first;
  c.KillBroker(first);
  const int64_t at_kill = acknowledged;
  // Fetches from whoever coordinates now never see less than what was
  // acknowledged before they were made.
  int64_t last_seen = -1;
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline && acknowledged < at_kill + 50) {
    const int64_t floor = acknowledged;
    const int to = coordinator();
    if (to == -1) continue;
    v1::OffsetFetchRequest req;
    req.set_group("stream");
    v1::OffsetFetchResponse r;
    if (!c.broker_stub(to).OffsetFetch(RpcContext(absl::Seconds(3)).get(), req, &r).ok() ||
        r.error().code() != v1::NONE || r.partitions_size() != 1) {
      continue;
    }
    const int64_t seen = r.partitions(0).offset();
    EXPECT_GE(seen, floor) << "an acknowledged commit is missing";
    EXPECT_GE(seen, last_seen) << "the committed offset went backwards";
    last_seen = seen;
  }
  stop = true;
  committer.join();
  EXPECT_GE(acknowledged, at_kill + 50) << "commits resumed with the new coordinator";
  EXPECT_GE(last_seen, at_kill);
}

}  // namespace
}  // namespace samsa::testing
