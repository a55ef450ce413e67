// libFuzzer target: bytes a client, or a faulty peer, sends as a gRPC
// request body. They are parsed into the request message the first byte
// picks and handed to the code that validates and serves it: the broker's
// Produce, Fetch, ListOffsets and ReplicaFetch on a replica manager over an
// in-memory disk, and the controller's topic, config and broker-lifecycle
// handlers on a metadata image. Every request gets an answer (an error is
// one), never a crash; the records a controller handler decides on must
// apply to the image it decided on.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "broker/replica_manager.h"
#include "common/await.h"
#include "common/clock.h"
#include "common/metadata_records.h"
#include "controller/broker_lifecycle.h"
#include "controller/topic_admin.h"
#include "storage/mem_env.h"

namespace samsa {
namespace {

const NodeId kSelf(1);
const Uuid kTopic{4, 2};

// Brokers 1-3, unfenced; topic "t": partition 0 led by this broker alone,
// partition 1 led by broker 2 with this one following.
const MetadataImage& Image() {
  static const MetadataImage* image = [] {
    auto* out = new MetadataImage;
    v1::MetadataBatch b;
    for (int id = 1; id <= 3; ++id) {
      *b.add_records() = records::RegisterBroker(NodeId(id), Uuid{1, static_cast<uint64_t>(id)}, id,
                                                 "127.0.0.1:" + std::to_string(9000 + id), "");
      *b.add_records() = records::UnfenceBroker(NodeId(id), id);
    }
    *b.add_records() = records::Topic("t", kTopic);
    *b.add_records() = records::Partition(
        kTopic, 0, PartitionImage{.replicas = {kSelf}, .isr = {kSelf}, .leader = kSelf});
    *b.add_records() = records::Partition(
        kTopic, 1,
        PartitionImage{
            .replicas = {NodeId(2), kSelf}, .isr = {NodeId(2), kSelf}, .leader = NodeId(2)});
    if (!out->Apply(b, 10).ok()) __builtin_trap();
    return out;
  }();
  return *image;
}

// A replica manager of broker 1 on an in-memory disk, made again every
// 1,000 inputs so that appended records do not pile up.
broker::ReplicaManager& Replicas() {
  static std::unique_ptr<storage::Env> env;
  static std::unique_ptr<broker::ReplicaManager> replicas;
  static int uses = 0;
  if (replicas == nullptr || ++uses % 1000 == 0) {
    replicas.reset();
    env = storage::NewMemEnv();
    absl::StatusOr<std::unique_ptr<broker::ReplicaManager>> opened = broker::ReplicaManager::Open(
        {.self = kSelf, .data_dir = "/broker", .env = env.get(), .clock = &Clock::Real()});
    if (!opened.ok()) __builtin_trap();
    replicas = *std::move(opened);
    replicas->OnImage(std::make_shared<const MetadataImage>(Image()));
  }
  return *replicas;
}

template <typename Request>
bool Parse(const uint8_t* data, size_t size, Request* out) {
  return out->ParseFromArray(data, static_cast<int>(size));
}

// Runs a controller handler on a pending batch over the image; what it
// decided must apply to that image.
template <typename Handler>
void Decide(Handler handler) {
  controller::PendingBatch batch(Image());
  handler(batch);
  MetadataImage applied = Image();
  if (!applied.Apply(batch.batch(), 11).ok()) __builtin_trap();
}

// A bound on how long a request may make the handler wait: the target
// checks validation, not timers.
constexpr int32_t kMaxWaitMs = 10;

}  // namespace
}  // namespace samsa

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace samsa;
  if (size == 0) return 0;
  const uint8_t kind = data[0];
  ++data;
  --size;
  switch (kind % 12) {
    case 0: {
      v1::ProduceRequest r;
      if (!Parse(data, size, &r)) return 0;
      r.set_timeout_ms(std::clamp(r.timeout_ms(), 0, kMaxWaitMs));
      (void)AwaitCallback<v1::ProduceResponse>(
          [&](auto done) { Replicas().Produce(r, std::move(done)); });
      break;
    }
    case 1: {
      v1::FetchRequest r;
      if (!Parse(data, size, &r)) return 0;
      r.set_max_wait_ms(std::clamp(r.max_wait_ms(), 0, kMaxWaitMs));
      (void)AwaitCallback<broker::FetchAnswer>(
          [&](auto done) { Replicas().Fetch(r, std::move(done)); });
      break;
    }
    case 2: {
      v1::ListOffsetsRequest r;
      if (!Parse(data, size, &r)) return 0;
      (void)Replicas().ListOffsets(r);
      break;
    }
    case 3: {
      v1::ReplicaFetchRequest r;
      if (!Parse(data, size, &r)) return 0;
      r.set_max_wait_ms(std::clamp(r.max_wait_ms(), 0, kMaxWaitMs));
      (void)AwaitCallback<broker::ReplicaFetchAnswer>(
          [&](auto done) { Replicas().ReplicaFetch(r, std::move(done)); });
      break;
    }
    case 4: {
      v1::CreateTopicsRequest r;
      if (!Parse(data, size, &r)) return 0;
      // Placement is linear in the partition count: keep executions quick.
      for (auto& t : *r.mutable_topics()) t.set_partitions(std::min(t.partitions(), 64));
      uint64_t next_id = 100;
      Decide([&](controller::PendingBatch& b) {
        (void)controller::CreateTopics(
            r, controller::TopicDefaults{},
            [&] {
              return Uuid{7, next_id++};
            },
            b);
      });
      break;
    }
    case 5: {
      v1::DeleteTopicsRequest r;
      if (!Parse(data, size, &r)) return 0;
      Decide([&](controller::PendingBatch& b) { (void)controller::DeleteTopics(r, b); });
      break;
    }
    case 6: {
      v1::CreatePartitionsRequest r;
      if (!Parse(data, size, &r)) return 0;
      for (auto& t : *r.mutable_topics()) t.set_count(std::min(t.count(), 64));
      Decide([&](controller::PendingBatch& b) { (void)controller::CreatePartitions(r, b); });
      break;
    }
    case 7: {
      v1::AlterConfigsRequest r;
      if (!Parse(data, size, &r)) return 0;
      Decide([&](controller::PendingBatch& b) { (void)controller::AlterConfigs(r, b); });
      break;
    }
    case 8: {
      v1::DescribeConfigsRequest r;
      if (!Parse(data, size, &r)) return 0;
      (void)controller::DescribeConfigs(r, Image());
      v1::DescribeTopicsRequest t;
      if (Parse(data, size, &t)) (void)controller::DescribeTopics(t, Image());
      break;
    }
    case 9: {
      v1::RegisterBrokerRequest r;
      if (!Parse(data, size, &r)) return 0;
      Decide([&](controller::PendingBatch& b) { (void)controller::RegisterBroker(r, b); });
      break;
    }
    case 10: {
      v1::BrokerHeartbeatRequest r;
      if (!Parse(data, size, &r)) return 0;
      Decide(
          [&](controller::PendingBatch& b) { (void)controller::BrokerHeartbeat(r, Image(), b); });
      v1::ControlledShutdownRequest s;
      if (Parse(data, size, &s)) {
        Decide([&](controller::PendingBatch& b) { (void)controller::ControlledShutdown(s, b); });
      }
      break;
    }
    case 11: {
      v1::AlterPartitionRequest r;
      if (!Parse(data, size, &r)) return 0;
      Decide([&](controller::PendingBatch& b) { (void)controller::AlterPartition(r, b); });
      v1::AllocateProducerIdsRequest a;
      if (Parse(data, size, &a)) {
        Decide([&](controller::PendingBatch& b) { (void)controller::AllocateProducerIds(a, b); });
      }
      break;
    }
  }
  return 0;
}
