// libFuzzer target: bytes a client, or a faulty peer, sends as a gRPC
// request body. They are parsed into the request message the first byte
// picks and handed to the code that validates and serves it: the broker's
// Produce, Fetch, ListOffsets and ReplicaFetch on a replica manager over an
// in-memory disk (with no network: its follower fetches fail), its group requests on a group
// runtime (offsets in RocksDB under a temporary directory), and the controller's topic, config and
// broker-lifecycle handlers on a metadata image. Every request gets an
// answer (an error is one), never a crash; the records a controller handler
// decides on must apply to the image it decided on.
#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "broker/group_runtime.h"
#include "broker/in_process_network.h"
#include "broker/replica_manager.h"
#include "common/await.h"
#include "common/clock.h"
#include "common/metadata_records.h"
#include "common/offset_records.h"
#include "controller/broker_lifecycle.h"
#include "controller/topic_admin.h"
#include "storage/env.h"
#include "storage/mem_env.h"
#include "storage/temp_dir.h"

namespace samsa {
namespace {

const NodeId kSelf(1);
const Uuid kTopic{4, 2};

// Brokers 1-3, unfenced; topic "t": partition 0 led by this broker alone,
// partition 1 led by broker 2 with this one following; __consumer_offsets
// with one partition, led here.
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
    const Uuid offsets{4, 3};
    *b.add_records() = records::Topic(kOffsetsTopic, offsets);
    *b.add_records() = records::Partition(
        offsets, 0, PartitionImage{.replicas = {kSelf}, .isr = {kSelf}, .leader = kSelf});
    if (!out->Apply(b, 10).ok()) __builtin_trap();
    return out;
  }();
  return *image;
}

// A network nobody joined: the target checks request handling, not
// replication, and sends nothing anywhere.
broker::InProcessNetwork& NoNetwork() {
  static auto* network = new broker::InProcessNetwork;
  return *network;
}

// Broker 1: a replica manager on an in-memory disk and a group runtime on
// it, made again every 1,000 inputs so that what requests wrote does not
// pile up.
struct Broker {
  std::unique_ptr<storage::Env> env = storage::NewMemEnv();
  std::unique_ptr<broker::ReplicaManager> replicas;
  std::unique_ptr<broker::GroupRuntime> groups;
};

Broker& Served() {
  static const storage::TempDir tmp("request-fuzz");
  const std::string& dir = tmp.path();
  static std::unique_ptr<Broker> broker;
  static int uses = 0;
  if (broker == nullptr || ++uses % 1000 == 0) {
    if (broker != nullptr) broker->groups.reset();  // it uses the replicas
    broker = std::make_unique<Broker>();
    absl::StatusOr<std::unique_ptr<broker::ReplicaManager>> replicas =
        broker::ReplicaManager::Open({.self = kSelf,
                                      .data_dir = "/broker",
                                      .env = broker->env.get(),
                                      .clock = &Clock::Real(),
                                      .replica_channel = NoNetwork().Channels()});
    if (!replicas.ok()) __builtin_trap();
    broker->replicas = *std::move(replicas);
    const auto image = std::make_shared<const MetadataImage>(Image());
    broker->replicas->OnImage(image);
    const std::string data_dir = dir + "/" + std::to_string(uses);
    if (!storage::Env::Default()->CreateDirs(data_dir).ok()) __builtin_trap();
    absl::StatusOr<std::unique_ptr<broker::GroupRuntime>> groups =
        broker::GroupRuntime::Open({.self = kSelf,
                                    .data_dir = data_dir,
                                    .offsets_partitions = 1,
                                    .offsets_replication_factor = 1,
                                    .replicas = broker->replicas.get()});
    if (!groups.ok()) __builtin_trap();
    broker->groups = *std::move(groups);
    broker->groups->OnImage(image);
  }
  // At exit the broker goes before RocksDB's own statics (registered after
  // the first open made them, this handler runs first), and its files with
  // `tmp`, made before it.
  [[maybe_unused]] static const int registered = std::atexit([] { broker.reset(); });
  return *broker;
}

broker::ReplicaManager& Replicas() { return *Served().replicas; }
broker::GroupRuntime& Groups() { return *Served().groups; }

