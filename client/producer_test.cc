// The producer against a fake broker that loses answers, refuses writes and
// answers out of order: idempotence must still write every record exactly
// once, in order per partition. And batching, linger and back-pressure.
#include "client/producer.h"

#include <map>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/errors.h"
#include "client/fake_broker.h"
#include "gtest/gtest.h"

namespace samsa::client {
namespace {

constexpr int kPartitions = 3;

using testing::FakeBroker;

struct Delivered {
  absl::Mutex mu;
  std::map<int, std::vector<std::pair<int64_t, std::string>>> by_partition ABSL_GUARDED_BY(mu);
  std::vector<std::string> errors ABSL_GUARDED_BY(mu);

  // A delivery callback for `value` that files its outcome here.
  DeliveryCallback For(std::string value) {
    return [this, value = std::move(value)](absl::StatusOr<RecordMetadata> m) {
      absl::MutexLock lock(&mu);
      if (!m.ok()) {
        errors.push_back(std::string(m.status().message()));
        return;
      }
      by_partition[m->partition].emplace_back(m->offset, value);
    };
  }
};

TEST(ProducerTest, LostAnswersAndRefusalsStillWriteEachRecordOnceInOrder) {
  auto fake = std::make_shared<FakeBroker>(kPartitions, /*refuse=*/0.1, /*lose=*/0.1);
  auto producer = Producer::Create({.bootstrap = "fake:1",
                                    .batch_size = 300,
                                    .linger = absl::Milliseconds(1),
                                    .retry_backoff = absl::Milliseconds(2)},
                                   fake);
  ASSERT_TRUE(producer.ok()) << producer.status();
  Delivered delivered;
  constexpr int kRecords = 3000;
  for (int i = 0; i < kRecords; ++i) {
    const std::string value = absl::StrCat("r", i);
    (*producer)->Send({.topic = "t", .key = absl::StrCat("k", i % 17), .value = value},
                      delivered.For(value));
  }
  absl::Status flushed = (*producer)->Flush(absl::Seconds(10));
  ASSERT_TRUE(flushed.ok()) << flushed;
  EXPECT_GT(fake->lost(), 10) << "the faults must have happened";
  EXPECT_GT(fake->refused(), 10);

  absl::MutexLock lock(&delivered.mu);
  EXPECT_TRUE(delivered.errors.empty()) << delivered.errors.front();
  int total = 0;
  for (int p = 0; p < kPartitions; ++p) {
    const std::vector<std::string> log = fake->Log(p);
    const auto& acks = delivered.by_partition[p];
    total += static_cast<int>(acks.size());
    ASSERT_EQ(log.size(), acks.size()) << "partition " << p << ": nothing written twice";
    for (size_t i = 0; i < acks.size(); ++i) {
      EXPECT_EQ(static_cast<int64_t>(i), acks[i].first) << "callbacks run in offset order";
      EXPECT_EQ(log[i], acks[i].second) << "the record is at the offset its callback got";
    }
    // Per key, the records are in the order they were sent.
    std::map<std::string, int> last;
    for (const std::string& v : log) {
      const int n = std::stoi(v.substr(1));
      const std::string key = absl::StrCat(n % 17);
      if (last.contains(key)) {
        EXPECT_LT(last[key], n) << "partition " << p;
      }
      last[key] = n;
    }
  }
  EXPECT_EQ(kRecords, total);
}

// Requests in flight together reach the broker in another order (a gRPC
// server does not serve calls in order): the overtaking batch is refused
// as out of order and must go again as soon as the one before it is
// answered. With an hour of retry backoff, only that keeps Flush short.
TEST(ProducerTest, ABatchThatOvertookItsPredecessorGoesAgainWithoutBackoff) {
  auto fake = std::make_shared<FakeBroker>(1);
  fake->reorder(true);
  auto producer = Producer::Create({.bootstrap = "fake:1",
                                    .batch_size = 300,
                                    .linger = absl::Milliseconds(1),
                                    .retry_backoff = absl::Hours(1)},
                                   fake);
  ASSERT_TRUE(producer.ok()) << producer.status();
  Delivered delivered;
  constexpr int kRecords = 2000;
  for (int i = 0; i < kRecords; ++i) {
    const std::string value = absl::StrCat("r", i);
    (*producer)->Send({.topic = "t", .value = value}, delivered.For(value));
  }
  absl::Status flushed = (*producer)->Flush(absl::Seconds(20));
  ASSERT_TRUE(flushed.ok()) << flushed;
  std::vector<std::string> expected;
  for (int i = 0; i < kRecords; ++i) expected.push_back(absl::StrCat("r", i));
  EXPECT_EQ(expected, fake->Log(0)) << "each record once, in order";
  absl::MutexLock lock(&delivered.mu);
  EXPECT_TRUE(delivered.errors.empty()) << delivered.errors.front();
}

TEST(ProducerTest, ARecordOverTheRequestSizeFailsAtOnceWithItsCode) {
  auto fake = std::make_shared<FakeBroker>(kPartitions);
  auto producer = Producer::Create({.bootstrap = "fake:1", .max_request_size = 1000}, fake);
  ASSERT_TRUE(producer.ok());
  absl::StatusOr<RecordMetadata> m =
      (*producer)->Send({.topic = "t", .value = std::string(2000, 'x')}).get();
  EXPECT_EQ(v1::MESSAGE_TOO_LARGE, KafkaCodeOf(m.status()));
  EXPECT_TRUE(absl::StrContains(m.status().message(), "MESSAGE_TOO_LARGE")) << m.status();
  absl::StatusOr<RecordMetadata> ok = (*producer)->Send({.topic = "t", .value = "small"}).get();
  EXPECT_TRUE(ok.ok()) << ok.status();
}

TEST(ProducerTest, NullKeysStickToAPartitionPerBatch) {
  auto fake = std::make_shared<FakeBroker>(kPartitions);
  auto producer = Producer::Create(
      {.bootstrap = "fake:1", .batch_size = 100000, .linger = absl::Seconds(10)}, fake);
  ASSERT_TRUE(producer.ok());
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> sent;
  for (int i = 0; i < 50; ++i) sent.push_back((*producer)->Send({.topic = "t", .value = "v"}));
  ASSERT_TRUE((*producer)->Flush(absl::Seconds(10)).ok());
  std::set<int> partitions;
  for (auto& f : sent) partitions.insert(f.get()->partition);
  EXPECT_EQ(1u, partitions.size()) << "one open batch collects them all";
}

TEST(ProducerTest, LingerGathersRecordsIntoOneBatchAndBatchSizeSplitsThem) {
  auto fake = std::make_shared<FakeBroker>(kPartitions);
  auto producer = Producer::Create(
      {.bootstrap = "fake:1", .batch_size = 1 << 20, .linger = absl::Seconds(1)}, fake);
  ASSERT_TRUE(producer.ok());
  std::vector<std::future<absl::StatusOr<RecordMetadata>>> sent;
  // Linger long enough that twenty Sends fit in it on a slow build (TSan
  // took over 200 ms for them), so one batch is what linger decides.
  const absl::Time start = absl::Now();
  for (int i = 0; i < 20; ++i) {
    sent.push_back((*producer)->Send({.topic = "t", .partition = 0, .value = "v"}));
  }
  for (auto& f : sent) ASSERT_TRUE(f.get().ok());
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(990)) << "the batch waited for linger";
  EXPECT_EQ(1, fake->produce_requests()) << "twenty records, one batch, one request";

