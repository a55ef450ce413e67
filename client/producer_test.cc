// The producer against a fake transport that loses answers, refuses
// writes and answers out of order: idempotence must still write every record
// exactly once, in order per partition.
#include "client/producer.h"

#include <map>
#include <random>
#include <set>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "broker/producer_state.h"
#include "client/errors.h"
#include "gtest/gtest.h"
#include "storage/record_reader.h"

namespace samsa::client {
namespace {

constexpr int kPartitions = 3;

// One broker leading every partition of topic "t", keeping the records it
// accepted. Faults, each with its probability: refuse a write
// (NOT_LEADER_OR_FOLLOWER), write it but lose the answer. Answers go back
// from a thread of its own after a random delay, so they overtake each other.
class FakeBroker final : public Transport {
 public:
  FakeBroker(double refuse, double lose) : refuse_(refuse), lose_(lose) {
    thread_ = std::thread([this] { Deliver(); });
  }
  ~FakeBroker() override {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
    }
    thread_.join();
  }

  void Metadata(const std::string&, const v1::MetadataRequest&, absl::Duration,
                Reply<v1::MetadataResponse> reply) override {
    v1::MetadataResponse r;
    v1::BrokerDescription* b = r.add_brokers();
    b->set_broker_id(1);
    b->set_address("fake:1");
    v1::TopicDescription* t = r.add_topics();
    t->set_name("t");
    for (int p = 0; p < kPartitions; ++p) {
      t->add_partitions()->set_partition(p);
      t->mutable_partitions(p)->set_leader(1);
    }
    Later([r, reply = std::move(reply)]() mutable { reply(r); });
  }

  void InitProducerId(const std::string&, const v1::InitProducerIdRequest&, absl::Duration,
                      Reply<v1::InitProducerIdResponse> reply) override {
    v1::InitProducerIdResponse r;
    r.set_producer_id(7);
    Later([r, reply = std::move(reply)]() mutable { reply(r); });
  }

  void Produce(const std::string&, const v1::ProduceRequest& request, absl::Duration,
               Reply<v1::ProduceResponse> reply) override {
    absl::MutexLock lock(&mu_);
    v1::ProduceResponse r;
    for (const v1::ProduceRequest::Topic& t : request.topics()) {
      v1::ProduceResponse::Topic* tout = r.add_topics();
      tout->set_name(t.name());
      for (const v1::ProduceRequest::Partition& p : t.partitions()) {
        v1::ProduceResponse::Partition* out = tout->add_partitions();
        out->set_partition(p.partition());
        Append(p.partition(), p.records(), out);
      }
    }
    const bool lose = Chance(lose_);
    lost_ += lose ? 1 : 0;
    pending_.push_back({absl::Now() + absl::Microseconds(Uniform(0, 2000)),
                        [r, lose, reply = std::move(reply)]() mutable {
                          if (lose) {
                            reply(absl::UnavailableError("the answer was lost"));
                          } else {
                            reply(r);
                          }
                        }});
  }

  void Fetch(const std::string&, const v1::FetchRequest&, absl::Duration,
             Reply<v1::FetchResponse> reply) override {
    Later([reply = std::move(reply)]() mutable { reply(absl::UnimplementedError("fetch")); });
  }
  void ListOffsets(const std::string&, const v1::ListOffsetsRequest&, absl::Duration,
                   Reply<v1::ListOffsetsResponse> reply) override {
    Later([reply = std::move(reply)]() mutable { reply(absl::UnimplementedError("offsets")); });
  }

  std::vector<std::string> Log(int partition) {
    absl::MutexLock lock(&mu_);
    return logs_[partition];
  }
  int lost() {
    absl::MutexLock lock(&mu_);
    return lost_;
  }
  int refused() {
    absl::MutexLock lock(&mu_);
    return refused_;
  }

