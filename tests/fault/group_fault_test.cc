// A consumer group of three `samsa consume --group` processes on six
// partitions; one is killed with SIGKILL: its partitions go to the others
// within the session timeout, and a checker over what the members printed
// proves no partition had two owners and every record was read at least
// once, twice only where the killed member had not committed.
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/admin.h"
#include "common/eventually.h"
#include "gtest/gtest.h"
#include "storage/env.h"
#include "tests/harness/broker_ops.h"
#include "tests/harness/cluster.h"
#include "tests/harness/status_assert.h"

namespace samsa::testing {
namespace {

constexpr int kPartitions = 6;
constexpr int kSessionTimeoutMs = 2000;

// Each member's printed (partition, offset) lines, in the order printed.
std::vector<std::pair<int, int64_t>> Printed(const std::string& file) {
  std::vector<std::pair<int, int64_t>> out;
  const std::string text = storage::Env::Default()->ReadFile(file).value_or("");
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
    int partition = 0;
    int64_t offset = 0;
    if (fields.size() >= 2 && absl::SimpleAtoi(fields[0], &partition) &&
        absl::SimpleAtoi(fields[1], &offset)) {
      out.emplace_back(partition, offset);
    }
  }
  return out;
}

// Every (partition, offset) the consumers printed so far.
std::set<std::pair<int, int64_t>> Seen(const std::vector<std::string>& files) {
  std::set<std::pair<int, int64_t>> seen;
  for (const std::string& f : files) {
    for (const auto& record : Printed(f)) seen.insert(record);
  }
  return seen;
}

// A member's log is its stdout and stderr in one file, in the order written
// (both come from the thread that polls): records "P\tOFFSET\tVALUE" and
// ownership lines "group G: assigned|revoked|lost T-P ...".
struct Period {  // one stretch of a member's ownership of a partition
  size_t member = 0;
  size_t assigned_at = 0;         // byte position of its "assigned" line in the log
  int64_t first = -1, last = -1;  // offsets printed in it; -1: none
  bool open = true;               // not revoked or lost (yet)
};

// Per partition, the member's periods of ownership, with what it printed in
// each. A record printed outside one is a failure.
std::map<int, std::vector<Period>> Periods(const std::string& log, size_t member) {
  std::map<int, std::vector<Period>> out;
  const std::string text = storage::Env::Default()->ReadFile(log).value_or("");
  size_t pos = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    const size_t at = pos;
    pos += line.size() + 1;
    std::vector<absl::string_view> words = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (words.size() >= 4 && words[0] == "group") {
      for (size_t i = 3; i < words.size(); ++i) {
        int p = 0;
        if (!absl::SimpleAtoi(words[i].substr(words[i].rfind('-') + 1), &p)) continue;
        std::vector<Period>& periods = out[p];
        if (words[2] == "assigned") {
          periods.push_back({.member = member, .assigned_at = at});
        } else if (!periods.empty()) {
          periods.back().open = false;
        }
      }
      continue;
    }
    std::vector<absl::string_view> fields = absl::StrSplit(line, '\t');
    int p = 0;
    int64_t offset = 0;
    if (fields.size() < 2 || !absl::SimpleAtoi(fields[0], &p) ||
        !absl::SimpleAtoi(fields[1], &offset)) {
      continue;
    }
    auto it = out.find(p);
    if (it == out.end() || !it->second.back().open) {
      ADD_FAILURE() << "member " << member << " printed " << p << "/" << offset
                    << " without holding the partition";
      continue;
    }
    Period& period = it->second.back();
    if (period.first < 0) period.first = offset;
    EXPECT_EQ(period.last < 0 ? offset : period.last + 1, offset)
        << "member " << member << " skipped or went back on partition " << p;
    period.last = offset;
  }
  return out;
}

// The partitions a member holds by its log so far.
std::set<int> Holding(const std::string& log) {
  std::set<int> held;
  for (const auto& [p, periods] : Periods(log, 0)) {
    if (periods.back().open) held.insert(p);
  }
  return held;
}

