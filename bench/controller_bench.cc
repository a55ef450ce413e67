// Controller write path and metadata image costs.
//
//   samsa-bench-controller [--topics N] [--alters N] [--window W]
//
// A 3-node controller quorum over gRPC on loopback, every node fsyncing its
// Raft log (raft::TestCluster with QuorumController state machines), three
// registered brokers.
// Phase 1: N CreateTopics (1 partition, replication factor 3) one after
//          another: decide, commit on a majority, apply, answer; latency
//          percentiles at the active controller.
// Phase 2: N AlterPartition requests (ISR shrink, then expand, and so on)
//          with W in flight over W partitions: requests per second.
// Phase 3: an image of 1,000 topics x 12 partitions: snapshot size, time to
//          serialize and to rebuild it, time to apply one PartitionChange;
//          then a topic of 10,000 partitions applied as one batch.
// Phase 4: the balancer's planner on 10,000 partitions (RF 3) of 19 brokers
//          when a 20th joins, and when one is decommissioned: plan time
//          with the default move budget (50) and with no budget.
// Files go under $SAMSA_TEST_DIR (default $TMPDIR, then /tmp) and are removed
// afterwards.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/await.h"
#include "common/metadata_records.h"
#include "common/mutex_checks.h"
#include "controller/balancer.h"
#include "controller/quorum_controller.h"
#include "raft/test_cluster.h"

