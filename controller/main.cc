// samsa-controller: one voter of the metadata quorum (docs/configuration.md).
//
//   samsa-controller --config FILE [--override key=value ...]
//
// Serves Controller, Raft, grpc.health.v1.Health and server reflection on
// `listener`, and /metrics on `metrics.listener`. SIGTERM or SIGINT shuts it
// down cleanly; exit status 0 then, 1 when the Raft node stopped on an
// error (a failed fsync, a log it cannot apply), 2 on a bad configuration.
#include <memory>
#include <random>

#include "common/logging.h"
#include "common/mutex_checks.h"
#include "common/server.h"
#include "controller/controller_config.h"
#include "controller/controller_service.h"
#include "controller/probe.h"
#include "controller/quorum_controller.h"
#include "raft/durable_log.h"
#include "raft/grpc_transport.h"
#include "raft/node.h"
#include "raft/probe.h"
#include "storage/config_file.h"
#include "storage/env.h"

namespace samsa::controller {

constexpr char kProgram[] = "samsa-controller";

int Run(const ControllerSettings& s) {
  SetLogIdentity("controller", s.node_id.value());
  SkipMutexDeadlockDetection();
  storage::Env* env = storage::Env::Default();

  raft::ConfState bootstrap;
  absl::flat_hash_map<NodeId, std::string> voters;
  for (const auto& [id, address] : s.voters) {
    bootstrap.voters.push_back(id);
    voters[id] = address;
  }
  if (absl::Status st = env->CreateDirs(s.data_dir); !st.ok()) {
    SAMSA_LOG(ERROR) << "data.dir: " << st;
    return 1;
  }
  absl::StatusOr<std::unique_ptr<raft::DurableLog>> log =
      raft::DurableLog::Open(env, storage::JoinPath(s.data_dir, "raft"), bootstrap, &Clock::Real());
  if (!log.ok()) {
    SAMSA_LOG(ERROR) << "cannot open the metadata log: " << log.status();
    return 1;
  }

  auto registry = std::make_shared<prometheus::Registry>();
  raft::RaftProbe raft_probe(*registry);
  ControllerProbe probe(*registry);
  QuorumController controller({.node_id = s.node_id,
                               .voters = voters,
                               .topic_defaults = s.topic_defaults,
                               .session_timeout = s.session_timeout,
                               .leader_rebalance_interval = s.leader_rebalance_interval,
                               .leader_imbalance_percent = s.leader_imbalance_percent,
                               .balancer = s.balancer,
                               .probe = &probe});
  raft::GrpcTransport transport(voters);
  raft::RaftService raft_service;
  ControllerService controller_service(&controller);

  absl::StatusOr<GrpcServer> grpc_server =
      StartGrpcServer(s.listener, {&raft_service, &controller_service});
  if (!grpc_server.ok()) {
    SAMSA_LOG(ERROR) << grpc_server.status();
    return 1;
  }
  grpc::Server* server = grpc_server->server.get();
  const int port = grpc_server->port;

  raft::NodeOptions options;
  options.raft.id = s.node_id;
  options.raft.election_ticks = 10;
  options.raft.heartbeat_ticks = 1;
  options.raft.seed = std::random_device()();
  options.tick = s.election_timeout / 10;
  options.snapshot_every = s.snapshot_every;
  options.probe = &raft_probe;
  absl::StatusOr<std::unique_ptr<raft::Node>> node =
      raft::Node::Start(options, log->get(), &controller, &transport);
  if (!node.ok()) {
    SAMSA_LOG(ERROR) << "cannot start the metadata quorum member: " << node.status();
    server->Shutdown();
    return 1;
  }
  controller.Attach(node->get());
  raft_service.Attach(node->get());

  absl::StatusOr<MetricsServer> metrics = StartMetrics(s.metrics_listener, registry);
  if (!metrics.ok()) {
    SAMSA_LOG(ERROR) << metrics.status();
    controller.Stop();
    server->Shutdown();
    return 1;
  }
  SAMSA_LOG(INFO) << kProgram << " " << s.node_id << " serving on port " << port << " with "
                  << s.voters.size() << " voter(s)";

  const int exit_code = AwaitTermination([&] { return (*node)->failure(); });
  // Every RPC must be answered before the server can stop: waiting
  // FetchMetadata calls now, pending writes when the node stops (UNAVAILABLE
  // reaches them as NOT_CONTROLLER).
  controller.Stop();
  controller.Attach(nullptr);
  raft_service.Attach(nullptr);
  node->reset();
  // What is left are peers' AppendEntries streams, which stay open until
  // cancelled: no reason to wait for them.
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(100));
  SAMSA_LOG(INFO) << kProgram << " " << s.node_id << " stopped";
  return exit_code;
}

}  // namespace samsa::controller

int main(int argc, char** argv) {
  samsa::SetUpProcessSignals(argv[0]);
  return samsa::controller::Run(samsa::storage::LoadSettingsOrExit(
      samsa::controller::kProgram, samsa::controller::ControllerConfigDef(), argc, argv,
      &samsa::controller::ToSettings));
}