// The ownership checker. A member prints only records of partitions it
// holds, one by one; per partition, the periods of all members in offset
// order hand over exactly: each starts one past where the one before ended
// (its owner committed what it printed before releasing). Only a period
// after the killed member's may start earlier, reading again what it had
// not committed, and that period must have begun after the kill (its
// "assigned" line is past where the member's log ended at the kill), or the
// two held the partition at once.
void CheckOwnership(const std::vector<std::string>& logs, size_t killed,
                    const std::vector<size_t>& log_size_at_kill) {
  std::map<int, std::vector<Period>> all;
  for (size_t m = 0; m < logs.size(); ++m) {
    for (auto& [p, periods] : Periods(logs[m], m)) {
      for (const Period& period : periods) {
        if (period.first >= 0) all[p].push_back(period);
      }
    }
  }
  for (auto& [p, list] : all) {
    // On a tie the killed member's period comes first: the other re-read it.
    std::sort(list.begin(), list.end(), [killed](const Period& a, const Period& b) {
      if (a.first != b.first) return a.first < b.first;
      return (a.member == killed) > (b.member == killed);
    });
    EXPECT_EQ(0, list.front().first) << "partition " << p << " was not read from its start";
    for (size_t i = 1; i < list.size(); ++i) {
      const Period& a = list[i - 1];
      const Period& b = list[i];
      if (a.member == killed && b.first <= a.last) {
        EXPECT_GE(b.first, a.first) << "partition " << p << ": re-read from before the killed "
                                    << "member's period: a commit went backwards";
        EXPECT_GT(b.assigned_at, log_size_at_kill[b.member])
            << "partition " << p << ": member " << b.member << " held it while the killed "
            << "member did";
      } else {
        EXPECT_EQ(a.last + 1, b.first)
            << "partition " << p << ": members " << a.member << " [" << a.first << ", " << a.last
            << "] and " << b.member << " [" << b.first << ", " << b.last
            << "] overlap or leave a gap: two owners, or a commit lost";
      }
    }
  }
}

bool WaitForAll(const std::vector<std::string>& files, int per_partition, absl::Duration timeout) {
  return Eventually(
      [&] { return Seen(files).size() == static_cast<size_t>(kPartitions * per_partition); },
      timeout, absl::Milliseconds(100));
}

void ProduceRound(Cluster& c, int round) {
  for (int p = 0; p < kPartitions; ++p) {
    std::vector<std::string> values;
    for (int i = 0; i < 50; ++i) values.push_back(absl::StrCat("r", round, "-p", p, "-", i));
    const int leader = PartitionOf(c, "events", p).leader();
    ASSERT_EQ(v1::NONE, ProduceTo(c, leader, "events", p, values, -1).error().code());
  }
}

// A cluster of three brokers (session timeout kSessionTimeoutMs) with the
// topic "events" (kPartitions partitions, RF 3) holding round 0 of
// ProduceRound; their addresses.
ClusterOptions EventsCluster() {
  return {
      .voters = 1,
      .brokers = 3,
      .broker_overrides = {"offsets.topic.num.partitions=3",
                           absl::StrCat("group.consumer.session.timeout.ms=", kSessionTimeoutMs),
                           "group.consumer.heartbeat.interval.ms=200"}};
}

