#include "broker/replica_manager.h"

#include "broker/in_process_network.h"

#include <algorithm>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/await.h"
#include "common/eventually.h"
#include "common/metadata_records.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/batch_builder.h"
#include "storage/mem_env.h"
#include "storage/record_batch.h"

namespace samsa::broker {
namespace {

using samsa::testing::Eventually;

using ::testing::HasSubstr;

const NodeId kSelf(1);
const Uuid kTopic{4, 2};

// Broker 1 (this one) and 2; topic "t" with partition 0 led here (replicas
// `p0`), partition 1 led by broker 2; `configs` on the topic.
std::shared_ptr<const MetadataImage> Image(std::vector<NodeId> p0 = {kSelf},
                                           std::map<std::string, std::string> configs = {},
                                           Uuid topic = kTopic) {
  MetadataImage image;
  v1::MetadataBatch b;
  *b.add_records() = records::RegisterBroker(NodeId(1), Uuid{1, 1}, 1, "127.0.0.1:1", "");
  *b.add_records() = records::RegisterBroker(NodeId(2), Uuid{1, 2}, 2, "127.0.0.1:2", "");
  *b.add_records() = records::Topic("t", topic);
  PartitionImage mine;
  mine.replicas = p0;
  mine.isr = p0;
  mine.leader = kSelf;
  *b.add_records() = records::Partition(topic, 0, mine);
  PartitionImage theirs;
  theirs.replicas = {NodeId(2), kSelf};
  theirs.isr = theirs.replicas;
  theirs.leader = NodeId(2);
  *b.add_records() = records::Partition(topic, 1, theirs);
  for (const auto& [k, v] : configs) *b.add_records() = records::Config(topic, k, v);
  EXPECT_TRUE(image.Apply(b, 10).ok());
  return std::make_shared<const MetadataImage>(std::move(image));
}

// Brokers 1 (this one) and 2; each of `topics` (name, id) with `partitions`
// partitions led here, replicas and ISR both brokers.
MetadataImage LedHereFollowedBy2(std::vector<std::pair<std::string, Uuid>> topics, int partitions) {
  MetadataImage image;
  v1::MetadataBatch b;
  *b.add_records() = records::RegisterBroker(NodeId(1), Uuid{1, 1}, 1, "127.0.0.1:1", "");
  *b.add_records() = records::RegisterBroker(NodeId(2), Uuid{1, 2}, 2, "127.0.0.1:2", "");
  PartitionImage led;
  led.replicas = {kSelf, NodeId(2)};
  led.isr = led.replicas;
  led.leader = kSelf;
  for (const auto& [name, id] : topics) {
    *b.add_records() = records::Topic(name, id);
    for (int p = 0; p < partitions; ++p) *b.add_records() = records::Partition(id, p, led);
  }
  EXPECT_TRUE(image.Apply(b, 10).ok());
  return image;
}

class ReplicaManagerTest : public ::testing::Test {
 protected:
  ReplicaManagerTest() : env_(storage::NewMemEnv()) {
    replicas_ = *ReplicaManager::Open(Options());
  }

  // This broker's options: on `env_` and `clock_`, its followers fetching
  // over `network_` (where broker 2 is unreachable unless a test joins one).
  ReplicaManagerOptions Options(std::string data_dir = "/broker") {
    return {.self = kSelf,
            .data_dir = std::move(data_dir),
            .env = env_.get(),
            .clock = &clock_,
            .replica_channel = network_.Channels()};
  }

  v1::ProduceResponse::Partition Produce(int partition, std::vector<std::string> values,
                                         int acks = 1, int timeout_ms = 1000) {
    v1::ProduceRequest req;
    req.set_acks(acks);
    req.set_timeout_ms(timeout_ms);
    v1::ProduceRequest::Topic* t = req.add_topics();
    t->set_name("t");
    v1::ProduceRequest::Partition* p = t->add_partitions();
    p->set_partition(partition);
    for (const std::string& v : values) {
      v1::Record* r = p->add_plain();
      r->set_key("k");
      r->set_value(v);
    }
    return Send(req);
  }

  v1::ProduceResponse::Partition Send(const v1::ProduceRequest& req) {
    return Send(*replicas_, req);
  }
  static v1::ProduceResponse::Partition Send(ReplicaManager& to, const v1::ProduceRequest& req) {
    absl::Notification done;
    v1::ProduceResponse out;
    to.Produce(req, [&](v1::ProduceResponse r) {
      out = std::move(r);
      done.Notify();
    });
    EXPECT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(20)));
    return out.topics(0).partitions(0);
  }

  v1::FetchResponse::Partition Fetch(int partition, int64_t offset, int epoch = -1) {
    v1::FetchRequest req;
    req.set_decoded(true);
    v1::FetchRequest::Topic* t = req.add_topics();
    t->set_name("t");
    v1::FetchRequest::Partition* p = t->add_partitions();
    p->set_partition(partition);
    p->set_offset(offset);
    if (epoch >= 0) p->set_current_leader_epoch(epoch);
    return FetchResponse(req).topics(0).partitions(0);
  }

  // The response to `req` as a client parses it off the wire.
  v1::FetchResponse FetchResponse(const v1::FetchRequest& req) {
    return Parsed(
        AwaitCallback<FetchAnswer>([&](auto done) { replicas_->Fetch(req, std::move(done)); }));
  }

  static v1::FetchResponse Parsed(FetchAnswer answer) {
    v1::FetchResponse r;
    EXPECT_TRUE(FromWire(ToWire(std::move(answer)), &r));
    return r;
  }

