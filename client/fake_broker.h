// FakeBroker (tests only): a Transport that is one broker leading every
// partition of topic "t", keeping what it is sent in memory, with the
// broker's own idempotence rules (storage::ProducerState) and a fetch that
// returns whole batches as a broker does. Faults, each with a probability:
// refuse a write (NOT_LEADER_OR_FOLLOWER), or write it and lose the answer.
// Answers go back from a thread of its own after a random delay, so they
// overtake each other; with hold(true) produce answers wait until
// hold(false). With reorder(true), each produce request is handled after
// the one sent next (as a gRPC server may: calls on one connection are not
// served in order).
#pragma once

#include <map>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/transport.h"
#include "gtest/gtest.h"
#include "storage/batch_builder.h"
#include "storage/producer_state.h"
#include "storage/record_reader.h"

namespace samsa::client::testing {

class FakeBroker final : public Transport {
 public:
  explicit FakeBroker(int partitions, double refuse = 0, double lose = 0)
      : partitions_(partitions), refuse_(refuse), lose_(lose) {
    thread_ = std::thread([this] { Deliver(); });
  }
  ~FakeBroker() override {
    {
      absl::MutexLock lock(&mu_);
      stop_ = true;
      held_ = false;
    }
    thread_.join();
  }

  void Metadata(const std::string&, v1::MetadataRequest, absl::Duration,
                Reply<v1::MetadataResponse> reply) override {
    v1::MetadataResponse r;
    v1::BrokerDescription* b = r.add_brokers();
    b->set_broker_id(1);
    b->set_address("fake:1");
    v1::TopicDescription* t = r.add_topics();
    t->set_name("t");
    for (int p = 0; p < partitions_; ++p) {
      v1::PartitionDescription* d = t->add_partitions();
      d->set_partition(p);
      d->set_leader(1);
    }
    Later([r, reply = std::move(reply)]() mutable { reply(r); });
  }

  void InitProducerId(const std::string&, v1::InitProducerIdRequest, absl::Duration,
                      Reply<v1::InitProducerIdResponse> reply) override {
    v1::InitProducerIdResponse r;
    r.set_producer_id(7);
    Later([r, reply = std::move(reply)]() mutable { reply(r); });
  }

  void Produce(const std::string&, v1::ProduceRequest request, absl::Duration,
               Reply<v1::ProduceResponse> reply) override {
    absl::MutexLock lock(&mu_);
    ++produce_requests_;
    if (reorder_) {
      if (!overtaken_.has_value()) {
        overtaken_ = Overtaken{request, std::move(reply), absl::Now() + absl::Milliseconds(5)};
        return;
      }
      ProduceLocked(request, std::move(reply));
      Overtaken first = *std::move(overtaken_);
      overtaken_.reset();
      return ProduceLocked(first.request, std::move(first.reply));
    }
    ProduceLocked(request, std::move(reply));
  }

  void ProduceLocked(const v1::ProduceRequest& request, Reply<v1::ProduceResponse> reply)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    v1::ProduceResponse r;
    for (const v1::ProduceRequest::Topic& t : request.topics()) {
      v1::ProduceResponse::Topic* tout = r.add_topics();
      tout->set_name(t.name());
      for (const v1::ProduceRequest::Partition& p : t.partitions()) {
        v1::ProduceResponse::Partition* out = tout->add_partitions();
        out->set_partition(p.partition());
        AppendLocked(p.partition(), p.records(), out);
      }
    }
    const bool lose = Chance(lose_);
    lost_ += lose ? 1 : 0;
    pending_.push_back({absl::Now() + absl::Microseconds(Uniform(0, 2000)), true,
                        [r, lose, reply = std::move(reply)]() mutable {
                          if (lose) {
                            reply(absl::UnavailableError("the answer was lost"));
                          } else {
                            reply(r);
                          }
                        }});
  }

