// The Raft gRPC service (proto/samsa/v1/raft.proto) on both ends.
//
// GrpcTransport sends each message on one channel per peer with gRPC's
// callback API, so Send() never blocks: appends and their responses on one
// long-lived AppendEntries stream per peer (reopened when it breaks), the
// rarer kinds as one-way unary RPCs of their family (Vote, InstallSnapshot,
// TimeoutNow). Raft tolerates loss, so a message that cannot be sent (peer
// down, deadline, too many queued) is dropped, not retried.
//
// RaftService receives them and hands them to the Node currently attached
// (none while the node restarts: UNAVAILABLE). A message whose type does
// not belong to the RPC it came on, or that does not convert, is
// INVALID_ARGUMENT.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "raft/node.h"
#include "samsa/v1/raft.grpc.pb.h"

namespace samsa::raft {

class GrpcTransport final : public Transport {
 public:
  // `peers`: node id -> "host:port".
  explicit GrpcTransport(const absl::flat_hash_map<NodeId, std::string>& peers,
                         absl::Duration rpc_timeout = absl::Seconds(2), int max_in_flight = 4096);
  ~GrpcTransport() override;

  void Send(const Message& m) override;

  int64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  class AppendStream;
  struct Peer {
    std::unique_ptr<samsa::v1::Raft::Stub> stub;
    std::atomic<int> in_flight{0};
    absl::Mutex mu;
    AppendStream* stream ABSL_GUARDED_BY(mu) = nullptr;  // owned by gRPC until OnDone
  };

  void SendUnary(Peer* peer, const Message& m);
  void SendOnStream(Peer* peer, const Message& m);

  const absl::Duration rpc_timeout_;
  const int max_in_flight_;
  absl::flat_hash_map<NodeId, std::unique_ptr<Peer>> peers_;
  std::atomic<int64_t> dropped_{0};
  // Outstanding RPCs; the destructor waits for them (their callbacks touch
  // this object).
  absl::Mutex mu_;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;
};

class RaftService final : public samsa::v1::Raft::CallbackService {
 public:
  // Attaches (or with nullptr detaches) the node that receives messages.
  void Attach(Node* node);

  grpc::ServerUnaryReactor* Vote(grpc::CallbackServerContext* ctx,
                                 const samsa::v1::RaftMessage* request,
                                 samsa::v1::RaftAck* response) override;
  grpc::ServerReadReactor<samsa::v1::RaftMessage>* AppendEntries(
      grpc::CallbackServerContext* ctx, samsa::v1::RaftAck* response) override;
  grpc::ServerUnaryReactor* InstallSnapshot(grpc::CallbackServerContext* ctx,
                                            const samsa::v1::RaftMessage* request,
                                            samsa::v1::RaftAck* response) override;
  grpc::ServerUnaryReactor* TimeoutNow(grpc::CallbackServerContext* ctx,
                                       const samsa::v1::RaftMessage* request,
                                       samsa::v1::RaftAck* response) override;

 private:
  class AppendReader;
  grpc::ServerUnaryReactor* Handle(grpc::CallbackServerContext* ctx,
                                   const samsa::v1::RaftMessage* request,
                                   std::initializer_list<MessageType> allowed);
  // Converts, checks the family and hands `request` to the node.
  grpc::Status Deliver(const samsa::v1::RaftMessage& request,
                       std::initializer_list<MessageType> allowed);

  absl::Mutex mu_;
  Node* node_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace samsa::raft