  // Broker 2 on `env2_`; both brokers joined to `network_` and given
  // Image({1, 2}): each leads one partition of "t" and follows the other.
  std::unique_ptr<ReplicaManager> JoinBroker2() {
    ReplicaManagerOptions options = Options();
    options.self = NodeId(2);
    options.env = env2_.get();
    std::unique_ptr<ReplicaManager> second = *ReplicaManager::Open(std::move(options));
    network_.Join(kSelf, replicas_.get());
    network_.Join(NodeId(2), second.get());
    const std::shared_ptr<const MetadataImage> image = Image({kSelf, NodeId(2)});
    replicas_->OnImage(image);
    second->OnImage(image);
    return second;
  }
  // Undoes JoinBroker2.
  void Part(std::unique_ptr<ReplicaManager> second) {
    network_.Leave(NodeId(2));
    ASSERT_TRUE(second->Close().ok());
    network_.Leave(kSelf);
  }

  FakeClock clock_;
  InProcessNetwork network_;
  std::unique_ptr<storage::Env> env_;
  std::unique_ptr<storage::Env> env2_ = storage::NewMemEnv();  // broker 2's
  std::unique_ptr<ReplicaManager> replicas_;
};

// An acks=all write waits for the ISR of the leadership that appended it.
// When this broker stops leading (a new leader took over, as when it was
// cut off), the high watermark it learns as a follower is the new
// leader's, over a log that may hold other records at those offsets: the
// write must fail (NOT_LEADER_OR_FOLLOWER, the producer retries it with
// the new leader), never be acknowledged by it. (The fault suite's
// isolated-leader scenario lost writes that way.)
TEST_F(ReplicaManagerTest, AnAcksAllWriteIsNotAcknowledgedUnderTheNextLeadersHighWatermark) {
  replicas_->OnImage(Image({kSelf, NodeId(2)}));
  v1::ProduceRequest req;
  req.set_acks(-1);
  req.set_timeout_ms(10000);
  v1::ProduceRequest::Topic* t = req.add_topics();
  t->set_name("t");
  v1::ProduceRequest::Partition* p = t->add_partitions();
  p->set_partition(0);
  p->add_plain()->set_value("waits for broker 2");
  absl::Notification answered;
  v1::ProduceResponse out;
  replicas_->Produce(req, [&](v1::ProduceResponse r) {
    out = std::move(r);
    answered.Notify();
  });
  EXPECT_FALSE(answered.WaitForNotificationWithTimeout(absl::Milliseconds(200)))
      << "broker 2 has not acknowledged it";

  // Broker 2 leads now, in epoch 1; this broker follows and hears of a
  // high watermark that covers the offset the write got here.
  MetadataImage next = *Image({kSelf, NodeId(2)});
  v1::MetadataBatch b;
  *b.add_records() =
      records::PartitionChange(kTopic, 0, NodeId(2), std::vector<NodeId>{kSelf, NodeId(2)});
  const absl::Status applied = next.Apply(b, 11);
  ASSERT_TRUE(applied.ok()) << applied;
  ASSERT_EQ(NodeId(2), next.FindTopic("t")->partitions[0].leader);
  replicas_->OnImage(std::make_shared<const MetadataImage>(std::move(next)));
  replicas_->Find({"t", PartitionId(0)})->OnLeaderHighWatermark(Offset(100));

  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(5)));
  EXPECT_EQ(v1::NOT_LEADER_OR_FOLLOWER, out.topics(0).partitions(0).error().code())
      << out.ShortDebugString();
}

TEST_F(ReplicaManagerTest, ProducedRecordsAreFetchedBackInOrder) {
  replicas_->OnImage(Image());
  v1::ProduceResponse::Partition a = Produce(0, {"a", "b"});
  ASSERT_EQ(v1::NONE, a.error().code()) << a.error().message();
  EXPECT_EQ(0, a.base_offset());
  v1::ProduceResponse::Partition c = Produce(0, {"c"}, /*acks=*/-1);
  ASSERT_EQ(v1::NONE, c.error().code()) << c.error().message();
  EXPECT_EQ(2, c.base_offset());

  v1::FetchResponse::Partition f = Fetch(0, 1);
  ASSERT_EQ(v1::NONE, f.error().code()) << f.error().message();
  EXPECT_EQ(3, f.high_watermark());
  ASSERT_EQ(2, f.decoded_size()) << "records from the offset asked, not its whole batch";
  EXPECT_EQ(1, f.decoded(0).offset());
  EXPECT_EQ("b", f.decoded(0).value());
  EXPECT_EQ("c", f.decoded(1).value());
  EXPECT_EQ("k", f.decoded(1).key());
}

TEST_F(ReplicaManagerTest, AcksZeroAnswersWithoutOffsets) {
  replicas_->OnImage(Image());
  v1::ProduceResponse::Partition p = Produce(0, {"x"}, /*acks=*/0);
  EXPECT_EQ(v1::NONE, p.error().code());
  EXPECT_EQ(-1, p.base_offset());
  // Nobody waits for it, but once durable it is committed and readable.
  ASSERT_TRUE(Eventually([&] { return Fetch(0, 0).decoded_size() != 0; }, absl::Seconds(20)));
  EXPECT_EQ(1, Fetch(0, 0).decoded_size());
}

TEST_F(ReplicaManagerTest, ConsumersNeverSeeAboveTheHighWatermark) {
  // Replicas 1 and 2 in the ISR: until broker 2 reports, nothing is
  // committed, so acks=all times out and fetches return nothing.
  replicas_->OnImage(Image({kSelf, NodeId(2)}));
  v1::ProduceResponse::Partition p = Produce(0, {"x"}, /*acks=*/-1, /*timeout_ms=*/50);
  EXPECT_EQ(v1::REQUEST_TIMED_OUT, p.error().code());
  v1::ProduceResponse::Partition one = Produce(0, {"y"}, /*acks=*/1);
  EXPECT_EQ(v1::NONE, one.error().code()) << "the leader has it";
  v1::FetchResponse::Partition f = Fetch(0, 0);
  EXPECT_EQ(v1::NONE, f.error().code());
  EXPECT_EQ(0, f.high_watermark());
  EXPECT_EQ(0, f.decoded_size());
}

