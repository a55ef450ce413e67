// A partition leader killed with SIGKILL in the middle of an idempotent
// acks=all stream: failover time, no acknowledged record lost, none written
// twice, and the old leader back in the ISR after a restart.
#include <atomic>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/eventually.h"
#include "gtest/gtest.h"
#include "storage/batch_builder.h"
#include "tests/harness/broker_ops.h"
#include "tests/harness/cluster.h"

namespace samsa::testing {
namespace {

constexpr int kSessionTimeoutMs = 2000;
constexpr int kRecords = 400;
constexpr int kKillAfter = 150;

// What the producer thread saw.
struct Acks {
  absl::Mutex mu;
  std::map<int, int64_t> offset_of ABSL_GUARDED_BY(mu);  // sequence -> offset
  absl::Time last_ack ABSL_GUARDED_BY(mu);
  absl::Time first_ack_after_kill ABSL_GUARDED_BY(mu) = absl::InfiniteFuture();
  int retries ABSL_GUARDED_BY(mu) = 0;
};

// The partition's leader as some live broker's Metadata says, or -1.
int LeaderOf(Cluster& c, int dead, const std::string& topic) {
  for (int b : {101, 102, 103}) {
    if (b == dead) continue;
    v1::MetadataRequest req;
    req.add_topics(topic);
    v1::MetadataResponse md;
    if (c.broker_stub(b).Metadata(RpcContext(absl::Seconds(1)).get(), req, &md).ok() &&
        md.topics_size() == 1 && md.topics(0).partitions_size() == 1 &&
        md.topics(0).partitions(0).leader() != dead) {
      return md.topics(0).partitions(0).leader();
    }
  }
  return -1;
}

TEST(BrokerFaultTest, KillNineOfTheLeaderMidStreamLosesAndDuplicatesNothing) {
  Cluster c({.voters = 1,
             .session_timeout_ms = kSessionTimeoutMs,
             .heartbeat_interval_ms = 200,
             .brokers = 3,
             .broker_overrides = {"replica.lag.time.max.ms=2000"}});
  StartWithTopic(c, "stream");
  if (HasFatalFailure()) return;
  const int first_leader = PartitionOf(c, "stream", 0).leader();
  ASSERT_TRUE(WaitForLeader(c, first_leader, "stream", 0));

  v1::InitProducerIdResponse pid;
  ASSERT_TRUE(c.broker_stub(101).InitProducerId(RpcContext().get(), {}, &pid).ok());
  ASSERT_EQ(v1::NONE, pid.error().code()) << pid.error().message();

  // One record per batch, sequence = record number; a batch whose answer
  // did not come back is sent again, unchanged, to whoever leads now.
  Acks acks;
  std::atomic<int> dead{-1};
  std::atomic<bool> give_up{false};
  std::thread producer([&] {
    int leader = first_leader;
    for (int seq = 0; seq < kRecords && !give_up; ++seq) {
      storage::BatchBuilder b({.producer_id = pid.producer_id(),
                               .producer_epoch = static_cast<int16_t>(pid.producer_epoch()),
                               .base_sequence = seq});
      b.Append(absl::ToUnixMillis(absl::Now()), std::nullopt, absl::StrCat("v", seq));
      v1::ProduceRequest req;
      req.set_acks(-1);
      req.set_timeout_ms(2000);
      v1::ProduceRequest::Topic* t = req.add_topics();
      t->set_name("stream");
      v1::ProduceRequest::Partition* p = t->add_partitions();
      p->set_records(*b.Build());
      while (!give_up) {
        v1::ProduceResponse r;
        const bool answered =
            leader != -1 &&
            c.broker_stub(leader).Produce(RpcContext(absl::Seconds(3)).get(), req, &r).ok() &&
            r.topics_size() == 1;
        if (answered && r.topics(0).partitions(0).error().code() == v1::NONE) {
          absl::MutexLock lock(&acks.mu);
          acks.offset_of[seq] = r.topics(0).partitions(0).base_offset();
          acks.last_ack = absl::Now();
          if (dead != -1 && acks.first_ack_after_kill == absl::InfiniteFuture()) {
            acks.first_ack_after_kill = acks.last_ack;
          }
          break;
        }
        {
          absl::MutexLock lock(&acks.mu);
          ++acks.retries;
        }
        absl::SleepFor(absl::Milliseconds(20));
        leader = LeaderOf(c, dead, "stream");
      }
    }
  });

  auto acked = [&] {
    absl::MutexLock lock(&acks.mu);
    return static_cast<int>(acks.offset_of.size());
  };
  const absl::Time start = absl::Now();
  while (acked() < kKillAfter && absl::Now() - start < absl::Seconds(30)) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  ASSERT_GE(acked(), kKillAfter);
  dead = first_leader;
  const absl::Time killed = absl::Now();
  c.KillBroker(first_leader);

  (void)Eventually([&] { return acked() >= kRecords; }, absl::Seconds(60), absl::Milliseconds(20));
  give_up = true;
  producer.join();
  ASSERT_EQ(kRecords, acked());

  absl::Duration failover;
  int retries = 0;
  std::map<int, int64_t> offsets;
  {
    absl::MutexLock lock(&acks.mu);
    failover = acks.first_ack_after_kill - killed;
    retries = acks.retries;
    offsets = acks.offset_of;
  }
  EXPECT_LE(failover, absl::Milliseconds(kSessionTimeoutMs) + absl::Seconds(2))
      << "the new leader took too long to acknowledge";
  EXPECT_GT(retries, 0) << "the kill went unnoticed: the test proved nothing";

  // Exactly once, in order: record k (sequence k) at offset k, whatever
  // was retried.
  const int leader = LeaderOf(c, first_leader, "stream");
  ASSERT_NE(-1, leader);
  std::vector<std::string> expected;
  for (int seq = 0; seq < kRecords; ++seq) {
    expected.push_back(absl::StrCat("v", seq));
    EXPECT_EQ(seq, offsets[seq]) << "sequence " << seq;
  }
  EXPECT_EQ(expected, FetchAll(c, leader, "stream", 0));

  // The old leader restarts, truncates whatever it alone had, catches up
  // and rejoins the ISR.
  ExpectRejoinsIsr(c, first_leader, "stream");
  std::printf("failover %.0f ms, %d retries\n", absl::ToDoubleMilliseconds(failover), retries);
}

}  // namespace
}  // namespace samsa::testing
