// samsa-broker (docs/configuration.md).
//
//   samsa-broker --config FILE [--override key=value ...]
//
// Registers with the controller quorum, heartbeats, replays the committed
// metadata into its image, and serves Broker, grpc.health.v1.Health and
// server reflection on `listener`, /metrics on `metrics.listener`. SIGTERM
// or SIGINT: controlled shutdown (leaderships moved to other ISR members
// first), then exit 0. Exit 1 when it must stop (another process took its
// node.id, metadata it cannot apply, no controller reachable at start), 2 on
// a bad configuration.
#include <atomic>
#include <memory>

#include "absl/strings/str_cat.h"
#include "broker/broker_config.h"
#include "broker/broker_service.h"
#include "broker/group_runtime.h"
#include "broker/probe.h"
#include "broker/producer_ids.h"
#include "broker/quorum_client.h"
#include "broker/replica_manager.h"
#include "common/clock.h"
#include "common/logging.h"
#include "common/mutex_checks.h"
#include "common/server.h"
#include "storage/config_file.h"
#include "storage/env.h"

namespace samsa::broker {

constexpr char kProgram[] = "samsa-broker";

// How long a starting broker looks for an active controller.
constexpr absl::Duration kRegistrationTimeout = absl::Seconds(60);

// The address to advertise: the configured one, else the listener's host
// with the port actually bound.
std::string Advertised(const BrokerSettings& s, int port) {
  if (!s.advertised_listener.empty()) return s.advertised_listener;
  return absl::StrCat(s.listener.substr(0, s.listener.rfind(':')), ":", port);
}

int Run(const BrokerSettings& s) {
  SetLogIdentity("broker", s.node_id.value());
  SkipMutexDeadlockDetection();
  if (absl::Status st = storage::Env::Default()->CreateDirs(s.data_dir); !st.ok()) {
    SAMSA_LOG(ERROR) << "data.dir: " << st;
    return 1;
  }
  auto registry = std::make_shared<prometheus::Registry>();
  BrokerProbe probe(*registry, s.node_id);
  // The replicas and the groups reach the quorum client, created after
  // them, through this pointer: their threads may ask before it exists
  // (they are told the quorum is not reached yet). Each outlives every call
  // the other makes (Stop/Close order below).
  std::atomic<QuorumClient*> quorum_ptr{nullptr};
  absl::StatusOr<std::unique_ptr<ReplicaManager>> replicas =
      ReplicaManager::Open({.self = s.node_id,
                            .data_dir = s.data_dir,
                            .default_log_config = s.log_defaults,
                            .cleaner = s.cleaner,
                            .env = storage::Env::Default(),
                            .clock = &Clock::Real(),
                            .replica_lag_max = s.replica_lag_max,
                            .fetch_session_slots = s.fetch_session_slots,
                            .move_max_bytes_per_second = s.move_max_bytes_per_second,
                            .retention_check_interval = s.retention_check_interval,
                            .alter_partition = [&quorum_ptr](v1::AlterPartitionRequest req)
                                -> absl::StatusOr<v1::AlterPartitionResponse> {
                              QuorumClient* quorum = quorum_ptr.load(std::memory_order_acquire);
                              if (quorum == nullptr)
                                return absl::UnavailableError("the quorum is not reached yet");
                              return quorum->AlterPartition(req);
                            },
                            .broker_epoch = [&quorum_ptr]() -> int64_t {
                              QuorumClient* quorum = quorum_ptr.load(std::memory_order_acquire);
                              return quorum == nullptr ? 0 : quorum->epoch();
                            },
                            .probe = &probe});
  if (!replicas.ok()) {
    SAMSA_LOG(ERROR) << "cannot open the partition logs: " << replicas.status();
    return 1;
  }
  // Consumer groups ask the quorum to create __consumer_offsets.
  absl::StatusOr<std::unique_ptr<GroupRuntime>> groups = GroupRuntime::Open(
      {.self = s.node_id,
       .data_dir = s.data_dir,
       .offsets_partitions = s.offsets_partitions,
       .offsets_replication_factor = s.offsets_replication_factor,
       .offsets_segment_bytes = s.offsets_segment_bytes,
       .offsets_retention = s.offsets_retention,
       .session_timeout = s.group_session_timeout,
       .heartbeat_interval = s.group_heartbeat_interval,
       .assignor = s.group_assignor,
       .replicas = replicas->get(),
       .probe = &probe,
       .create_topic = [&quorum_ptr](v1::CreateTopicsRequest req) {
         QuorumClient* quorum = quorum_ptr.load(std::memory_order_acquire);
         if (quorum == nullptr) {
           SAMSA_LOG(WARNING) << "creating __consumer_offsets: the quorum is not reached yet";
           return;
         }
         auto shared = std::make_shared<v1::CreateTopicsRequest>(std::move(req));
         quorum->Forward<v1::CreateTopicsResponse>(
             [shared](v1::Controller::Stub::async_interface* async, grpc::ClientContext* ctx,
                      v1::CreateTopicsResponse* out, std::function<void(grpc::Status)> cb) {
               async->CreateTopics(ctx, shared.get(), out, std::move(cb));
             },
             [](grpc::Status st, v1::CreateTopicsResponse r) {
               if (!st.ok() || r.error().code() != v1::NONE ||
                   (r.results_size() > 0 && r.results(0).error().code() != v1::NONE &&
                    r.results(0).error().code() != v1::TOPIC_ALREADY_EXISTS)) {
                 SAMSA_LOG(WARNING) << "creating __consumer_offsets: "
                                    << (st.ok() ? r.ShortDebugString() : st.error_message());
               }
             });
       }});
  if (!groups.ok()) {
    SAMSA_LOG(ERROR) << "cannot open the group offsets store: " << groups.status();
    return 1;
  }
  QuorumClient quorum(
      {.broker_id = s.node_id,
       .rack = s.rack,
       .controllers = s.controllers,
       .heartbeat_interval = s.heartbeat_interval,
       .on_image =
           [&probe, r = replicas->get(),
            g = groups->get()](std::shared_ptr<const MetadataImage> image) {
             r->OnImage(image);
             g->OnImage(image);
             probe.OnImage(*image);
           },
       .on_fenced = [&probe](bool fenced) { probe.OnFenced(fenced); },
       .report_sizes =
           [r = replicas->get()](v1::BrokerHeartbeatRequest* req) { r->ReportSizes(req); },
       .health = [r = replicas->get()]() -> absl::Status {
         // One data.dir: its log directory offline is the whole broker.
         const auto offline = r->OfflineLogDirs();
         return offline.empty() ? absl::OkStatus() : offline.front().second;
       }});
  quorum_ptr.store(&quorum, std::memory_order_release);
  ProducerIds producer_ids(
      [&quorum, id = s.node_id](std::function<void(absl::StatusOr<ProducerIds::Block>)> done) {
        v1::AllocateProducerIdsRequest req;
        req.set_broker_id(id.value());
        req.set_broker_epoch(quorum.epoch());
        quorum.Forward<v1::AllocateProducerIdsResponse>(
            [req](v1::Controller::Stub::async_interface* async, grpc::ClientContext* ctx,
                  v1::AllocateProducerIdsResponse* out, std::function<void(grpc::Status)> cb) {
              async->AllocateProducerIds(ctx, &req, out, std::move(cb));
            },
            [done](grpc::Status st, v1::AllocateProducerIdsResponse r) {
              if (!st.ok()) return done(absl::UnavailableError(st.error_message()));
              if (r.error().code() != v1::NONE)
                return done(absl::UnavailableError(r.error().message()));
              done(ProducerIds::Block{r.first_id(), r.size()});
            });
      });
  BrokerService service(&quorum, replicas->get(), &producer_ids, groups->get(), &probe);
  ReplicaService replica_service(replicas->get());
  // The server starts first: the address the broker registers must answer.
  absl::StatusOr<GrpcServer> server = StartGrpcServer(s.listener, {&service, &replica_service});
  if (!server.ok()) {
    SAMSA_LOG(ERROR) << server.status();
    return 1;
  }
  absl::StatusOr<MetricsServer> metrics =
      StartMetrics(s.metrics_listener, registry, [r = replicas->get()] { r->RefreshGauges(); });
  if (!metrics.ok()) {
    SAMSA_LOG(ERROR) << metrics.status();
    server->server->Shutdown();
    return 1;
  }
  const std::string address = Advertised(s, server->port);
  if (absl::Status st = quorum.Start(address, kRegistrationTimeout); !st.ok()) {
    SAMSA_LOG(ERROR) << "cannot register with the controllers: " << st;
    server->server->Shutdown();
    return 1;
  }
  probe.OnRegistered(quorum.epoch());
  SAMSA_LOG(INFO) << kProgram << " " << s.node_id << " serving on port " << server->port
                  << ", advertised as " << address;

  int exit_code = AwaitTermination([&] { return quorum.failure(); });
  if (exit_code == 0) {
    const bool moved = quorum.ControlledShutdown(s.session_timeout);
    SAMSA_LOG(INFO) << "controlled shutdown "
                    << (moved ? "done: no leaderships left to move" : "timed out; stopping anyway");
  }
  quorum.Stop();
  (*groups)->Close();
  if (absl::Status st = (*replicas)->Close(); !st.ok()) {
    SAMSA_LOG(ERROR) << "closing the partition logs: " << st;
    exit_code = 1;
  }
  server->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  SAMSA_LOG(INFO) << kProgram << " " << s.node_id << " stopped";
  return exit_code;
}

}  // namespace samsa::broker

int main(int argc, char** argv) {
  samsa::SetUpProcessSignals(argv[0]);
  return samsa::broker::Run(
      samsa::storage::LoadSettingsOrExit(samsa::broker::kProgram, samsa::broker::BrokerConfigDef(),
                                         argc, argv, &samsa::broker::ToSettings));
}