TEST_F(ReplicaManagerTest, ProduceErrorsWriteNothing) {
  replicas_->OnImage(
      Image({kSelf, NodeId(2)}, {{"min.insync.replicas", "3"}, {"max.message.bytes", "200"}}));
  auto code = [](const v1::ProduceResponse::Partition& p) { return p.error().code(); };
  EXPECT_EQ(v1::NOT_ENOUGH_REPLICAS, code(Produce(0, {"x"}, -1)));
  EXPECT_EQ(v1::MESSAGE_TOO_LARGE, code(Produce(0, {std::string(500, 'x')})));
  EXPECT_EQ(v1::INVALID_REQUIRED_ACKS, code(Produce(0, {"x"}, 2)));
  v1::ProduceResponse::Partition not_leader = Produce(1, {"x"});
  EXPECT_EQ(v1::NOT_LEADER_OR_FOLLOWER, code(not_leader));
  EXPECT_EQ(2, not_leader.leader().leader_id());
  EXPECT_EQ("127.0.0.1:2", not_leader.leader().leader_address());
  EXPECT_EQ(v1::UNKNOWN_TOPIC_OR_PARTITION, code(Produce(7, {"x"})));

  v1::ProduceRequest corrupt;
  corrupt.set_acks(1);
  v1::ProduceRequest::Partition* p = corrupt.add_topics()->add_partitions();
  corrupt.mutable_topics(0)->set_name("t");
  storage::BatchBuilder builder;
  builder.Append(1, "k", "v");
  std::string batch = *builder.Build();
  batch[batch.size() - 1] ^= 0x55;  // the CRC no longer matches
  p->set_records(batch);
  v1::ProduceResponse::Partition bad = Send(corrupt);
  EXPECT_EQ(v1::CORRUPT_MESSAGE, code(bad)) << bad.error().message();
  EXPECT_EQ(0, replicas_->Find({"t", PartitionId(0)})->log()->log_end_offset().value())
      << "nothing of a refused batch is written";
}

TEST_F(ReplicaManagerTest, FetchErrors) {
  // A leader change to this broker again: leader epoch 1.
  MetadataImage image = *Image();
  v1::MetadataBatch change;
  *change.add_records() = records::PartitionChange(kTopic, 0, kSelf, std::nullopt);
  ASSERT_TRUE(image.Apply(change, 11).ok());
  replicas_->OnImage(std::make_shared<const MetadataImage>(image));
  Produce(0, {"a"});
  EXPECT_EQ(v1::OFFSET_OUT_OF_RANGE, Fetch(0, 5).error().code());
  EXPECT_EQ(v1::NOT_LEADER_OR_FOLLOWER, Fetch(1, 0).error().code());
  EXPECT_EQ(v1::FENCED_LEADER_EPOCH, Fetch(0, 0, /*epoch=*/0).error().code());
  EXPECT_EQ(v1::UNKNOWN_LEADER_EPOCH, Fetch(0, 0, /*epoch=*/3).error().code());
  EXPECT_EQ(v1::NONE, Fetch(0, 0, /*epoch=*/1).error().code());
  EXPECT_EQ(v1::UNKNOWN_TOPIC_OR_PARTITION, Fetch(9, 0).error().code());
}

TEST_F(ReplicaManagerTest, FetchLongPollsUntilRecordsAreCommitted) {
  replicas_->OnImage(Image());
  v1::FetchRequest req;
  req.set_decoded(true);
  req.set_max_wait_ms(10000);
  v1::FetchRequest::Topic* t = req.add_topics();
  t->set_name("t");
  t->add_partitions()->set_partition(0);
  absl::Notification answered;
  v1::FetchResponse got;
  replicas_->Fetch(req, [&](FetchAnswer r) {
    got = Parsed(std::move(r));
    answered.Notify();
  });
  EXPECT_FALSE(answered.WaitForNotificationWithTimeout(absl::Milliseconds(50)))
      << "nothing to read yet: the fetch waits";
  ASSERT_EQ(v1::NONE, Produce(0, {"late"}).error().code());
  ASSERT_TRUE(answered.WaitForNotificationWithTimeout(absl::Seconds(5)))
      << "woken by the commit, well before max_wait_ms";
  ASSERT_EQ(1, got.topics(0).partitions(0).decoded_size());
  EXPECT_EQ("late", got.topics(0).partitions(0).decoded(0).value());

  req.set_max_wait_ms(30);
  req.mutable_topics(0)->mutable_partitions(0)->set_offset(1);
  const absl::Time start = absl::Now();
  v1::FetchResponse empty = FetchResponse(req);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(25)) << "waited out max_wait_ms";
  EXPECT_EQ(0, empty.topics(0).partitions(0).decoded_size());
}

