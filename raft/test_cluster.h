// TestCluster: several raft::Node in one process, for tests and benchmarks.
// Nodes talk either over the real Raft gRPC service on 127.0.0.1 ephemeral
// ports (servers stay up while their node is killed and restarted) or over
// an in-process network; their state lives on the real file system under a
// temporary directory (removed at destruction) or in memory.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "raft/grpc_transport.h"
#include "raft/node.h"
#include "storage/env.h"
#include "storage/fault_env.h"
#include "storage/temp_dir.h"

namespace grpc {
class Server;
}

namespace samsa::raft {

struct TestClusterOptions {
  int nodes = 3;
  bool grpc = true;     // else an in-process network
  bool on_disk = true;  // else an in-memory Env
  absl::Duration tick = absl::Milliseconds(10);
  int64_t snapshot_every = 10000;
  std::function<std::unique_ptr<StateMachine>()> make_state;
  bool fault_envs = false;  // each node's disk behind its own storage::FaultEnv
};

class TestCluster {
 public:
  explicit TestCluster(TestClusterOptions options);
  ~TestCluster();

  // (Re)starts `id` from its disk.
  absl::Status Start(NodeId id);
  // As kill -9 leaves it: memory gone, disk kept.
  void Kill(NodeId id);

  // The node that currently leads (waiting up to `timeout`), or kNoNode.
  NodeId Leader(absl::Duration timeout = absl::Seconds(30));
  Node* node(NodeId id) { return members_.at(id).node.get(); }
  StateMachine* state(NodeId id) { return members_.at(id).state.get(); }
  // With fault_envs: what `id`'s disk does.
  storage::FaultEnv* fault_env(NodeId id) { return members_.at(id).fault_env.get(); }

  // Proposes `data` through whoever leads until it is applied there.
  absl::Status Write(const std::string& data, absl::Duration timeout = absl::Seconds(30));

 private:
  class LocalTransport;
  struct Member {
    std::unique_ptr<storage::FaultEnv> fault_env;
    std::unique_ptr<RaftService> service;
    std::unique_ptr<grpc::Server> server;
    std::unique_ptr<Transport> transport;
    std::unique_ptr<DurableLog> log;
    std::unique_ptr<StateMachine> state;
    std::unique_ptr<Node> node;
  };

  void Route(const Message& m);

  const TestClusterOptions options_;
  std::unique_ptr<storage::Env> mem_env_;
  storage::Env* env_;
  std::unique_ptr<storage::TempDir> tmp_;  // on_disk: where root_ is
  std::string root_;
  ConfState bootstrap_;
  std::map<NodeId, Member> members_;
  absl::Mutex route_mu_;  // in-process network: who receives
  absl::flat_hash_map<NodeId, Node*> routes_ ABSL_GUARDED_BY(route_mu_);
};

}  // namespace samsa::raft