 private:
  void Append(int partition, const std::string& records, v1::ProduceResponse::Partition* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (Chance(refuse_)) {
      ++refused_;
      out->mutable_error()->set_code(v1::NOT_LEADER_OR_FOLLOWER);
      return;
    }
    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(records.data()),
                                   records.size());
    absl::StatusOr<storage::BatchHeader> h = storage::ValidateBatch(bytes);
    ASSERT_TRUE(h.ok()) << h.status();
    broker::ProducerState& state = producers_[partition];
    const broker::ProducerState::Verdict v = state.Check(*h);
    if (v.kind == broker::ProducerState::Verdict::Kind::kDuplicate) {
      out->set_base_offset(v.duplicate_first.value());
      return;
    }
    if (v.kind != broker::ProducerState::Verdict::Kind::kAppend) {
      out->mutable_error()->set_code(v.kind == broker::ProducerState::Verdict::Kind::kOutOfOrder
                                         ? v1::OUT_OF_ORDER_SEQUENCE_NUMBER
                                         : v1::INVALID_PRODUCER_EPOCH);
      return;
    }
    std::vector<std::string>& log = logs_[partition];
    h->base_offset = Offset(static_cast<int64_t>(log.size()));
    out->set_base_offset(h->base_offset.value());
    state.Update(*h);
    ASSERT_TRUE(storage::ForEachRecord(bytes, [&](const storage::RecordView& r) {
                  log.emplace_back(*r.value);
                  return absl::OkStatus();
                }).ok());
  }

  void Later(absl::AnyInvocable<void()> f) {
    absl::MutexLock lock(&mu_);
    pending_.push_back({absl::Now() + absl::Microseconds(Uniform(0, 500)), std::move(f)});
  }

  void Deliver() {
    while (true) {
      std::vector<absl::AnyInvocable<void()>> due;
      {
        absl::MutexLock lock(&mu_);
        if (stop_ && pending_.empty()) return;
        const absl::Time now = absl::Now();
        for (auto it = pending_.begin(); it != pending_.end();) {
          if (it->first <= now || stop_) {
            due.push_back(std::move(it->second));
            it = pending_.erase(it);
          } else {
            ++it;
          }
        }
      }
      for (auto& f : due) f();
      absl::SleepFor(absl::Microseconds(200));
    }
  }

  bool Chance(double p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return std::uniform_real_distribution<double>(0, 1)(rng_) < p;
  }
  int64_t Uniform(int64_t lo, int64_t hi) {
    absl::MutexLock lock(&rng_mu_);
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng2_);
  }

  const double refuse_;
  const double lose_;
  absl::Mutex mu_;
  std::mt19937 rng_ ABSL_GUARDED_BY(mu_){42};
  absl::Mutex rng_mu_;
  std::mt19937 rng2_ ABSL_GUARDED_BY(rng_mu_){7};
  std::map<int, std::vector<std::string>> logs_ ABSL_GUARDED_BY(mu_);
  std::map<int, broker::ProducerState> producers_ ABSL_GUARDED_BY(mu_);
  std::vector<std::pair<absl::Time, absl::AnyInvocable<void()>>> pending_ ABSL_GUARDED_BY(mu_);
  int lost_ ABSL_GUARDED_BY(mu_) = 0;
  int refused_ ABSL_GUARDED_BY(mu_) = 0;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

struct Delivered {
  absl::Mutex mu;
  std::map<int, std::vector<std::pair<int64_t, std::string>>> by_partition ABSL_GUARDED_BY(mu);
  std::vector<std::string> errors ABSL_GUARDED_BY(mu);
};

TEST(ProducerTest, LostAnswersAndRefusalsStillWriteEachRecordOnceInOrder) {
  auto fake = std::make_shared<FakeBroker>(/*refuse=*/0.1, /*lose=*/0.1);
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
                      [&delivered, value](absl::StatusOr<RecordMetadata> m) {
                        absl::MutexLock lock(&delivered.mu);
                        if (!m.ok()) {
                          delivered.errors.push_back(std::string(m.status().message()));
                          return;
                        }
                        delivered.by_partition[m->partition].emplace_back(m->offset, value);
                      });
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

TEST(ProducerTest, ARecordOverTheRequestSizeFailsAtOnceWithItsCode) {
  auto fake = std::make_shared<FakeBroker>(0, 0);
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
  auto fake = std::make_shared<FakeBroker>(0, 0);
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

TEST(ProducerTest, ConfigurationErrorsAreRefused) {
  EXPECT_FALSE(Producer::Create({.bootstrap = "nowhere"}).ok());
  EXPECT_FALSE(Producer::Create({.acks = 2}).ok());
  EXPECT_FALSE(Producer::Create({.acks = 1}).ok()) << "idempotence needs acks=all";
}

}  // namespace
}  // namespace samsa::client