// A fetch that finds nothing parks until records come. Records that come
// after it looked but before it parked must not leave it waiting (their
// wake-up found nobody to wake): it looks again and answers at once. A
// lost wake-up cost followers max_wait_ms (500 ms) and consumers up to the
// timer's 100 ms each time it happened under load.
TEST_F(ReplicaManagerTest, RecordsArrivingAsAFetchParksWakeIt) {
  std::unique_ptr<ReplicaManager> replicas;
  int appended = 0;
  auto produce = [&] {  // acks=1: answered once on this broker's disk
    v1::ProduceRequest req;
    req.set_acks(1);
    req.set_timeout_ms(1000);
    v1::ProduceRequest::Topic* t = req.add_topics();
    t->set_name("t");
    v1::Record* r = t->add_partitions()->add_plain();
    r->set_value(absl::StrCat("v", appended++));
    v1::ProduceResponse answer = AwaitCallback<v1::ProduceResponse>(
        [&](auto done) { replicas->Produce(req, std::move(done)); });
    EXPECT_EQ(v1::NONE, answer.topics(0).partitions(0).error().code());
  };
  int parkings = 0;
  std::function<void()> in_the_gap;
  ReplicaManagerOptions options = Options("/gap");
  options.before_parking_fetch = [&] {
    ++parkings;
    if (in_the_gap) std::exchange(in_the_gap, nullptr)();
  };
  replicas = *ReplicaManager::Open(std::move(options));
  replicas->OnImage(Image({kSelf, NodeId(2)}));

  // A follower at the end of the log; a record is appended in the gap.
  v1::ReplicaFetchRequest follower;
  follower.set_replica_id(2);
  follower.set_max_wait_ms(600000);
  v1::ReplicaFetchRequest::Partition* fp = follower.add_partitions();
  fp->set_topic("t");
  fp->set_partition(0);
  fp->set_current_leader_epoch(0);
  in_the_gap = produce;
  absl::Notification followed;
  ReplicaFetchAnswer got;
  replicas->ReplicaFetch(follower, [&](ReplicaFetchAnswer r) {
    got = std::move(r);
    followed.Notify();
  });
  ASSERT_TRUE(followed.HasBeenNotified())
      << "the follower's fetch slept through the record appended as it parked";
  EXPECT_FALSE(got.records[0].span().empty());
  EXPECT_EQ(1, parkings);

  // The follower takes the record: committed (ISR of two), it is
  // readable. A consumer at the end; another record commits in the gap.
  fp->set_fetch_offset(1);
  fp->set_durable_offset(1);
  AwaitCallback<ReplicaFetchAnswer>([&](auto done) {
    follower.set_max_wait_ms(0);
    replicas->ReplicaFetch(follower, std::move(done));
  });
  v1::FetchRequest consumer;
  consumer.set_decoded(true);
  consumer.set_max_wait_ms(600000);
  v1::FetchRequest::Partition* cp = consumer.add_topics()->add_partitions();
  consumer.mutable_topics(0)->set_name("t");
  cp->set_offset(1);
  in_the_gap = [&] {
    produce();
    fp->set_fetch_offset(2);
    fp->set_durable_offset(2);
    AwaitCallback<ReplicaFetchAnswer>(
        [&](auto done) { replicas->ReplicaFetch(follower, std::move(done)); });
  };
  absl::Notification consumed;
  v1::FetchResponse read;
  replicas->Fetch(consumer, [&](FetchAnswer r) {
    read = Parsed(std::move(r));
    consumed.Notify();
  });
  ASSERT_TRUE(consumed.HasBeenNotified())
      << "the consumer's fetch slept through the commit made as it parked";
  ASSERT_EQ(1, read.topics(0).partitions(0).decoded_size());
  EXPECT_EQ("v1", read.topics(0).partitions(0).decoded(0).value());
}

// A follower's fetch names every partition it follows from this leader;
// the answer holds only those with something new for it (records, or a
// high watermark other than the one it has).
TEST_F(ReplicaManagerTest, AFollowersAnswerHoldsOnlyPartitionsWithNews) {
  replicas_->OnImage(std::make_shared<const MetadataImage>(
      LedHereFollowedBy2({{"t", kTopic}, {"u", Uuid{5, 5}}}, 1)));
  Produce(0, {"a"});

  v1::ReplicaFetchRequest follower;
  follower.set_replica_id(2);
  for (const char* topic : {"t", "u"}) {
    v1::ReplicaFetchRequest::Partition* fp = follower.add_partitions();
    fp->set_topic(topic);
    fp->set_current_leader_epoch(0);
  }
  auto fetch = [&] {
    return AwaitCallback<ReplicaFetchAnswer>(
        [&](auto done) { replicas_->ReplicaFetch(follower, std::move(done)); });
  };
  ReplicaFetchAnswer got = fetch();
  ASSERT_EQ(1, got.response.partitions_size()) << "u-0 has nothing new";
  EXPECT_EQ("t", got.response.partitions(0).topic());
  ASSERT_EQ(1u, got.records.size());
  EXPECT_FALSE(got.records[0].span().empty());

  // The follower has the record: the high watermark moves to 1, news for
  // a follower that knows 0.
  follower.mutable_partitions(0)->set_fetch_offset(1);
  follower.mutable_partitions(0)->set_durable_offset(1);
  got = fetch();
  ASSERT_EQ(1, got.response.partitions_size());
  EXPECT_EQ("t", got.response.partitions(0).topic());
  EXPECT_EQ(1, got.response.partitions(0).high_watermark());
  EXPECT_TRUE(got.records[0].span().empty());

  follower.mutable_partitions(0)->set_high_watermark(1);
  EXPECT_EQ(0, fetch().response.partitions_size()) << "nothing is new for a caught-up follower";
}