// Calls `serve` with the bytes parsed as a `Request`, if they parse.
template <typename Request, typename Serve>
void As(const uint8_t* data, size_t size, Serve serve) {
  Request r;
  if (r.ParseFromArray(data, static_cast<int>(size))) serve(r);
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
  const uint8_t* body = data + 1;
  const size_t n = size - 1;
  switch (kind % 18) {
    case 0:
      As<v1::ProduceRequest>(body, n, [](v1::ProduceRequest& r) {
        r.set_timeout_ms(std::clamp(r.timeout_ms(), 0, kMaxWaitMs));
        (void)AwaitCallback<v1::ProduceResponse>(
            [&](auto done) { Replicas().Produce(r, std::move(done)); });
      });
      break;
    case 1:
      As<v1::FetchRequest>(body, n, [](v1::FetchRequest& r) {
        r.set_max_wait_ms(std::clamp(r.max_wait_ms(), 0, kMaxWaitMs));
        (void)AwaitCallback<broker::FetchAnswer>(
            [&](auto done) { Replicas().Fetch(r, std::move(done)); });
      });
      break;
    case 2:
      As<v1::ListOffsetsRequest>(body, n, [](auto& r) { (void)Replicas().ListOffsets(r); });
      break;
    case 3:
      As<v1::ReplicaFetchRequest>(body, n, [](v1::ReplicaFetchRequest& r) {
        r.set_max_wait_ms(std::clamp(r.max_wait_ms(), 0, kMaxWaitMs));
        (void)AwaitCallback<broker::ReplicaFetchAnswer>(
            [&](auto done) { Replicas().ReplicaFetch(r, std::move(done)); });
      });
      break;
    case 4:
      As<v1::CreateTopicsRequest>(body, n, [](v1::CreateTopicsRequest& r) {
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
      });
      break;
    case 5:
      As<v1::DeleteTopicsRequest>(body, n, [](auto& r) {
        Decide([&](controller::PendingBatch& b) { (void)controller::DeleteTopics(r, b); });
      });
      break;
    case 6:
      As<v1::CreatePartitionsRequest>(body, n, [](v1::CreatePartitionsRequest& r) {
        for (auto& t : *r.mutable_topics()) t.set_count(std::min(t.count(), 64));
        Decide([&](controller::PendingBatch& b) { (void)controller::CreatePartitions(r, b); });
      });
      break;
    case 7:
      As<v1::AlterConfigsRequest>(body, n, [](auto& r) {
        Decide([&](controller::PendingBatch& b) { (void)controller::AlterConfigs(r, b); });
      });
      break;
    case 8:
      As<v1::DescribeConfigsRequest>(
          body, n, [](auto& r) { (void)controller::DescribeConfigs(r, Image()); });
      As<v1::DescribeTopicsRequest>(body, n,
                                    [](auto& r) { (void)controller::DescribeTopics(r, Image()); });
      break;
    case 9:
      As<v1::RegisterBrokerRequest>(body, n, [](auto& r) {
        Decide([&](controller::PendingBatch& b) { (void)controller::RegisterBroker(r, b); });
      });
      break;
    case 10:
      As<v1::BrokerHeartbeatRequest>(body, n, [](auto& r) {
        Decide(
            [&](controller::PendingBatch& b) { (void)controller::BrokerHeartbeat(r, Image(), b); });
      });
      As<v1::ControlledShutdownRequest>(body, n, [](auto& r) {
        Decide([&](controller::PendingBatch& b) { (void)controller::ControlledShutdown(r, b); });
      });
      break;
    case 11:
      As<v1::AlterPartitionRequest>(body, n, [](auto& r) {
        Decide([&](controller::PendingBatch& b) { (void)controller::AlterPartition(r, b); });
      });
      As<v1::AllocateProducerIdsRequest>(body, n, [](auto& r) {
        Decide([&](controller::PendingBatch& b) { (void)controller::AllocateProducerIds(r, b); });
      });
      break;
    case 12:
      As<v1::FindCoordinatorRequest>(body, n, [](auto& r) { (void)Groups().FindCoordinator(r); });
      break;
    case 13:
      As<v1::ConsumerGroupHeartbeatRequest>(body, n, [](auto& r) { (void)Groups().Heartbeat(r); });
      break;
    case 14:
      As<v1::OffsetCommitRequest>(body, n, [](auto& r) {
        (void)AwaitCallback<v1::OffsetCommitResponse>(
            [&](auto done) { Groups().OffsetCommit(r, std::move(done)); });
      });
      break;
    case 15:
      As<v1::OffsetFetchRequest>(body, n, [](auto& r) { (void)Groups().OffsetFetch(r); });
      break;
    case 16:
      As<v1::DescribeGroupsRequest>(body, n, [](auto& r) {
        (void)Groups().DescribeGroups(r);
        (void)Groups().ListGroups();
      });
      break;
    case 17:
      As<v1::DeleteGroupsRequest>(body, n, [](auto& r) {
        (void)AwaitCallback<v1::DeleteGroupsResponse>(
            [&](auto done) { Groups().DeleteGroups(r, std::move(done)); });
      });
      break;
  }
  return 0;
}
