// samsa-controller: one voter of the metadata quorum (DESIGN.md §4.1).
//
//   samsa-controller --config FILE [--override key=value ...]
//
// Serves Controller, Raft, grpc.health.v1.Health and server reflection on
// `listener`, and /metrics on `metrics.listener`. SIGTERM or SIGINT shuts it
// down cleanly; exit status 0 then, 1 when the Raft node stopped on an
// error (a failed fsync, a log it cannot apply), 2 on a bad configuration.
#include <csignal>
#include <cstdio>
#include <memory>
#include <random>

#include "absl/synchronization/mutex.h"
#include "common/config.h"
#include "common/logging.h"
#include "common/process_args.h"
#include "controller/controller_config.h"
#include "controller/controller_service.h"
#include "controller/probe.h"
#include "controller/quorum_controller.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "prometheus/exposer.h"
#include "raft/durable_log.h"
#include "raft/grpc_transport.h"
#include "raft/node.h"
#include "raft/probe.h"
#include "storage/env.h"

namespace samsa::controller {
namespace {

constexpr char kProgram[] = "samsa-controller";

int ConfigError(const absl::Status& st) {
  std::fprintf(stderr, "%s: %s\n", kProgram, std::string(st.message()).c_str());
  return 2;
}

absl::StatusOr<ControllerSettings> LoadSettings(int argc, char** argv) {
  absl::StatusOr<ProcessArgs> args =
      ParseProcessArgs(std::span<const char* const>(const_cast<const char**>(argv) + 1, argc - 1));
  if (!args.ok()) return args.status();
  if (args->help) {
    std::fputs(ProcessUsage(kProgram).c_str(), stdout);
    std::exit(0);
  }
  std::string text;
  std::string file_name;
  if (args->config_file.has_value()) {
    file_name = *args->config_file;
    absl::StatusOr<std::string> read = storage::Env::Default()->ReadFile(file_name);
    if (!read.ok()) return read.status();
    text = std::move(*read);
  }
  absl::StatusOr<Config> config =
      Config::Load(ControllerConfigDef(), file_name, text, args->overrides);
  if (!config.ok()) return config.status();
  return ToSettings(*config);
}

int Run(const ControllerSettings& s) {
  SetLogIdentity("controller", s.node_id.value());
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
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
                               .probe = &probe});
  raft::GrpcTransport transport(voters);
  raft::RaftService raft_service;
  ControllerService controller_service(&controller);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(s.listener, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&raft_service);
  builder.RegisterService(&controller_service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    SAMSA_LOG(ERROR) << "listener: cannot listen on " << s.listener;
    return 1;
  }

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

  std::unique_ptr<prometheus::Exposer> exposer;
  if (!s.metrics_listener.empty()) {
    try {
      exposer = std::make_unique<prometheus::Exposer>(s.metrics_listener);
    } catch (const std::exception& e) {
      SAMSA_LOG(ERROR) << "metrics.listener: cannot listen on " << s.metrics_listener << ": "
                       << e.what();
      controller.Stop();
      server->Shutdown();
      return 1;
    }
    exposer->RegisterCollectable(registry);
    SAMSA_LOG(INFO) << "metrics on port " << exposer->GetListeningPorts().front();
  }
  SAMSA_LOG(INFO) << kProgram << " " << s.node_id << " serving on port " << port << " with "
                  << s.voters.size() << " voter(s)";

  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  int exit_code = 0;
  while (true) {
    const timespec wait{0, 100 * 1000 * 1000};
    const int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGTERM || sig == SIGINT) {
      SAMSA_LOG(INFO) << "signal " << sig << ": shutting down";
      break;
    }
    if (absl::Status failure = (*node)->failure(); !failure.ok()) {
      SAMSA_LOG(ERROR) << "the metadata quorum member stopped: " << failure;
      exit_code = 1;
      break;
    }
  }
  // Every RPC must be answered before the server can stop: waiting
  // FetchMetadata calls now, pending writes when the node stops (UNAVAILABLE
  // reaches them as NOT_CONTROLLER).
  controller.Stop();
  controller.Attach(nullptr);
  raft_service.Attach(nullptr);
  node->reset();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  SAMSA_LOG(INFO) << kProgram << " " << s.node_id << " stopped";
  return exit_code;
}

}  // namespace
}  // namespace samsa::controller

int main(int argc, char** argv) {
  // Signals are taken synchronously by Run(); every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  absl::StatusOr<samsa::controller::ControllerSettings> settings =
      samsa::controller::LoadSettings(argc, argv);
  if (!settings.ok()) return samsa::controller::ConfigError(settings.status());
  return samsa::controller::Run(*settings);
}