// Fetch sessions against full fetches. A follower (broker 2) in a session
// says only what changed; at every step a full fetch from the same
// positions is made first, and both must find the same records and high
// watermarks (errors a full fetch repeats each time, a session says once).
// Every so often the follower fetches until its session answers nothing:
// then a full fetch must have nothing either, and the follower must hold
// every log and high watermark — a session that skipped an update fails
// here. Along the way: appends, leader epochs the follower learns late,
// partitions leaving and rejoining the session, byte caps, sessions lost
// to eviction, reopened, or sent out of turn.
TEST_F(ReplicaManagerTest, FetchSessionsNeverSkipWhatFullFetchesSee) {
  using Position = v1::ReplicaFetchRequest::Partition;
  constexpr int kPartitions = 24;
  const Uuid topic{7, 7};
  MetadataImage image = LedHereFollowedBy2({{"r", topic}}, kPartitions);
  replicas_->OnImage(std::make_shared<const MetadataImage>(image));
  int64_t image_offset = 11;

  std::mt19937 rng(20261205);
  auto below = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  struct Follower {
    int64_t offset = 0;
    int32_t last_epoch = -1;
    int64_t hw = 0;
    int32_t epoch = 0;  // the leader epoch it knows
    bool in_session = true;
    std::optional<Position> sent;
  };
  std::vector<Follower> f(kPartitions);
  std::vector<int32_t> leader_epoch(kPartitions, 0);
  std::vector<int> to_forget;
  int32_t session = 0;
  int32_t session_epoch = 0;
  bool reopen = false;
  int produced = 0;

  auto position = [&](int p) {
    Position out;
    out.set_topic("r");
    out.set_partition(p);
    out.set_current_leader_epoch(f[p].epoch);
    out.set_fetch_offset(f[p].offset);
    out.set_last_fetched_epoch(f[p].last_epoch);
    out.set_durable_offset(f[p].offset);
    out.set_high_watermark(f[p].hw);
    return out;
  };
  auto send = [&](const v1::ReplicaFetchRequest& req) {
    return AwaitCallback<ReplicaFetchAnswer>(
        [&](auto done) { replicas_->ReplicaFetch(req, std::move(done)); });
  };
  // What an answer has for the follower, errors apart: partition ->
  // (high watermark, records).
  using News = std::map<int, std::pair<int64_t, std::string>>;
  auto news = [](const ReplicaFetchAnswer& a, std::set<int>* errors) {
    News out;
    for (int i = 0; i < a.response.partitions_size(); ++i) {
      const v1::ReplicaFetchResponse::Partition& in = a.response.partitions(i);
      if (in.error().code() != v1::NONE) {
        errors->insert(in.partition());
        continue;
      }
      const std::span<const uint8_t> bytes = a.records[static_cast<size_t>(i)].span();
      out[in.partition()] = {
          in.high_watermark(),
          std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size())};
    }
    return out;
  };
  auto apply = [&](const ReplicaFetchAnswer& a) {
    for (int i = 0; i < a.response.partitions_size(); ++i) {
      const v1::ReplicaFetchResponse::Partition& in = a.response.partitions(i);
      if (in.error().code() != v1::NONE) continue;
      ASSERT_FALSE(in.diverging()) << "the follower's log is the leader's";
      Follower& m = f[in.partition()];
      std::span<const uint8_t> rest = a.records[static_cast<size_t>(i)].span();
      while (!rest.empty()) {
        absl::StatusOr<storage::BatchHeader> h = storage::ParseBatchHeader(rest);
        ASSERT_TRUE(h.ok()) << h.status();
        ASSERT_EQ(m.offset, h->base_offset.value()) << "records continue where it stands";
        m.offset = h->next_offset().value();
        m.last_epoch = h->leader_epoch.value();
        rest = rest.subspan(h->size());
      }
      m.hw = std::max(m.hw, std::min(in.high_watermark(), m.offset));
    }
  };
  auto full_fetch = [&](int32_t max_bytes) {
    v1::ReplicaFetchRequest req;
    req.set_replica_id(2);
    req.set_max_bytes(max_bytes);
    for (int p = 0; p < kPartitions; ++p) {
      if (f[p].in_session) *req.add_partitions() = position(p);
    }
    return send(req);
  };
  // One request of the session, applied; nullopt when refused.
  auto session_fetch = [&](int32_t max_bytes) -> std::optional<ReplicaFetchAnswer> {
    v1::ReplicaFetchRequest req;
    req.set_replica_id(2);
    req.set_max_bytes(max_bytes);
    std::vector<int> said;
    if (session == 0 || reopen) {
      req.set_open_session(true);
      req.set_session_id(session);
      to_forget.clear();
      for (int p = 0; p < kPartitions; ++p) {
        f[p].sent.reset();
        if (f[p].in_session) said.push_back(p);
      }
    } else {
      req.set_session_id(session);
      req.set_session_epoch(session_epoch + 1);
      for (int p : to_forget) {
        v1::ReplicaFetchRequest::Forgotten* out = req.add_forgotten();
        out->set_topic("r");
        out->set_partition(p);
      }
      for (int p = 0; p < kPartitions; ++p) {
        if (!f[p].in_session) continue;
        const Position now = position(p);
        if (!f[p].sent.has_value() || f[p].sent->SerializeAsString() != now.SerializeAsString()) {
          said.push_back(p);
        }
      }
    }
    for (int p : said) *req.add_partitions() = position(p);
    ReplicaFetchAnswer a = send(req);
    if (a.response.error().code() != v1::NONE) {
      EXPECT_EQ(0, a.response.partitions_size());
      session = 0;
      return std::nullopt;
    }
    if (req.open_session()) {
      session = a.response.session_id();
      session_epoch = 0;
      reopen = false;
      EXPECT_NE(0, session);
    } else {
      ++session_epoch;
      to_forget.clear();
    }
    EXPECT_EQ(session, a.response.session_id());
    for (int p : said) f[p].sent = position(p);
    apply(a);
    return a;
  };
  auto produce = [&](int p, int n) {
    v1::ProduceRequest req;
    req.set_acks(1);
    req.set_timeout_ms(10000);
    v1::ProduceRequest::Topic* t = req.add_topics();
    t->set_name("r");
    v1::ProduceRequest::Partition* out = t->add_partitions();
    out->set_partition(p);
    for (int i = 0; i < n; ++i) {  // a few hundred bytes: byte caps leave partitions out
      out->add_plain()->set_value(absl::StrCat(produced++, std::string(300, 'v')));
    }
    EXPECT_EQ(v1::NONE, Send(req).error().code());
  };
  auto settle = [&] {
    for (int p = 0; p < kPartitions; ++p) {
      f[p].epoch = leader_epoch[p];
      if (!f[p].in_session) f[p].in_session = true;
    }
    bool quiet = false;
    for (int round = 0; round < 100 && !quiet; ++round) {
      std::optional<ReplicaFetchAnswer> a = session_fetch(1 << 20);
      quiet = a.has_value() && a->response.partitions_size() == 0;
    }
    ASSERT_TRUE(quiet) << "the session keeps finding news";
    EXPECT_EQ(0, full_fetch(1 << 20).response.partitions_size())
        << "the session answered nothing while a full fetch has news";
    for (int p = 0; p < kPartitions; ++p) {
      std::shared_ptr<Partition> here = replicas_->Find({"r", PartitionId(p)});
      EXPECT_EQ(here->log()->log_end_offset().value(), f[p].offset) << "r-" << p;
      EXPECT_EQ(here->high_watermark().value(), f[p].hw) << "r-" << p;
      EXPECT_EQ(here->log()->log_end_offset(), here->high_watermark()) << "r-" << p;
    }
  };

  for (int step = 0; step < 400; ++step) {
    SCOPED_TRACE(absl::StrCat("step ", step));
    const int event = below(100);
    if (event < 40) {
      for (int i = below(3); i >= 0; --i) produce(below(kPartitions), 1 + below(3));
    } else if (event < 45) {
      const int p = below(kPartitions);
      v1::MetadataBatch b;
      *b.add_records() = records::PartitionChange(topic, p, kSelf, std::nullopt);
      ASSERT_TRUE(image.Apply(b, image_offset++).ok());
      replicas_->OnImage(std::make_shared<const MetadataImage>(image));
      ++leader_epoch[p];
      if (below(2) == 0) f[p].epoch = leader_epoch[p];
    } else if (event < 50) {
      for (int p = 0; p < kPartitions; ++p) f[p].epoch = leader_epoch[p];
    } else if (event < 55) {
      const int p = below(kPartitions);
      if (f[p].in_session) {
        f[p].in_session = false;
        if (f[p].sent.has_value()) to_forget.push_back(p);
        f[p].sent.reset();
      }
    } else if (event < 60) {
      f[below(kPartitions)].in_session = true;
    } else if (event < 63) {
      // Another four sessions of broker 2 close its least recently used.
      for (int i = 0; i < 4; ++i) {
        v1::ReplicaFetchRequest other;
        other.set_replica_id(2);
        other.set_open_session(true);
        ASSERT_NE(0, send(other).response.session_id());
      }
    } else if (event < 65) {
      reopen = true;
    } else if (event < 68 && session != 0) {
      v1::ReplicaFetchRequest late;
      late.set_replica_id(2);
      late.set_session_id(session);
      late.set_session_epoch(session_epoch + 5);
      EXPECT_EQ(v1::INVALID_FETCH_SESSION_EPOCH, send(late).response.error().code());
    }
    const bool capped = below(4) == 0;
    const int32_t max_bytes = capped ? 100 + below(2000) : 1 << 20;
    if (!capped) {
      std::set<int> full_errors, session_errors;
      const News expected = news(full_fetch(max_bytes), &full_errors);
      std::optional<ReplicaFetchAnswer> got = session_fetch(max_bytes);
      if (got.has_value()) {
        EXPECT_EQ(expected, news(*got, &session_errors));
        EXPECT_TRUE(std::includes(full_errors.begin(), full_errors.end(), session_errors.begin(),
                                  session_errors.end()));
      }
    } else {
      session_fetch(max_bytes);
    }
    if (step % 25 == 24) settle();
    if (::testing::Test::HasFailure()) break;
  }
  settle();
}