void StartWithEvents(Cluster& c, std::vector<std::string>* addresses) {
  ASSERT_OK(c.StartAll());
  for (int b : {101, 102, 103}) {
    ASSERT_OK(c.StartBroker(b));
    ASSERT_TRUE(c.WaitForBrokerState(b, v1::BrokerDescription::ACTIVE));
    addresses->push_back(c.DescribeBroker(b).address());
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
}

// `samsa consume events --group readers` writing its log to `log`.
ChildProcess SpawnMember(const std::vector<std::string>& addresses, const std::string& log,
                         const std::string& extra_flags) {
  const std::string command = absl::StrCat(
      "exec '", SAMSA_CLI_BIN, "' --bootstrap '", absl::StrJoin(addresses, ","),
      "' consume events --group readers --from-beginning --print-partition --print-offset ",
      extra_flags, " > '", log, "' 2>&1");
  absl::StatusOr<ChildProcess> p = ChildProcess::Spawn("/bin/sh", {"-c", command}, log + ".sh");
  EXPECT_TRUE(p.ok()) << p.status();
  return *std::move(p);
}

// Until group "readers" is stable with `n` members, each holding partitions.
bool WaitForSpread(client::Admin& admin, size_t n) {
  auto spread = [&] {
    absl::StatusOr<client::GroupDescription> g = admin.DescribeGroup("readers");
    if (!g.ok() || g->state != "stable" || g->members.size() != n) return false;
    for (const v1::DescribeGroupsResponse::Member& m : g->members) {
      if (m.assignment().topics().empty()) return false;
    }
    return true;
  };
  return Eventually(spread, absl::Seconds(30), absl::Milliseconds(100));
}

TEST(GroupFaultTest, AKilledMembersPartitionsMoveToTheOthers) {
  Cluster c(EventsCluster());
  std::vector<std::string> addresses;
  StartWithEvents(c, &addresses);
  if (HasFatalFailure()) return;

  TempDir dir;
  std::vector<std::string> files;
  std::vector<ChildProcess> members;
  for (int m = 0; m < 3; ++m) {
    files.push_back(absl::StrCat(dir.path(), "/member-", m, ".out"));
    members.push_back(SpawnMember(addresses, files.back(), ""));
  }
  ASSERT_TRUE(WaitForAll(files, 50, absl::Seconds(30))) << "the group read the first round";
  // The first member may have read all of it before the others joined. Once
  // the group is stable with each member holding partitions, each reads some
  // of the second round.
  auto admin = client::Admin::Create({.bootstrap = absl::StrJoin(addresses, ",")});
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE(WaitForSpread(**admin, 3)) << "the group did not settle on three members";
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
  ASSERT_FALSE(Holding(files[0]).empty());
  members[0].Kill();
  std::vector<size_t> size_at_kill;
  for (const std::string& f : files) {
    size_at_kill.push_back(storage::Env::Default()->ReadFile(f).value_or("").size());
  }
  const absl::Time killed = absl::Now();
  ProduceRound(c, 2);
  if (HasFatalFailure()) return;
  auto taken_over = [&] {
    std::set<int> held = Holding(files[1]);
    held.merge(Holding(files[2]));
    return held.size() == static_cast<size_t>(kPartitions);
  };
  while (!taken_over() && absl::Now() - killed < absl::Seconds(30)) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  const absl::Duration takeover = absl::Now() - killed;
  ASSERT_TRUE(taken_over()) << "the survivors did not take partitions of the killed member";
  // Within the session timeout, plus a heartbeat and the coordinator's
  // expiry sweep (and slack for a loaded machine).
  EXPECT_LT(takeover, absl::Milliseconds(kSessionTimeoutMs) + absl::Seconds(3));
  RecordProperty("takeover_ms", static_cast<int>(absl::ToInt64Milliseconds(takeover)));
  ASSERT_TRUE(WaitForAll(files, 150, absl::Seconds(20)))
      << "only " << Seen(files).size() << " of " << kPartitions * 150 << " records were read";

  // The survivors stop cleanly (they commit and leave).
  for (int m = 1; m < 3; ++m) {
    const int exit_code = members[static_cast<size_t>(m)].Terminate();
    const std::string log =
        storage::Env::Default()->ReadFile(files[static_cast<size_t>(m)]).value_or("");
    EXPECT_EQ(0, exit_code) << "member " << m << " ended its log with: "
                            << log.substr(log.rfind('\n', log.size() - 2) + 1);
    EXPECT_EQ(std::string::npos, log.find(": lost")) << "member " << m << " was fenced";
  }
  CheckOwnership(files, 0, size_at_kill);
}

// A static member (--group-instance-id) that stops and starts again within
// the session timeout gets its partitions back; meanwhile nobody else takes
// them and the group does not rebalance.
TEST(GroupFaultTest, AStaticMemberGetsItsPartitionsBackAfterARestart) {
  Cluster c(EventsCluster());
  std::vector<std::string> addresses;
  StartWithEvents(c, &addresses);
  if (HasFatalFailure()) return;
  TempDir dir;
  std::vector<std::string> files = {absl::StrCat(dir.path(), "/static.out"),
                                    absl::StrCat(dir.path(), "/dynamic.out")};
  ChildProcess fixed = SpawnMember(addresses, files[0], "--group-instance-id host-a");
  ChildProcess dynamic = SpawnMember(addresses, files[1], "");
  auto admin = client::Admin::Create({.bootstrap = absl::StrJoin(addresses, ",")});
  ASSERT_TRUE(admin.ok());
  ASSERT_TRUE(WaitForSpread(**admin, 2)) << "the group did not settle on two members";
  // Until both logs show the group's settled assignment: every partition held.
  auto logged = [&] {
    std::set<int> held = Holding(files[0]);
    held.merge(Holding(files[1]));
    return held.size() == static_cast<size_t>(kPartitions);
  };
  ASSERT_TRUE(Eventually(logged, absl::Seconds(10), absl::Milliseconds(20)))
      << "the members did not log the group's assignment";
  const std::set<int> static_had = Holding(files[0]);
  const std::set<int> dynamic_had = Holding(files[1]);
  ASSERT_FALSE(static_had.empty());
  absl::StatusOr<client::GroupDescription> before = (*admin)->DescribeGroup("readers");
  ASSERT_TRUE(before.ok());

  ASSERT_EQ(0, fixed.Terminate());  // commits and leaves for a restart
  absl::SleepFor(absl::Milliseconds(kSessionTimeoutMs / 4));
  absl::StatusOr<client::GroupDescription> away = (*admin)->DescribeGroup("readers");
  ASSERT_TRUE(away.ok());
  ASSERT_EQ(2u, away->members.size());
  EXPECT_EQ(1, std::count_if(away->members.begin(), away->members.end(), [](const auto& m) {
              return m.left() && m.instance_id() == "host-a";
            }));
  EXPECT_EQ(before->epoch, away->epoch) << "leaving for a restart is no rebalance";
  EXPECT_EQ(dynamic_had, Holding(files[1])) << "the static member's partitions were taken";

  files.push_back(absl::StrCat(dir.path(), "/static-again.out"));
  ChildProcess again = SpawnMember(addresses, files[2], "--group-instance-id host-a");
  (void)Eventually([&] { return Holding(files[2]) == static_had; }, absl::Seconds(10),
                   absl::Milliseconds(20));
  EXPECT_EQ(static_had, Holding(files[2]));
  EXPECT_EQ(dynamic_had, Holding(files[1]));
  absl::StatusOr<client::GroupDescription> after = (*admin)->DescribeGroup("readers");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(before->epoch, after->epoch);

  ProduceRound(c, 1);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(WaitForAll(files, 100, absl::Seconds(20)));
  EXPECT_EQ(0, again.Terminate());
  EXPECT_EQ(0, dynamic.Terminate());
  CheckOwnership(files, files.size(), {});
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
  ASSERT_TRUE(Eventually(
      [&] {
        first = coordinator();
        return first != -1;
      },
      absl::Seconds(30)));

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
  (void)Eventually(
      [&] {
        const int64_t floor = acknowledged;
        const int to = coordinator();
        v1::OffsetFetchRequest req;
        req.set_group("stream");
        v1::OffsetFetchResponse r;
        if (to != -1 &&
            c.broker_stub(to).OffsetFetch(RpcContext(absl::Seconds(3)).get(), req, &r).ok() &&
            r.error().code() == v1::NONE && r.partitions_size() == 1) {
          const int64_t seen = r.partitions(0).offset();
          EXPECT_GE(seen, floor) << "an acknowledged commit is missing";
          EXPECT_GE(seen, last_seen) << "the committed offset went backwards";
          last_seen = seen;
        }
        return acknowledged >= at_kill + 50;
      },
      absl::Seconds(30), absl::ZeroDuration());
  stop = true;
  committer.join();
  EXPECT_GE(acknowledged, at_kill + 50) << "commits resumed with the new coordinator";
  EXPECT_GE(last_seen, at_kill);
}

}  // namespace
}  // namespace samsa::testing
