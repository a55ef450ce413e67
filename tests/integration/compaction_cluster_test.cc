// Log compaction across real brokers: a compacted topic under keyed writes
// with overwrites and deletes, cleaned on every replica, read from the
// start by new consumers through leader changes (kill -9 included); and
// __consumer_offsets staying small under a group committing all the time.
#include <filesystem>
#include <map>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/producer.h"
#include "common/eventually.h"
#include "common/murmur2.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/harness/broker_ops.h"
#include "tests/harness/cluster.h"
#include "tests/harness/status_assert.h"

namespace samsa::testing {
namespace {

// The value of a metric on broker `b` (0 when absent).
double Metric(Cluster& c, int b, const std::string& name) {
  const std::string page = HttpGet(c.broker_metrics_port(b), "/metrics");
  for (absl::string_view line : absl::StrSplit(page, '\n')) {
    if (!absl::StartsWith(line, name + " ")) continue;
    double v = 0;
    if (absl::SimpleAtod(line.substr(name.size() + 1), &v)) return v;
  }
  return 0;
}

// Waits (up to `timeout`) until every running broker's cleaner has removed
// records; false otherwise.
bool WaitForCleaning(Cluster& c, const std::vector<int>& brokers, double above,
                     absl::Duration timeout = absl::Seconds(60)) {
  return Eventually(
      [&] {
        for (int b : brokers) {
          if (Metric(c, b, "samsa_broker_log_cleaner_records_removed_total") <= above) return false;
        }
        return true;
      },
      timeout, absl::Milliseconds(200));
}

struct Model {
  std::map<std::string, std::optional<std::string>> latest;  // by key, in send order
  int64_t sent = 0;
};

// Sends `rounds` overwrites of `keys` keys (every 7th key deleted in the
// last round) and records what was acknowledged.
void Write(client::Producer& p, Model& m, int keys, int rounds, const std::string& tag) {
  for (int round = 0; round < rounds; ++round) {
    for (int k = 0; k < keys; ++k) {
      client::ProducerRecord r;
      r.topic = "table";
      r.partition = 0;
      r.key = "key-" + std::to_string(k);
      if (!(round == rounds - 1 && k % 7 == 0)) {
        r.value = absl::StrCat(tag, "-", round, "-", k, "-", std::string(80, 'v'));
      }
      m.latest[*r.key] = r.value;
      ++m.sent;
      p.Send(r, [](absl::StatusOr<client::RecordMetadata> md) {
        EXPECT_TRUE(md.ok()) << md.status();
      });
    }
  }
  ASSERT_OK(p.Flush(absl::Seconds(60)));
}

// Reads the whole partition from its start as a new consumer and checks it
// against the model: offsets increasing, and the last record of every key
// its latest value (or tombstone). Returns how many records it read.
int64_t ReadAndCheck(const std::string& bootstrap, const Model& m, const std::string& where) {
  client::ConsumerConfig config;
  config.bootstrap = bootstrap;
  auto consumer = client::Consumer::Create(config);
  EXPECT_TRUE(consumer.ok()) << consumer.status();
  if (!consumer.ok()) return 0;
  const client::TopicPartition tp{"table", 0};
  (*consumer)->Assign({tp});
  EXPECT_OK((*consumer)->Seek(tp, 0));
  absl::StatusOr<int64_t> end = (*consumer)->ListOffset(tp, /*earliest=*/false, absl::Seconds(30));
  EXPECT_TRUE(end.ok()) << end.status();
  if (!end.ok()) return 0;
  std::map<std::string, std::optional<std::string>> seen;
  int64_t last = -1, read = 0;
  (void)Eventually(
      [&] {
        absl::StatusOr<std::vector<client::ConsumerRecord>> records =
            (*consumer)->Poll(absl::Milliseconds(500));
        if (!records.ok()) return false;  // a leader change: the consumer retries
        for (const client::ConsumerRecord& r : *records) {
          EXPECT_GT(r.offset, last) << where;
          last = r.offset;
          ++read;
          EXPECT_TRUE(r.key.has_value()) << where;
          seen[r.key.value_or("")] = r.value;
        }
        if (!records->empty()) {
          absl::StatusOr<int64_t> pos = (*consumer)->Position(tp, absl::Seconds(5));
          if (pos.ok()) last = std::max(last, *pos - 1);
        }
        return last + 1 >= *end;
      },
      absl::Seconds(60), absl::ZeroDuration());
  (*consumer)->Close();
  EXPECT_EQ(*end, last + 1) << where << ": the consumer did not reach the end";
  EXPECT_EQ(m.latest.size(), seen.size()) << where;
  for (const auto& [key, value] : m.latest) {
    auto it = seen.find(key);
    if (it == seen.end()) {
      ADD_FAILURE() << where << ": " << key << " is missing";
      continue;
    }
    EXPECT_EQ(value, it->second) << where << ": " << key;
  }
  return read;
}

int LeaderOf(Cluster& c) {
  int leader = -1;
  (void)Eventually(
      [&] {
        const int now = PartitionOf(c, "table", 0).leader();
        if (now != -1 && c.broker_running(now) && WaitForLeader(c, now, "table", 0)) leader = now;
        return leader != -1;
      },
      absl::Seconds(30), absl::Milliseconds(50));
  return leader;
}

TEST(CompactionClusterTest, EveryReplicaCompactsAndEveryLeaderServesTheLatestValues) {
  ClusterOptions options = FastFailoverCluster();
  options.broker_overrides.push_back("log.cleaner.backoff.ms=100");
  Cluster c(options);
  ASSERT_OK(c.StartAll());
  for (int b : {101, 102, 103}) {
    ASSERT_OK(c.StartBroker(b));
    ASSERT_TRUE(c.WaitForBrokerState(b, v1::BrokerDescription::ACTIVE));
  }
  const std::string bootstrap =
      absl::StrCat(c.broker_address(101), ",", c.broker_address(102), ",", c.broker_address(103));
  auto admin = client::Admin::Create({.bootstrap = bootstrap});
  ASSERT_TRUE(admin.ok()) << admin.status();
  ASSERT_OK((*admin)->CreateTopic("table", 1, 3,
                                  {{"cleanup.policy", "compact"},
                                   {"segment.bytes", "8192"},
                                   {"min.cleanable.dirty.ratio", "0.1"},
                                   {"min.insync.replicas", "2"}}));
  // Records without a key have no place in a compacted topic.
  const int first = LeaderOf(c);
  ASSERT_NE(-1, first);
  v1::ProduceResponse::Partition keyless = ProduceTo(c, first, "table", 0, {"no key"}, -1);
  EXPECT_EQ(v1::INVALID_RECORD, keyless.error().code()) << keyless.error().message();
  EXPECT_THAT(keyless.error().message(), ::testing::HasSubstr("needs a key"));

  client::ProducerConfig pc;
  pc.bootstrap = bootstrap;
  pc.linger = absl::Milliseconds(2);
  pc.delivery_timeout = absl::Seconds(60);
  auto producer = client::Producer::Create(pc);
  ASSERT_TRUE(producer.ok()) << producer.status();
  Model m;
  Write(**producer, m, 150, 12, "a");
  ASSERT_TRUE(WaitForCleaning(c, {101, 102, 103}, 0)) << "every replica cleans on its own";
  const int64_t read = ReadAndCheck(bootstrap, m, "after cleaning");
  EXPECT_LT(read, m.sent / 2) << "compaction removed the overwritten records";

  // kill -9 the leader while its cleaner has fresh work, then read from the
  // next leader; then from the third replica.
  int leader = LeaderOf(c);
  ASSERT_NE(-1, leader);
  Write(**producer, m, 150, 4, "b");
  c.KillBroker(leader);
  const int second = LeaderOf(c);
  ASSERT_NE(-1, second);
  ASSERT_NE(leader, second);
  ReadAndCheck(bootstrap, m, "after kill -9 of the leader");
  Write(**producer, m, 150, 2, "c");
  ASSERT_OK(c.StartBroker(leader));
  ExpectRejoinsIsr(c, leader, "table");
  ASSERT_TRUE(WaitForCleaning(c, {leader}, 0)) << "the restarted replica cleans again";
  c.KillBroker(second);
  const int third = LeaderOf(c);
  ASSERT_NE(-1, third);
  ReadAndCheck(bootstrap, m, "after kill -9 of the second leader");
  ASSERT_OK((*producer)->Close(absl::Seconds(30)));
}

TEST(CompactionClusterTest, ConsumerOffsetsStaySmallUnderConstantCommits) {
  ClusterOptions options = FastFailoverCluster();
  options.broker_overrides.push_back("log.cleaner.backoff.ms=100");
  options.broker_overrides.push_back("offsets.topic.segment.bytes=16384");
  Cluster c(options);
  StartWithTopic(c, "orders-topic");
  if (HasFatalFailure()) return;
  const std::string group = "busy-group";
  const int coordinator = FindCoordinator(c, 101, group);
  ASSERT_NE(-1, coordinator);

  // 100 commits a second for a minute.
  int64_t offset = 0;
  const absl::Time end = absl::Now() + absl::Minutes(1);
  absl::Time next = absl::Now();
  while (absl::Now() < end) {
    v1::OffsetCommitRequest req;
    req.set_group(group);
    req.set_member_epoch(-1);
    v1::OffsetCommitRequest::Partition* p = req.add_partitions();
    p->set_topic("orders-topic");
    p->set_partition(0);
    p->set_offset(++offset);
    v1::OffsetCommitResponse r;
    ASSERT_TRUE(c.broker_stub(coordinator).OffsetCommit(RpcContext().get(), req, &r).ok());
    ASSERT_EQ(v1::NONE, r.error().code()) << r.error().message();
    next += absl::Milliseconds(10);
    absl::SleepFor(next - absl::Now());
  }
  ASSERT_GT(offset, 3000);
  ASSERT_TRUE(WaitForCleaning(c, {coordinator}, static_cast<double>(offset) / 2));

  const int32_t partition = PartitionForKey(group, 3);
  const std::filesystem::path dir = std::filesystem::path(c.broker_data_dir(coordinator)) / "logs" /
                                    absl::StrCat("__consumer_offsets-", partition);
  uintmax_t bytes = 0;
  int segments = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".log") {
      ++segments;
      bytes += entry.file_size();
    }
  }
  EXPECT_LE(segments, 6) << "commits: " << offset;
  EXPECT_LT(bytes, 4 * 16384u) << "commits: " << offset;

  // A coordinator elsewhere loads the same offset from the compacted log.
  c.KillBroker(coordinator);
  const int next_coordinator =
      FindCoordinator(c, coordinator == 101 ? 102 : 101, group, coordinator);
  ASSERT_NE(-1, next_coordinator);
  v1::OffsetFetchResponse fetched;
  (void)Eventually(
      [&] {
        v1::OffsetFetchRequest req;
        req.set_group(group);
        fetched.Clear();
        EXPECT_TRUE(
            c.broker_stub(next_coordinator).OffsetFetch(RpcContext().get(), req, &fetched).ok());
        return fetched.error().code() == v1::NONE && fetched.partitions_size() == 1;
      },
      absl::Seconds(30), absl::Milliseconds(100));
  ASSERT_EQ(1, fetched.partitions_size()) << fetched.ShortDebugString();
  EXPECT_EQ(offset, fetched.partitions(0).offset());
}

}  // namespace
}  // namespace samsa::testing
