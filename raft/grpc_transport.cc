#include "raft/grpc_transport.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "raft/wire.h"

namespace samsa::raft {

GrpcTransport::GrpcTransport(const absl::flat_hash_map<NodeId, std::string>& peers,
                             absl::Duration rpc_timeout, int max_in_flight)
    : rpc_timeout_(rpc_timeout), max_in_flight_(max_in_flight) {
  for (const auto& [id, address] : peers) {
    auto peer = std::make_unique<Peer>();
    peer->stub =
        samsa::v1::Raft::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
    peers_[id] = std::move(peer);
  }
}

GrpcTransport::~GrpcTransport() {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return outstanding_ == 0; };
  mu_.Await(absl::Condition(&idle));
}

void GrpcTransport::Send(const Message& m) {
  auto it = peers_.find(m.to);
  if (it == peers_.end()) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  Peer* peer = it->second.get();
  if (peer->in_flight.fetch_add(1, std::memory_order_relaxed) >= max_in_flight_) {
    peer->in_flight.fetch_sub(1, std::memory_order_relaxed);
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  struct Call {
    grpc::ClientContext ctx;
    samsa::v1::RaftMessage request;
    samsa::v1::RaftAck response;
  };
  auto* call = new Call;
  ToProto(m, &call->request);
  call->ctx.set_deadline(absl::ToChronoTime(absl::Now() + rpc_timeout_));
  {
    absl::MutexLock lock(&mu_);
    ++outstanding_;
  }
  auto done = [this, call, peer](grpc::Status st) {
    if (!st.ok()) dropped_.fetch_add(1, std::memory_order_relaxed);
    peer->in_flight.fetch_sub(1, std::memory_order_relaxed);
    delete call;
    absl::MutexLock lock(&mu_);
    --outstanding_;
  };
  auto* async = peer->stub->async();
  switch (m.type) {
    case MessageType::kPreVote:
    case MessageType::kPreVoteResponse:
    case MessageType::kVote:
    case MessageType::kVoteResponse:
      async->Vote(&call->ctx, &call->request, &call->response, std::move(done));
      break;
    case MessageType::kAppend:
    case MessageType::kAppendResponse:
      async->AppendEntries(&call->ctx, &call->request, &call->response, std::move(done));
      break;
    case MessageType::kSnapshot:
    case MessageType::kSnapshotResponse:
      async->InstallSnapshot(&call->ctx, &call->request, &call->response, std::move(done));
      break;
    case MessageType::kTimeoutNow:
      async->TimeoutNow(&call->ctx, &call->request, &call->response, std::move(done));
      break;
  }
}

void RaftService::Attach(Node* node) {
  absl::MutexLock lock(&mu_);
  node_ = node;
}

grpc::ServerUnaryReactor* RaftService::Handle(grpc::CallbackServerContext* ctx,
                                              const samsa::v1::RaftMessage* request,
                                              std::initializer_list<MessageType> allowed) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  absl::StatusOr<Message> m = FromProto(*request);
  if (!m.ok()) {
    reactor->Finish(
        grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(m.status().message())));
    return reactor;
  }
  if (std::find(allowed.begin(), allowed.end(), m->type) == allowed.end()) {
    reactor->Finish(grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("a ", MessageTypeName(m->type), " message does not belong on this RPC")));
    return reactor;
  }
  absl::MutexLock lock(&mu_);
  if (node_ == nullptr) {
    reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "raft node not running"));
    return reactor;
  }
  node_->Receive(std::move(*m));
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* RaftService::Vote(grpc::CallbackServerContext* ctx,
                                            const samsa::v1::RaftMessage* request,
                                            samsa::v1::RaftAck*) {
  return Handle(ctx, request,
                {MessageType::kPreVote, MessageType::kPreVoteResponse, MessageType::kVote,
                 MessageType::kVoteResponse});
}

grpc::ServerUnaryReactor* RaftService::AppendEntries(grpc::CallbackServerContext* ctx,
                                                     const samsa::v1::RaftMessage* request,
                                                     samsa::v1::RaftAck*) {
  return Handle(ctx, request, {MessageType::kAppend, MessageType::kAppendResponse});
}

grpc::ServerUnaryReactor* RaftService::InstallSnapshot(grpc::CallbackServerContext* ctx,
                                                       const samsa::v1::RaftMessage* request,
                                                       samsa::v1::RaftAck*) {
  return Handle(ctx, request, {MessageType::kSnapshot, MessageType::kSnapshotResponse});
}

grpc::ServerUnaryReactor* RaftService::TimeoutNow(grpc::CallbackServerContext* ctx,
                                                  const samsa::v1::RaftMessage* request,
                                                  samsa::v1::RaftAck*) {
  return Handle(ctx, request, {MessageType::kTimeoutNow});
}

}  // namespace samsa::raft