namespace samsa::controller {
namespace {

double Percentile(std::vector<double>& v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

void ImagePhase() {
  MetadataImage image;
  v1::MetadataBatch brokers;
  for (int b = 1; b <= 3; ++b) {
    *brokers.add_records() =
        records::RegisterBroker(NodeId(b), Uuid{1, static_cast<uint64_t>(b)}, b, "127.0.0.1:1", "");
  }
  (void)image.Apply(brokers, 1);
  int64_t offset = 2;
  const absl::Time t0 = absl::Now();
  for (int t = 0; t < 1000; ++t) {
    v1::MetadataBatch batch;
    const Uuid id{7, static_cast<uint64_t>(t + 1)};
    *batch.add_records() = records::Topic("topic-" + std::to_string(t), id);
    for (int p = 0; p < 12; ++p) {
      PartitionImage part;
      part.replicas = {NodeId(1), NodeId(2), NodeId(3)};
      part.isr = part.replicas;
      part.leader = NodeId(1 + p % 3);
      std::rotate(part.replicas.begin(), part.replicas.begin() + p % 3, part.replicas.end());
      part.isr = part.replicas;
      *batch.add_records() = records::Partition(id, p, part);
    }
    (void)image.Apply(batch, offset++);
  }
  const double build_ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
  const absl::Time t1 = absl::Now();
  const std::string snap = image.SerializeSnapshot();
  const double ser_ms = absl::ToDoubleMilliseconds(absl::Now() - t1);
  v1::MetadataSnapshot parsed;
  const absl::Time t2 = absl::Now();
  parsed.ParseFromString(snap);
  absl::StatusOr<MetadataImage> rebuilt = MetadataImage::FromSnapshot(parsed);
  const double load_ms = absl::ToDoubleMilliseconds(absl::Now() - t2);
  const int changes = 10000;
  const absl::Time t3 = absl::Now();
  for (int i = 0; i < changes; ++i) {
    v1::MetadataBatch batch;
    *batch.add_records() =
        records::PartitionChange(Uuid{7, static_cast<uint64_t>(1 + i % 1000)}, i % 12, std::nullopt,
                                 std::vector<NodeId>{NodeId(1 + i % 12 % 3)});
    (void)image.Apply(batch, offset++);
  }
  const double change_us = absl::ToDoubleMicroseconds(absl::Now() - t3) / changes;
  // One topic of 10,000 partitions, created in one batch (one CreateTopics).
  v1::MetadataBatch big;
  const Uuid big_id{8, 8};
  *big.add_records() = records::Topic("big", big_id);
  for (int p = 0; p < 10000; ++p) {
    PartitionImage part;
    part.replicas = {NodeId(1 + p % 3), NodeId(1 + (p + 1) % 3), NodeId(1 + (p + 2) % 3)};
    part.isr = part.replicas;
    part.leader = part.replicas[0];
    *big.add_records() = records::Partition(big_id, p, part);
  }
  const absl::Time t4 = absl::Now();
  const absl::Status big_applied = image.Apply(big, offset++);
  const double big_ms = absl::ToDoubleMilliseconds(absl::Now() - t4);
  std::printf(
      "image: 12000 partitions built in %.1f ms; snapshot %zu bytes, serialize %.1f ms, "
      "rebuild %.1f ms (%s); one PartitionChange applied in %.2f us; a topic of 10000 "
      "partitions applied in %.1f ms (%s)\n",
      build_ms, snap.size(), ser_ms, load_ms, rebuilt.ok() ? "ok" : "FAILED", change_us, big_ms,
      big_applied.ok() ? "ok" : "FAILED");
}

void PlannerPhase() {
  MetadataImage image;
  int64_t offset = 1;
  v1::MetadataBatch brokers;
  for (int b = 1; b <= 20; ++b) {
    *brokers.add_records() =
        records::RegisterBroker(NodeId(b), Uuid{1, static_cast<uint64_t>(b)}, b, "127.0.0.1:1", "");
    *brokers.add_records() = records::UnfenceBroker(NodeId(b), b);
  }
  (void)image.Apply(brokers, offset++);
  ClusterUsage usage;
  // Partitions of 0 to 999 MiB, ten times that when led by brokers 1 to 5.
  for (int t = 0; t < 100; ++t) {
    v1::MetadataBatch batch;
    const Uuid id{8, static_cast<uint64_t>(t + 1)};
    *batch.add_records() = records::Topic("topic-" + std::to_string(t), id);
    for (int p = 0; p < 100; ++p) {
      PartitionImage part;
      for (int r = 0; r < 3; ++r) part.replicas.emplace_back(1 + (t * 100 + p + r * 7) % 19);
      part.isr = part.replicas;
      part.leader = part.replicas.front();
      *batch.add_records() = records::Partition(id, p, part);
      usage.partition_bytes[{id, p}] = (int64_t{(t * 7919 + p * 104729) % 1000} << 20) *
                                       (part.replicas.front().value() <= 5 ? 10 : 1);
    }
    (void)image.Apply(batch, offset++);
  }
  auto time_plan = [&](const char* what, const MetadataImage& img, int64_t budget,
                       bool even_disk = false) {
    const absl::Time t0 = absl::Now();
    const BalancePlan plan =
        PlanBalance(img, usage, BalanceOptions{.even_disk = even_disk, .max_moves = budget});
    const double ms = absl::ToDoubleMilliseconds(absl::Now() - t0);
    // Disk bytes per broker once the plan is done: the lightest, the heaviest.
    absl::flat_hash_map<std::pair<std::string, int32_t>, std::vector<NodeId>> target;
    for (const PlannedMove& m : plan.moves) target[{m.topic, m.partition}] = m.to;
    absl::flat_hash_map<NodeId, int64_t> bytes;
    for (const auto& [id, b] : img.brokers()) {
      if (b.accepts_replicas()) bytes[id] = 0;
    }
    for (const auto& [name, topic] : img.topics()) {
      for (int32_t p = 0; p < static_cast<int32_t>(topic->partitions.size()); ++p) {
        auto moved = target.find({name, p});
        for (NodeId r : moved != target.end() ? moved->second : topic->partitions[p].replicas) {
          bytes[r] += usage.partition_bytes[{topic->id, p}];
        }
      }
    }
    int64_t lo = INT64_MAX, hi = 0;
    for (const auto& [id, n] : bytes) {
      lo = std::min(lo, n);
      hi = std::max(hi, n);
    }
    std::printf(
        "planner, %s, budget %lld: %.1f ms, %lld data moves, %zu moves in all; "
        "then %lld-%lld GiB per broker\n",
        what, static_cast<long long>(budget), ms, static_cast<long long>(plan.data_moves()),
        plan.moves.size(), static_cast<long long>(lo >> 30), static_cast<long long>(hi >> 30));
  };
  time_plan("20th broker joins", image, 50);
  time_plan("20th broker joins", image, 1000000);
  time_plan("20th broker joins, continuous (disk bytes too)", image, 50, true);
  time_plan("20th broker joins, continuous (disk bytes too)", image, 1000000, true);
  v1::MetadataBatch decommission;
  *decommission.add_records() = records::BrokerDecommission(NodeId(1));
  (void)image.Apply(decommission, offset++);
  time_plan("broker 1 decommissioned", image, 50);
  time_plan("broker 1 decommissioned", image, 1000000);
}

int Run(int topics, int alters, int window) {
  raft::TestCluster cluster({.nodes = 3,
                             .grpc = true,
                             .on_disk = true,
                             .tick = absl::Milliseconds(10),
                             .snapshot_every = 1000000,
                             .make_state = [] {
                               return std::make_unique<QuorumController>(
                                   ControllerOptions{.session_timeout = absl::Hours(1)});
                             }});
  for (int id = 1; id <= 3; ++id) {
    static_cast<QuorumController*>(cluster.state(NodeId(id)))->Attach(cluster.node(NodeId(id)));
  }
  const NodeId leader = cluster.Leader();
  if (leader == kNoNode) {
    std::fprintf(stderr, "no leader elected\n");
    return 1;
  }
  auto* c = static_cast<QuorumController*>(cluster.state(leader));
  const absl::Time wait = absl::Now() + absl::Seconds(30);
  while (!c->active() && absl::Now() < wait) absl::SleepFor(absl::Milliseconds(1));
  std::vector<int64_t> epochs;
  for (int b = 1; b <= 3; ++b) {
    v1::RegisterBrokerRequest reg;
    reg.set_broker_id(b);
    *reg.mutable_incarnation_id() = Uuid{9, static_cast<uint64_t>(b)}.ToProto();
    reg.set_address("127.0.0.1:" + std::to_string(9000 + b));
    const int64_t epoch = AwaitCallback<v1::RegisterBrokerResponse>([&](auto done) {
                            c->RegisterBroker(reg, std::move(done));
                          }).broker_epoch();
    v1::BrokerHeartbeatRequest hb;
    hb.set_broker_id(b);
    hb.set_broker_epoch(epoch);
    hb.set_metadata_offset(c->committed()->offset());
    AwaitCallback<v1::BrokerHeartbeatResponse>(
        [&](auto done) { c->BrokerHeartbeat(hb, std::move(done)); });
    epochs.push_back(epoch);
  }

  std::vector<double> latencies_ms;
  const absl::Time t0 = absl::Now();
  for (int i = 0; i < topics; ++i) {
    v1::CreateTopicsRequest req;
    v1::CreateTopicsRequest::Topic* t = req.add_topics();
    t->set_name("bench-" + std::to_string(i));
    t->set_partitions(1);
    t->set_replication_factor(3);
    const absl::Time start = absl::Now();
    v1::CreateTopicsResponse r = AwaitCallback<v1::CreateTopicsResponse>(
        [&](auto done) { c->CreateTopics(req, std::move(done)); });
    latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    if (r.results(0).error().code() != v1::NONE) {
      std::fprintf(stderr, "create failed: %s\n", r.results(0).error().message().c_str());
      return 1;
    }
  }
  const double create_secs = absl::ToDoubleSeconds(absl::Now() - t0);
  std::printf(
      "CreateTopics (1 partition, rf 3), one at a time: %d in %.2f s = %.0f/s; latency "
      "ms p50 %.3f p99 %.3f max %.3f\n",
      topics, create_secs, topics / create_secs, Percentile(latencies_ms, 0.5),
      Percentile(latencies_ms, 0.99), Percentile(latencies_ms, 1.0));

  // Phase 2: one topic of `window` partitions; each slot flips its
  // partition's ISR between {leader} and all three replicas.
  v1::CreateTopicsRequest req;
  v1::CreateTopicsRequest::Topic* t = req.add_topics();
  t->set_name("alters");
  t->set_partitions(window);
  t->set_replication_factor(3);
  AwaitCallback<v1::CreateTopicsResponse>(
      [&](auto done) { c->CreateTopics(req, std::move(done)); });
  const TopicImage* topic = c->committed()->FindTopic("alters");
  absl::Mutex mu;
  int sent = 0, finished = 0, failed = 0;
  std::vector<PartitionImage> state(topic->partitions.begin(), topic->partitions.end());
  const Uuid topic_id = topic->id;
  std::function<void(int)> next = [&](int p) {
    PartitionImage cur;
    {
      absl::MutexLock lock(&mu);
      if (sent >= alters) return;
      ++sent;
      cur = state[p];
    }
    v1::AlterPartitionRequest alter;
    alter.set_broker_id(cur.leader.value());
    alter.set_broker_epoch(epochs[cur.leader.value() - 1]);
    v1::AlterPartitionRequest::Partition* ap = alter.add_partitions();
    *ap->mutable_topic_id() = topic_id.ToProto();
    ap->set_partition(p);
    ap->set_leader_epoch(cur.leader_epoch.value());
    ap->set_partition_epoch(cur.partition_epoch);
    if (cur.isr.size() == 3) {
      ap->add_new_isr(cur.leader.value());
    } else {
      for (NodeId r : cur.replicas) ap->add_new_isr(r.value());
    }
    c->AlterPartition(alter, [&, p](v1::AlterPartitionResponse r) {
      {
        absl::MutexLock lock(&mu);
        ++finished;
        if (r.error().code() != v1::NONE || r.results(0).error().code() != v1::NONE) {
          ++failed;
        } else {
          state[p].partition_epoch = r.results(0).partition_epoch();
          state[p].isr.clear();
          for (int32_t m : r.results(0).isr()) state[p].isr.emplace_back(m);
        }
      }
      next(p);
    });
  };
  const absl::Time t1 = absl::Now();
  for (int p = 0; p < window; ++p) next(p);
  {
    absl::MutexLock lock(&mu);
    auto all = [&]() { return finished == alters; };
    mu.Await(absl::Condition(&all));
  }
  const double alter_secs = absl::ToDoubleSeconds(absl::Now() - t1);
  std::printf("AlterPartition, %d in flight: %d in %.2f s = %.0f/s (%d failed)\n", window, alters,
              alter_secs, alters / alter_secs, failed);
  for (int id = 1; id <= 3; ++id) {
    static_cast<QuorumController*>(cluster.state(NodeId(id)))->Stop();
    static_cast<QuorumController*>(cluster.state(NodeId(id)))->Attach(nullptr);
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace samsa::controller

int main(int argc, char** argv) {
  samsa::SkipMutexDeadlockDetection();
  samsa::SetMinLogLevel(samsa::LogLevel::kWarning);
  int topics = 500, alters = 20000, window = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--topics") == 0) topics = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--alters") == 0) alters = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--window") == 0) window = std::atoi(argv[i + 1]);
  }
  samsa::controller::ImagePhase();
  samsa::controller::PlannerPhase();
  return samsa::controller::Run(topics, alters, window);
}
