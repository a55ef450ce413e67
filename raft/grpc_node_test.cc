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
#include "raft/test_cluster.h"
#include "raft/test_state_machine.h"

namespace samsa::raft {
namespace {

TEST(GrpcNodeTest, LeaderKilledAndRestartedWhileProposalsCommit) {
  TestCluster c({.nodes = 3,
                 .grpc = true,
                 .on_disk = true,
                 .tick = absl::Milliseconds(10),
                 .snapshot_every = 10000,
                 .make_state = [] { return std::make_unique<ListStateMachine>(); }});
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
  ASSERT_TRUE(c.Start(first).ok());
  for (int i = 0; i < 20; ++i) write("after-" + std::to_string(i));
  for (int id = 1; id <= 3; ++id) {
    EXPECT_EQ(expected,
              WaitForItems(*static_cast<ListStateMachine*>(c.state(NodeId(id))), expected.size()))
        << "node " << id;
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
    // On the AppendEntries stream, a malformed message ends the stream.
    grpc::ClientContext ctx;
    auto writer = stub->AppendEntries(&ctx, &ack);
    m.set_log_index(-5);
    writer->Write(m);
    writer->WritesDone();
    EXPECT_EQ(grpc::StatusCode::INVALID_ARGUMENT, writer->Finish().error_code());
  }
  {
    grpc::ClientContext ctx;
    m.set_log_index(0);
    m.set_type(samsa::v1::RaftMessage::TIMEOUT_NOW);
    EXPECT_EQ(grpc::StatusCode::UNAVAILABLE, stub->TimeoutNow(&ctx, m, &ack).error_code());
  }
  server->Shutdown();
}

}  // namespace
}  // namespace samsa::raft