  void Fetch(const std::string&, v1::FetchRequest request, absl::Duration,
             Reply<v1::FetchResponse> reply) override {
    absl::MutexLock lock(&mu_);
    ++fetch_requests_;
    v1::FetchResponse r;
    bool any = false;
    for (const v1::FetchRequest::Topic& t : request.topics()) {
      v1::FetchResponse::Topic* tout = r.add_topics();
      tout->set_name(t.name());
      for (const v1::FetchRequest::Partition& p : t.partitions()) {
        v1::FetchResponse::Partition* out = tout->add_partitions();
        out->set_partition(p.partition());
        const std::vector<std::string>& batches = batches_[p.partition()];
        const int64_t end = static_cast<int64_t>(values_[p.partition()].size());
        out->set_high_watermark(end);
        if (p.offset() > end) {
          out->mutable_error()->set_code(v1::OFFSET_OUT_OF_RANGE);
          any = true;
          continue;
        }
        std::string records;
        for (const std::string& b : batches) {
          auto h =
              storage::ParseBatchHeader({reinterpret_cast<const uint8_t*>(b.data()), b.size()});
          if (h->last_offset().value() < p.offset()) continue;
          if (!records.empty() && records.size() + b.size() > static_cast<size_t>(p.max_bytes())) {
            break;
          }
          records += b;
        }
        any = any || !records.empty();
        out->set_records(std::move(records));
      }
    }
    // Nothing to read: answer after a short long-poll, as a broker would.
    const absl::Duration wait =
        any ? absl::ZeroDuration()
            : std::min(absl::Milliseconds(request.max_wait_ms()), absl::Milliseconds(20));
    pending_.push_back(
        {absl::Now() + wait, false, [r, reply = std::move(reply)]() mutable { reply(r); }});
  }

  void ListOffsets(const std::string&, v1::ListOffsetsRequest request, absl::Duration,
                   Reply<v1::ListOffsetsResponse> reply) override {
    absl::MutexLock lock(&mu_);
    v1::ListOffsetsResponse r;
    for (const v1::ListOffsetsRequest::Topic& t : request.topics()) {
      v1::ListOffsetsResponse::Topic* tout = r.add_topics();
      tout->set_name(t.name());
      for (const v1::ListOffsetsRequest::Partition& p : t.partitions()) {
        v1::ListOffsetsResponse::Partition* out = tout->add_partitions();
        out->set_partition(p.partition());
        out->set_offset(p.timestamp() == -2 ? 0
                                            : static_cast<int64_t>(values_[p.partition()].size()));
      }
    }
    pending_.push_back({absl::Now(), false, [r, reply = std::move(reply)]() mutable { reply(r); }});
  }

  // Consumer groups are not part of this fake.
  void FindCoordinator(const std::string&, v1::FindCoordinatorRequest, absl::Duration,
                       Reply<v1::FindCoordinatorResponse> reply) override {
    Later([reply = std::move(reply)]() mutable { reply(absl::UnimplementedError("groups")); });
  }
  void ConsumerGroupHeartbeat(const std::string&, v1::ConsumerGroupHeartbeatRequest, absl::Duration,
                              Reply<v1::ConsumerGroupHeartbeatResponse> reply) override {
    Later([reply = std::move(reply)]() mutable { reply(absl::UnimplementedError("groups")); });
  }
  void OffsetCommit(const std::string&, v1::OffsetCommitRequest, absl::Duration,
                    Reply<v1::OffsetCommitResponse> reply) override {
    Later([reply = std::move(reply)]() mutable { reply(absl::UnimplementedError("groups")); });
  }
  void OffsetFetch(const std::string&, v1::OffsetFetchRequest, absl::Duration,
                   Reply<v1::OffsetFetchResponse> reply) override {
    Later([reply = std::move(reply)]() mutable { reply(absl::UnimplementedError("groups")); });
  }

  // Appends plain records (no producer id) to `partition`, as if produced.
  void Append(int partition, const std::vector<std::string>& values) {
    storage::BatchBuilder b;
    for (const std::string& v : values) b.Append(1000, std::nullopt, v);
    absl::MutexLock lock(&mu_);
    v1::ProduceResponse::Partition ignored;
    AppendLocked(partition, *b.Build(), &ignored);
  }
  // Produce answers wait while held.
  void hold(bool on) {
    absl::MutexLock lock(&mu_);
    held_ = on;
  }
  void reorder(bool on) {
    absl::MutexLock lock(&mu_);
    reorder_ = on;
  }

  std::vector<std::string> Log(int partition) {
    absl::MutexLock lock(&mu_);
    return values_[partition];
  }
  int lost() {
    absl::MutexLock lock(&mu_);
    return lost_;
  }
  int refused() {
    absl::MutexLock lock(&mu_);
    return refused_;
  }
  int produce_requests() {
    absl::MutexLock lock(&mu_);
    return produce_requests_;
  }
  int fetch_requests() {
    absl::MutexLock lock(&mu_);
    return fetch_requests_;
  }