// A session's long-poll parks on the session: an append to one of its
// partitions completes it, also one made just as it parks.
TEST_F(ReplicaManagerTest, AnAppendWakesASessionsLongPoll) {
  std::function<void()> in_the_gap;
  ReplicaManagerOptions options = Options("/session");
  options.before_parking_fetch = [&] {
    if (in_the_gap) std::exchange(in_the_gap, nullptr)();
  };
  replicas_ = *ReplicaManager::Open(std::move(options));
  replicas_->OnImage(Image({kSelf, NodeId(2)}));

  v1::ReplicaFetchRequest open;
  open.set_replica_id(2);
  open.set_open_session(true);
  v1::ReplicaFetchRequest::Partition* fp = open.add_partitions();
  fp->set_topic("t");
  fp->set_partition(0);
  fp->set_current_leader_epoch(0);
  ReplicaFetchAnswer opened = AwaitCallback<ReplicaFetchAnswer>(
      [&](auto done) { replicas_->ReplicaFetch(open, std::move(done)); });
  ASSERT_NE(0, opened.response.session_id());
  EXPECT_EQ(0, opened.response.partitions_size());

  int32_t epoch = 0;
  auto park = [&] {
    v1::ReplicaFetchRequest next;
    next.set_replica_id(2);
    next.set_session_id(opened.response.session_id());
    next.set_session_epoch(++epoch);
    next.set_max_wait_ms(600000);
    auto answered = std::make_shared<absl::Notification>();
    auto got = std::make_shared<ReplicaFetchAnswer>();
    replicas_->ReplicaFetch(next, [answered, got](ReplicaFetchAnswer r) {
      *got = std::move(r);
      answered->Notify();
    });
    return std::pair(answered, got);
  };
  auto [answered, got] = park();
  EXPECT_FALSE(answered->WaitForNotificationWithTimeout(absl::Milliseconds(100)))
      << "nothing new: it waits";
  EXPECT_EQ(v1::NONE, Produce(0, {"a"}).error().code());
  ASSERT_TRUE(answered->WaitForNotificationWithTimeout(absl::Seconds(20)))
      << "the append did not wake the session's long-poll";
  ASSERT_EQ(1, got->response.partitions_size());
  EXPECT_FALSE(got->records[0].span().empty());
  EXPECT_EQ(opened.response.session_id(), got->response.session_id());

  // One appended just as the next long-poll parks wakes it too.
  in_the_gap = [&] { EXPECT_EQ(v1::NONE, Produce(0, {"b"}).error().code()); };
  std::tie(answered, got) = park();
  ASSERT_TRUE(answered->WaitForNotificationWithTimeout(absl::Seconds(20)));
  ASSERT_EQ(1, got->response.partitions_size());
  EXPECT_FALSE(got->records[0].span().empty());
}

