// The client's own cost, without a network or broker:
//
//   samsa-bench-client [--records N] [--size B]
//
// encode:   one thread appends N records of B bytes to a BatchBuilder,
//           building a batch every 16 KiB: records/s.
// producer: one thread calls Producer::Send for N records of B bytes (keyed
//           over 6 partitions, idempotence on) against a transport that
//           acknowledges every produce request at once: records/s from the
//           first Send to the last acknowledgement.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/producer.h"
#include "common/mutex_checks.h"
#include "storage/batch_builder.h"

namespace samsa::client {
namespace {

// Answers every call at once, on the caller's thread: one broker leading
// all six partitions of "bench", every batch written.
class InstantBroker final : public Transport {
 public:
  void Metadata(const std::string&, v1::MetadataRequest, absl::Duration,
                Reply<v1::MetadataResponse> reply) override {
    v1::MetadataResponse r;
    v1::BrokerDescription* b = r.add_brokers();
    b->set_broker_id(1);
    b->set_address("instant:1");
    v1::TopicDescription* t = r.add_topics();
    t->set_name("bench");
    for (int p = 0; p < 6; ++p) {
      v1::PartitionDescription* d = t->add_partitions();
      d->set_partition(p);
      d->set_leader(1);
    }
    reply(r);
  }
  void InitProducerId(const std::string&, v1::InitProducerIdRequest, absl::Duration,
                      Reply<v1::InitProducerIdResponse> reply) override {
    v1::InitProducerIdResponse r;
    r.set_producer_id(1);
    reply(r);
  }
  void Produce(const std::string&, v1::ProduceRequest request, absl::Duration,
               Reply<v1::ProduceResponse> reply) override {
    v1::ProduceResponse r;
    for (const v1::ProduceRequest::Topic& t : request.topics()) {
      v1::ProduceResponse::Topic* out = r.add_topics();
      out->set_name(t.name());
      for (const v1::ProduceRequest::Partition& p : t.partitions()) {
        v1::ProduceResponse::Partition* po = out->add_partitions();
        po->set_partition(p.partition());
        po->set_base_offset(next_[p.partition()]);
        next_[p.partition()] += 1000000;  // offsets need only grow
      }
    }
    reply(r);
  }
  void Fetch(const std::string&, v1::FetchRequest, absl::Duration,
             Reply<v1::FetchResponse> reply) override {
    reply(absl::UnimplementedError("fetch"));
  }
  void ListOffsets(const std::string&, v1::ListOffsetsRequest, absl::Duration,
                   Reply<v1::ListOffsetsResponse> reply) override {
    reply(absl::UnimplementedError("list offsets"));
  }

  void FindCoordinator(const std::string&, v1::FindCoordinatorRequest, absl::Duration,
                       Reply<v1::FindCoordinatorResponse> reply) override {
    reply(absl::UnimplementedError("groups"));
  }
  void ConsumerGroupHeartbeat(const std::string&, v1::ConsumerGroupHeartbeatRequest, absl::Duration,
                              Reply<v1::ConsumerGroupHeartbeatResponse> reply) override {
    reply(absl::UnimplementedError("groups"));
  }
  void OffsetCommit(const std::string&, v1::OffsetCommitRequest, absl::Duration,
                    Reply<v1::OffsetCommitResponse> reply) override {
    reply(absl::UnimplementedError("groups"));
  }
  void OffsetFetch(const std::string&, v1::OffsetFetchRequest, absl::Duration,
                   Reply<v1::OffsetFetchResponse> reply) override {
    reply(absl::UnimplementedError("groups"));
  }

 private:
  int64_t next_[6] = {};
};

void Encode(int64_t records, int size) {
  const std::string value(static_cast<size_t>(size), 'v');
  storage::BatchBuilder b;
  int64_t bytes = 0;
  const absl::Time start = absl::Now();
  for (int64_t i = 0; i < records; ++i) {
    b.Append(1700000000000 + i, std::nullopt, value);
    if (b.uncompressed_size() >= 16384) bytes += static_cast<int64_t>(b.Build()->size());
  }
  if (b.record_count() > 0) bytes += static_cast<int64_t>(b.Build()->size());
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf("encode: %lld records of %d B into 16 KiB batches: %.2f M records/s, %.0f MB/s\n",
              static_cast<long long>(records), size, static_cast<double>(records) / secs / 1e6,
              static_cast<double>(bytes) / (1 << 20) / secs);
}

int ProducerSend(int64_t records, int size) {
  auto producer = Producer::Create({.bootstrap = "instant:1"}, std::make_shared<InstantBroker>());
  if (!producer.ok()) {
    std::fprintf(stderr, "%s\n", std::string(producer.status().message()).c_str());
    return 1;
  }
  const std::string value(static_cast<size_t>(size), 'v');
  std::vector<std::string> keys;
  for (int k = 0; k < 1000; ++k) keys.push_back(absl::StrCat("user-", k));
  absl::Mutex mu;
  int64_t acked = 0, failed = 0;
  const absl::Time start = absl::Now();
  for (int64_t i = 0; i < records; ++i) {
    (*producer)->Send(
        {.topic = "bench", .key = keys[static_cast<size_t>(i % 1000)], .value = value},
        [&](absl::StatusOr<RecordMetadata> m) {
          absl::MutexLock lock(&mu);
          ++(m.ok() ? acked : failed);
        });
  }
  absl::Status st = (*producer)->Flush(absl::Minutes(1));
  const double secs = absl::ToDoubleSeconds(absl::Now() - start);
  std::printf(
      "producer: %lld keyed records of %d B sent and acknowledged: %.2f M records/s (%lld "
      "failed)\n",
      static_cast<long long>(records), size, static_cast<double>(records) / secs / 1e6,
      static_cast<long long>(failed));
  return st.ok() && failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace samsa::client

int main(int argc, char** argv) {
  samsa::SkipMutexDeadlockDetection();
  int64_t records = 5000000;
  int size = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--records") == 0) records = std::atoll(argv[i + 1]);
    if (std::strcmp(argv[i], "--size") == 0) size = std::atoi(argv[i + 1]);
  }
  samsa::client::Encode(records, size);
  return samsa::client::ProducerSend(records, size);
}
