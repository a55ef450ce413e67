// Three Raft nodes in one process talking real gRPC over loopback, with
// their state on the real file system: the leader is killed and restarted
// while proposals keep committing.
#include <grpcpp/grpcpp.h>
#include <stdlib.h>

#include <map>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "raft/grpc_transport.h"
#include "raft/test_state_machine.h"

namespace samsa::raft {
namespace {

class GrpcCluster {
 public:
  explicit GrpcCluster(int n) {
    char tmpl[] = "/tmp/samsa-raft-grpc-XXXXXX";
    root_ = mkdtemp(tmpl);
    for (int i = 1; i <= n; ++i) bootstrap_.voters.push_back(NodeId(i));
    // Servers first, on ephemeral ports, so every transport knows every
    // address.
    for (int i = 1; i <= n; ++i) {
      auto& m = members_[NodeId(i)];
      m.service = std::make_unique<RaftService>();
      grpc::ServerBuilder b;
      b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &m.port);
      b.RegisterService(m.service.get());
      m.server = b.BuildAndStart();
      addresses_[NodeId(i)] = "127.0.0.1:" + std::to_string(m.port);
    }
    for (int i = 1; i <= n; ++i) {
      members_[NodeId(i)].transport = std::make_unique<GrpcTransport>(addresses_);
      Start(NodeId(i));
    }
  }

  ~GrpcCluster() {
    for (auto& [id, m] : members_) {
      m.service->Attach(nullptr);
      m.node.reset();
    }
    for (auto& [id, m] : members_) m.server->Shutdown(absl::ToChronoTime(absl::Now()));
    members_.clear();
    (void)storage::Env::Default()->DeleteTree(root_);
  }

  void Start(NodeId id) {
    auto& m = members_[id];
    m.log =
        *DurableLog::Open(storage::Env::Default(), root_ + "/node-" + std::to_string(id.value()),
                          bootstrap_, &Clock::Real());
    m.state = std::make_unique<ListStateMachine>();
    NodeOptions o;
    o.raft.id = id;
    o.raft.seed = static_cast<uint64_t>(id.value());
    o.tick = absl::Milliseconds(10);
    auto node = Node::Start(o, m.log.get(), m.state.get(), m.transport.get());
    ASSERT_TRUE(node.ok()) << node.status();
    m.node = std::move(*node);
    m.service->Attach(m.node.get());
  }

  // As kill -9 would leave it: the node's memory is gone, its disk is not.
  void Kill(NodeId id) {
    auto& m = members_[id];
    m.service->Attach(nullptr);
    m.node.reset();
    m.log.reset();
  }

  NodeId Leader() {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      for (auto& [id, m] : members_) {
        if (m.node != nullptr && m.node->status().role == Role::kLeader) return id;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return kNoNode;
  }

  absl::Status Write(const std::string& data) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      const NodeId leader = Leader();
      if (leader == kNoNode) break;
      absl::Notification done;
      absl::Status result;
      members_[leader].node->Propose(data, [&](absl::StatusOr<Index> r) {
        result = r.status();
        done.Notify();
      });
      if (!done.WaitForNotificationWithTimeout(absl::Seconds(5))) continue;
      if (result.ok()) return result;
    }
    return absl::DeadlineExceededError("no leader accepted the write");
  }

  std::vector<std::string> WaitForItems(NodeId id, size_t n) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline && members_[id].state->items().size() < n) {
      absl::SleepFor(absl::Milliseconds(10));
    }
    return members_[id].state->items();
  }

 private:
  struct Member {
    std::unique_ptr<RaftService> service;
    std::unique_ptr<grpc::Server> server;
    int port = 0;
    std::unique_ptr<GrpcTransport> transport;
    std::unique_ptr<DurableLog> log;
    std::unique_ptr<ListStateMachine> state;
    std::unique_ptr<Node> node;
  };
  std::string root_;
  ConfState bootstrap_;
  absl::flat_hash_map<NodeId, std::string> addresses_;
  std::map<NodeId, Member> members_;
};

TEST(GrpcNodeTest, LeaderKilledAndRestartedWhileProposalsCommit) {
  GrpcCluster c(3);
  std::vector<std::string> expected;
  auto write = [&](const std::string& v) {
    ASSERT_TRUE(c.Write(v).ok()) << v;
    expected.push_back(v);
  };
  for (int i = 0; i < 20; ++i) write("before-" + std::to_string(i));
  const NodeId first = c.Leader();
  ASSERT_NE(kNoNode, first);
  c.Kill(first);
  for (int i = 0; i < 20; ++i) write("during-" + std::to_string(i));
  c.Start(first);
  for (int i = 0; i < 20; ++i) write("after-" + std::to_string(i));
  for (int id = 1; id <= 3; ++id) {
    EXPECT_EQ(expected, c.WaitForItems(NodeId(id), expected.size())) << "node " << id;
  }
}

TEST(RaftServiceTest, RejectsMessagesOnTheWrongRpcAndWhenNoNodeRuns) {
  RaftService service;
  grpc::ServerBuilder b;
  int port = 0;
  b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  b.RegisterService(&service);
  auto server = b.BuildAndStart();
  auto stub = samsa::v1::Raft::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  samsa::v1::RaftMessage m;
  m.set_type(samsa::v1::RaftMessage::APPEND);
  samsa::v1::RaftAck ack;
  {
    grpc::ClientContext ctx;
    const grpc::Status st = stub->Vote(&ctx, m, &ack);
    EXPECT_EQ(grpc::StatusCode::INVALID_ARGUMENT, st.error_code());
    EXPECT_EQ("a App message does not belong on this RPC", st.error_message());
  }
  {
    grpc::ClientContext ctx;
    m.set_log_index(-5);
    EXPECT_EQ(grpc::StatusCode::INVALID_ARGUMENT, stub->AppendEntries(&ctx, m, &ack).error_code());
  }
  {
    grpc::ClientContext ctx;
    m.set_log_index(0);
    EXPECT_EQ(grpc::StatusCode::UNAVAILABLE, stub->AppendEntries(&ctx, m, &ack).error_code());
  }
  server->Shutdown();
}

}  // namespace
}  // namespace samsa::raft