TEST_F(ReplicaManagerTest, ListOffsetsByPositionAndTime) {
  replicas_->OnImage(Image());
  v1::ProduceRequest req;
  req.set_acks(1);
  v1::ProduceRequest::Partition* p = req.add_topics()->add_partitions();
  req.mutable_topics(0)->set_name("t");
  for (int64_t ts : {1000, 2000, 3000}) {
    v1::Record* r = p->add_plain();
    r->set_value("v");
    r->set_timestamp_ms(ts);
  }
  ASSERT_EQ(v1::NONE, Send(req).error().code());
  auto list = [&](int64_t ts, int partition = 0) {
    v1::ListOffsetsRequest l;
    v1::ListOffsetsRequest::Topic* t = l.add_topics();
    t->set_name("t");
    v1::ListOffsetsRequest::Partition* lp = t->add_partitions();
    lp->set_partition(partition);
    lp->set_timestamp(ts);
    return replicas_->ListOffsets(l).topics(0).partitions(0);
  };
  EXPECT_EQ(0, list(-2).offset()) << "earliest";
  EXPECT_EQ(3, list(-1).offset()) << "latest: the high watermark";
  EXPECT_EQ(1, list(1500).offset());
  EXPECT_EQ(2000, list(1500).timestamp());
  EXPECT_EQ(0, list(0).offset());
  EXPECT_EQ(-1, list(9999).offset()) << "no record that recent";
  EXPECT_EQ(v1::INVALID_REQUEST, list(-7).error().code());
  EXPECT_EQ(v1::NOT_LEADER_OR_FOLLOWER, list(-1, 1).error().code());
}

// One idempotent batch of `n` records from producer 42.
std::string IdempotentBatch(int16_t epoch, int32_t first_seq, int n) {
  storage::BatchBuilder b({.producer_id = 42, .producer_epoch = epoch, .base_sequence = first_seq});
  for (int i = 0; i < n; ++i) b.Append(1000 + i, "k", "v" + std::to_string(first_seq + i));
  return *b.Build();
}

TEST_F(ReplicaManagerTest, IdempotentRetriesAreWrittenOnceAcrossRestarts) {
  replicas_->OnImage(Image());
  auto send = [&](const std::string& records) {
    v1::ProduceRequest req;
    req.set_acks(-1);
    req.set_timeout_ms(5000);
    v1::ProduceRequest::Partition* p = req.add_topics()->add_partitions();
    req.mutable_topics(0)->set_name("t");
    p->set_records(records);
    return Send(req);
  };
  v1::ProduceResponse::Partition first = send(IdempotentBatch(0, 0, 2));
  ASSERT_EQ(v1::NONE, first.error().code()) << first.error().message();
  ASSERT_EQ(0, first.base_offset());
  v1::ProduceResponse::Partition retry = send(IdempotentBatch(0, 0, 2));
  EXPECT_EQ(v1::NONE, retry.error().code());
  EXPECT_EQ(0, retry.base_offset()) << "the original offsets";
  EXPECT_EQ(2, replicas_->Find({"t", PartitionId(0)})->log()->log_end_offset().value())
      << "written once";
  EXPECT_EQ(v1::OUT_OF_ORDER_SEQUENCE_NUMBER, send(IdempotentBatch(0, 5, 1)).error().code());
  EXPECT_EQ(2, send(IdempotentBatch(0, 2, 1)).base_offset());
  EXPECT_EQ(3, send(IdempotentBatch(1, 0, 1)).base_offset()) << "a new epoch starts over";
  EXPECT_EQ(v1::INVALID_PRODUCER_EPOCH, send(IdempotentBatch(0, 3, 1)).error().code());
  EXPECT_EQ(v1::INVALID_RECORD,
            send(IdempotentBatch(1, 1, 1) + IdempotentBatch(1, 2, 1)).error().code());

  // A restarted broker rebuilds the producers from its log, and starts
  // from the high watermark it checkpointed (not its log start).
  ASSERT_TRUE(replicas_->Close().ok());
  replicas_ = *ReplicaManager::Open(Options());
  replicas_->OnImage(Image({kSelf, NodeId(2)}));
  EXPECT_EQ(4, replicas_->Find({"t", PartitionId(0)})->high_watermark().value())
      << "a follower has not reported yet, but consumers keep what they saw";
  replicas_->OnImage(Image());
  v1::ProduceResponse::Partition again = send(IdempotentBatch(1, 0, 1));
  EXPECT_EQ(v1::NONE, again.error().code());
  EXPECT_EQ(3, again.base_offset()) << "still known as a duplicate after the restart";
  EXPECT_EQ(4, replicas_->Find({"t", PartitionId(0)})->log()->log_end_offset().value());
}

TEST_F(ReplicaManagerTest, RetentionRunsOnScheduleAndMovesTheLogStart) {
  ASSERT_TRUE(replicas_->Close().ok());
  ReplicaManagerOptions options = Options();
  options.retention_check_interval = absl::Milliseconds(20);
  replicas_ = *ReplicaManager::Open(std::move(options));
  replicas_->OnImage(Image({kSelf}, {{"segment.bytes", "1024"}, {"retention.bytes", "2048"}}));
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(v1::NONE, Produce(0, {std::string(300, 'a' + i % 26)}).error().code());
  }
  storage::PartitionLog* log = replicas_->Find({"t", PartitionId(0)})->log();
  ASSERT_TRUE(Eventually([&] { return log->log_start_offset() > Offset(0); }, absl::Seconds(20)))
      << "old segments were deleted";
  EXPECT_LE(log->size_bytes(), 2048u + 1024u) << "within retention.bytes plus the active segment";
  EXPECT_EQ(v1::OFFSET_OUT_OF_RANGE, Fetch(0, 0).error().code()) << "below the log start";
  EXPECT_EQ(v1::NONE, Fetch(0, log->log_start_offset().value()).error().code());
}

