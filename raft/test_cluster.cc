#include "raft/test_cluster.h"

#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/status.h"
#include "storage/mem_env.h"
#include "storage/temp_dir.h"

namespace samsa::raft {

class TestCluster::LocalTransport final : public Transport {
 public:
  explicit LocalTransport(TestCluster* cluster) : cluster_(cluster) {}
  void Send(const Message& m) override { cluster_->Route(m); }

 private:
  TestCluster* cluster_;
};

TestCluster::TestCluster(TestClusterOptions options) : options_(std::move(options)) {
  if (options_.on_disk) {
    tmp_ = std::make_unique<storage::TempDir>("raft-cluster");
    root_ = tmp_->path();
    env_ = storage::Env::Default();
  } else {
    mem_env_ = storage::NewMemEnv();
    env_ = mem_env_.get();
    root_ = "/cluster";
  }
  for (int i = 1; i <= options_.nodes; ++i) bootstrap_.voters.push_back(NodeId(i));
  absl::flat_hash_map<NodeId, std::string> addresses;
  for (NodeId id : bootstrap_.voters) {
    Member& m = members_[id];
    if (options_.fault_envs) m.fault_env = std::make_unique<storage::FaultEnv>(env_);
    if (!options_.grpc) continue;
    // Servers first, on ephemeral ports, so every transport knows every
    // address; they outlive node restarts.
    m.service = std::make_unique<RaftService>();
    int port = 0;
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    b.RegisterService(m.service.get());
    m.server = b.BuildAndStart();
    addresses[id] = "127.0.0.1:" + std::to_string(port);
  }
  for (NodeId id : bootstrap_.voters) {
    Member& m = members_[id];
    if (options_.grpc) {
      m.transport = std::make_unique<GrpcTransport>(addresses);
    } else {
      m.transport = std::make_unique<LocalTransport>(this);
    }
    (void)Start(id);
  }
}

TestCluster::~TestCluster() {
  for (auto& [id, m] : members_) Kill(id);
  for (auto& [id, m] : members_) {
    if (m.server != nullptr) m.server->Shutdown(absl::ToChronoTime(absl::Now()));
  }
  members_.clear();
}

absl::Status TestCluster::Start(NodeId id) {
  Member& m = members_.at(id);
  storage::Env* env = m.fault_env != nullptr ? m.fault_env.get() : env_;
  ASSIGN_OR_RETURN(m.log, DurableLog::Open(env, root_ + "/node-" + std::to_string(id.value()),
                                           bootstrap_, &Clock::Real()));
  m.state = options_.make_state();
  NodeOptions o;
  o.raft.id = id;
  o.raft.seed = static_cast<uint64_t>(id.value());
  o.tick = options_.tick;
  o.snapshot_every = options_.snapshot_every;
  ASSIGN_OR_RETURN(m.node, Node::Start(o, m.log.get(), m.state.get(), m.transport.get()));
  if (m.service != nullptr) m.service->Attach(m.node.get());
  absl::MutexLock lock(&route_mu_);
  routes_[id] = m.node.get();
  return absl::OkStatus();
}

void TestCluster::Kill(NodeId id) {
  Member& m = members_.at(id);
  if (m.service != nullptr) m.service->Attach(nullptr);
  {
    absl::MutexLock lock(&route_mu_);
    routes_.erase(id);
  }
  m.node.reset();
  m.log.reset();
}

void TestCluster::Route(const Message& m) {
  absl::MutexLock lock(&route_mu_);
  if (auto it = routes_.find(m.to); it != routes_.end()) it->second->Receive(m);
}

NodeId TestCluster::Leader(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    for (auto& [id, m] : members_) {
      if (m.node != nullptr && m.node->status().role == Role::kLeader) return id;
    }
    absl::SleepFor(absl::Milliseconds(2));
  }
  return kNoNode;
}

absl::Status TestCluster::Write(const std::string& data, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    const NodeId leader = Leader(deadline - absl::Now());
    if (leader == kNoNode) break;
    // Shared with the callback, which may outlive this attempt.
    struct Outcome {
      absl::Notification done;
      absl::Status result;
    };
    auto outcome = std::make_shared<Outcome>();
    node(leader)->Propose(data, [outcome](absl::StatusOr<Index> r) {
      outcome->result = r.status();
      outcome->done.Notify();
    });
    if (!outcome->done.WaitForNotificationWithTimeout(absl::Seconds(5))) continue;
    if (outcome->result.ok()) return absl::OkStatus();
  }
  return absl::DeadlineExceededError("no leader accepted the write");
}

}  // namespace samsa::raft
