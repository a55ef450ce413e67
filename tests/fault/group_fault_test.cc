// A consumer group of three `samsa consume --group` processes on six
// partitions; one is killed with SIGKILL: its partitions go to the others
// within the session timeout and every record is read at least once.
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
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
  // the partitions are spread, each member reads some of the second round.
  absl::SleepFor(absl::Seconds(2));
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

}  // namespace
}  // namespace samsa::testing