  auto small = Producer::Create(
      {.bootstrap = "fake:1", .batch_size = 300, .linger = absl::Seconds(10)}, fake);
  ASSERT_TRUE(small.ok());
  sent.clear();
  for (int i = 0; i < 20; ++i) {
    sent.push_back((*small)->Send({.topic = "t", .partition = 1, .value = std::string(50, 'x')}));
  }
  ASSERT_TRUE((*small)->Flush(absl::Seconds(10)).ok());
  EXPECT_GE(fake->produce_requests(), 1 + 20 * 71 / 300) << "full batches went without linger";
  EXPECT_EQ(20u, fake->Log(1).size());
}

TEST(ProducerTest, AFullBufferBlocksSendThenFailsIt) {
  auto fake = std::make_shared<FakeBroker>(kPartitions);
  fake->hold(true);  // nothing is acknowledged: the buffer stays full
  auto producer = Producer::Create({.bootstrap = "fake:1",
                                    .linger = absl::ZeroDuration(),
                                    .buffer_memory = 1000,
                                    .max_block = absl::Milliseconds(300)},
                                   fake);
  ASSERT_TRUE(producer.ok());
  auto first = (*producer)->Send({.topic = "t", .partition = 0, .value = std::string(900, 'a')});
  const absl::Time start = absl::Now();
  absl::StatusOr<RecordMetadata> second =
      (*producer)->Send({.topic = "t", .partition = 0, .value = std::string(900, 'b')}).get();
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(290)) << "Send blocked for max_block";
  EXPECT_TRUE(absl::IsResourceExhausted(second.status())) << second.status();
  fake->hold(false);
  EXPECT_TRUE(first.get().ok());
}

// When the buffer is full because its batches keep being refused, the
// error says why (a full buffer alone hides the broker's answer: a topic
// whose ISR is below min.insync.replicas looked like a slow broker).
TEST(ProducerTest, AFullBufferNamesTheErrorItsBatchesAreRetriedFor) {
  auto fake = std::make_shared<FakeBroker>(kPartitions, /*refuse=*/1.0);
  auto producer = Producer::Create({.bootstrap = "fake:1",
                                    .linger = absl::ZeroDuration(),
                                    .delivery_timeout = absl::Seconds(1),
                                    .retry_backoff = absl::Milliseconds(5),
                                    .buffer_memory = 1000,
                                    .max_block = absl::Milliseconds(300)},
                                   fake);
  ASSERT_TRUE(producer.ok());
  auto first = (*producer)->Send({.topic = "t", .partition = 0, .value = std::string(900, 'a')});
  absl::StatusOr<RecordMetadata> second =
      (*producer)->Send({.topic = "t", .partition = 0, .value = std::string(900, 'b')}).get();
  EXPECT_TRUE(absl::IsResourceExhausted(second.status())) << second.status();
  EXPECT_TRUE(
      absl::StrContains(second.status().message(), "t-0's last error: NOT_LEADER_OR_FOLLOWER"))
      << second.status();
  EXPECT_TRUE(absl::IsDeadlineExceeded(first.get().status())) << "failed at delivery.timeout.ms";
}

TEST(ProducerTest, ConfigurationErrorsAreRefused) {
  EXPECT_FALSE(Producer::Create({.bootstrap = "nowhere"}).ok());
  EXPECT_FALSE(Producer::Create({.acks = 2}).ok());
  EXPECT_FALSE(Producer::Create({.acks = 1}).ok()) << "idempotence needs acks=all";
}

}  // namespace
}  // namespace samsa::client