 private:
  struct Pending {
    absl::Time due;
    bool produce;
    absl::AnyInvocable<void()> answer;
  };

  void AppendLocked(int partition, const std::string& records, v1::ProduceResponse::Partition* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (Chance(refuse_)) {
      ++refused_;
      out->mutable_error()->set_code(v1::NOT_LEADER_OR_FOLLOWER);
      return;
    }
    std::string batch = records;
    std::span<uint8_t> bytes(reinterpret_cast<uint8_t*>(batch.data()), batch.size());
    absl::StatusOr<storage::BatchHeader> h = storage::ValidateBatch(bytes);
    ASSERT_TRUE(h.ok()) << h.status();
    storage::ProducerState& state = producers_[partition];
    const storage::ProducerState::Verdict v = state.Check(*h);
    if (v.kind == storage::ProducerState::Verdict::Kind::kDuplicate) {
      out->set_base_offset(v.duplicate_first.value());
      return;
    }
    if (v.kind != storage::ProducerState::Verdict::Kind::kAppend) {
      out->mutable_error()->set_code(v.kind == storage::ProducerState::Verdict::Kind::kOutOfOrder
                                         ? v1::OUT_OF_ORDER_SEQUENCE_NUMBER
                                         : v1::INVALID_PRODUCER_EPOCH);
      return;
    }
    std::vector<std::string>& log = values_[partition];
    h->base_offset = Offset(static_cast<int64_t>(log.size()));
    storage::StampBatch(bytes, h->base_offset, Epoch(0));
    out->set_base_offset(h->base_offset.value());
    state.Update(*h);
    ASSERT_TRUE(storage::ForEachRecord(bytes, [&](const storage::RecordView& r) {
                  log.emplace_back(*r.value);
                  return absl::OkStatus();
                }).ok());
    batches_[partition].push_back(std::move(batch));
  }

  void Later(absl::AnyInvocable<void()> f) {
    absl::MutexLock lock(&mu_);
    pending_.push_back({absl::Now() + absl::Microseconds(Uniform(0, 500)), false, std::move(f)});
  }

  void Deliver() {
    while (true) {
      std::vector<absl::AnyInvocable<void()>> due;
      {
        absl::MutexLock lock(&mu_);
        if (stop_ && pending_.empty() && !overtaken_.has_value()) return;
        const absl::Time now = absl::Now();
        // A request nothing overtook in time is handled after all.
        if (overtaken_.has_value() && (overtaken_->until <= now || stop_)) {
          Overtaken late = *std::move(overtaken_);
          overtaken_.reset();
          ProduceLocked(late.request, std::move(late.reply));
        }
        for (auto it = pending_.begin(); it != pending_.end();) {
          if ((it->due <= now && !(it->produce && held_)) || stop_) {
            due.push_back(std::move(it->answer));
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
    return p > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < p;
  }
  int64_t Uniform(int64_t lo, int64_t hi) {
    absl::MutexLock lock(&rng_mu_);
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng2_);
  }

  const int partitions_;
  const double refuse_;
  const double lose_;
  absl::Mutex mu_;
  std::mt19937 rng_ ABSL_GUARDED_BY(mu_){42};
  absl::Mutex rng_mu_;
  std::mt19937 rng2_ ABSL_GUARDED_BY(rng_mu_){7};
  std::map<int, std::vector<std::string>> values_ ABSL_GUARDED_BY(mu_);
  std::map<int, std::vector<std::string>> batches_ ABSL_GUARDED_BY(mu_);  // stamped
  std::map<int, storage::ProducerState> producers_ ABSL_GUARDED_BY(mu_);
  std::vector<Pending> pending_ ABSL_GUARDED_BY(mu_);
  int lost_ ABSL_GUARDED_BY(mu_) = 0;
  int refused_ ABSL_GUARDED_BY(mu_) = 0;
  int produce_requests_ ABSL_GUARDED_BY(mu_) = 0;
  int fetch_requests_ ABSL_GUARDED_BY(mu_) = 0;
  bool held_ ABSL_GUARDED_BY(mu_) = false;
  bool reorder_ ABSL_GUARDED_BY(mu_) = false;
  // The produce request waiting for the next one to overtake it.
  struct Overtaken {
    v1::ProduceRequest request;
    Reply<v1::ProduceResponse> reply;
    absl::Time until;  // handled after all then
  };
  std::optional<Overtaken> overtaken_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace samsa::client::testing