TEST_F(ReplicaManagerTest, ReplicasFollowTheImage) {
  replicas_->OnImage(Image());
  ASSERT_NE(nullptr, replicas_->Find({"t", PartitionId(0)}));
  ASSERT_NE(nullptr, replicas_->Find({"t", PartitionId(1)})) << "a follower replica has a log too";
  Produce(0, {"a"});
  // The topic is deleted and a new one takes its name: the old log goes.
  replicas_->OnImage(Image({kSelf}, {}, Uuid{9, 9}));
  std::shared_ptr<Partition> fresh = replicas_->Find({"t", PartitionId(0)});
  ASSERT_NE(nullptr, fresh);
  EXPECT_EQ(0, fresh->log()->log_end_offset().value());
  EXPECT_TRUE(fresh->state()->topic_id == (Uuid{9, 9}));
  replicas_->OnImage(std::make_shared<const MetadataImage>());
  EXPECT_EQ(nullptr, replicas_->Find({"t", PartitionId(0)}));
}

// The raw batches of `log` below `upper`.
std::string Batches(const storage::PartitionLog& log, Offset upper) {
  absl::StatusOr<storage::ReadSlice> read =
      log.Read(log.log_start_offset(), 1 << 20, upper, storage::FirstBatch::kAlways);
  if (!read.ok()) return read.status().ToString();
  return std::string(reinterpret_cast<const char*>(read->bytes.data()), read->bytes.size());
}

// Two brokers joined in-process, each following the other's partition: an
// acks=all write is acknowledged once the follower has it, and the
// follower's log then holds the leader's batches byte for byte.
TEST_F(ReplicaManagerTest, FollowersReplicateOverTheirChannels) {
  std::unique_ptr<ReplicaManager> second = JoinBroker2();

  v1::ProduceResponse::Partition led_here = Produce(0, {"a", "b"}, /*acks=*/-1, 20000);
  ASSERT_EQ(v1::NONE, led_here.error().code()) << led_here.ShortDebugString();
  EXPECT_EQ(0, led_here.base_offset());
  const Offset end(2);
  EXPECT_EQ(end, second->Find({"t", PartitionId(0)})->log()->log_end_offset())
      << "acknowledged only once the follower had it";
  EXPECT_EQ(Batches(*replicas_->Find({"t", PartitionId(0)})->log(), end),
            Batches(*second->Find({"t", PartitionId(0)})->log(), end));

  // Partition 1 is led by broker 2 and followed here.
  v1::ProduceRequest req;
  req.set_acks(-1);
  req.set_timeout_ms(20000);
  v1::ProduceRequest::Partition* p = req.add_topics()->add_partitions();
  req.mutable_topics(0)->set_name("t");
  p->set_partition(1);
  p->add_plain()->set_value("c");
  v1::ProduceResponse::Partition led_there = Send(*second, req);
  ASSERT_EQ(v1::NONE, led_there.error().code()) << led_there.ShortDebugString();
  EXPECT_EQ(Batches(*second->Find({"t", PartitionId(1)})->log(), Offset(1)),
            Batches(*replicas_->Find({"t", PartitionId(1)})->log(), Offset(1)));

  Part(std::move(second));
}

// With max.incremental.fetch.session.cache.slots=0 a leader opens no
// session; followers fetch every partition every time, and replicate.
TEST_F(ReplicaManagerTest, WithoutSessionSlotsFollowersFetchWithoutSessions) {
  ReplicaManagerOptions leader_options = Options("/no-sessions");
  leader_options.fetch_session_slots = 0;
  replicas_ = *ReplicaManager::Open(std::move(leader_options));
  std::unique_ptr<ReplicaManager> follower = JoinBroker2();

  v1::ReplicaFetchRequest open;
  open.set_replica_id(3);
  open.set_open_session(true);
  EXPECT_EQ(0, AwaitCallback<ReplicaFetchAnswer>([&](auto done) {
                 replicas_->ReplicaFetch(open, std::move(done));
               }).response.session_id());
  for (int i = 0; i < 3; ++i) {
    v1::ProduceResponse::Partition p = Produce(0, {"a"}, /*acks=*/-1, 20000);
    ASSERT_EQ(v1::NONE, p.error().code()) << p.ShortDebugString();
  }
  EXPECT_EQ(Offset(3), follower->Find({"t", PartitionId(0)})->log()->log_end_offset());
  Part(std::move(follower));
}

// A leader that restarts holds none of its followers' fetch sessions: a
// follower's next fetch is refused (or fails while the leader is away), it
// opens a new session, and replication goes on.
TEST_F(ReplicaManagerTest, AFollowerOpensANewSessionWhenItsLeaderRestarts) {
  std::unique_ptr<ReplicaManager> follower = JoinBroker2();
  ASSERT_EQ(v1::NONE, Produce(0, {"a"}, /*acks=*/-1, 20000).error().code());

  for (int restart = 0; restart < 2; ++restart) {
    network_.Leave(kSelf);
    ASSERT_TRUE(replicas_->Close().ok());
    replicas_.reset();
    replicas_ = *ReplicaManager::Open(Options());
    replicas_->OnImage(Image({kSelf, NodeId(2)}));
    network_.Join(kSelf, replicas_.get());
    v1::ProduceResponse::Partition after = Produce(0, {"b", "c"}, /*acks=*/-1, 20000);
    ASSERT_EQ(v1::NONE, after.error().code()) << after.ShortDebugString();
    const Offset end(after.base_offset() + 2);
    EXPECT_EQ(end, follower->Find({"t", PartitionId(0)})->log()->log_end_offset());
    EXPECT_EQ(Batches(*replicas_->Find({"t", PartitionId(0)})->log(), end),
              Batches(*follower->Find({"t", PartitionId(0)})->log(), end));
  }
  Part(std::move(follower));
}

}  // namespace
}  // namespace samsa::broker
