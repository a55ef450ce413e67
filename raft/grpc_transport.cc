#include "raft/grpc_transport.h"

#include "common/grpc_channel.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <deque>

#include "absl/strings/str_cat.h"
#include "raft/wire.h"

namespace samsa::raft {

// One AppendEntries stream to a peer. Messages queue here and are written
// one at a time; when the stream breaks it unhooks itself from its peer (a
// later Send opens a new one) and deletes itself once gRPC is done with it.
class GrpcTransport::AppendStream final : public grpc::ClientWriteReactor<samsa::v1::RaftMessage> {
 public:
  AppendStream(GrpcTransport* owner, Peer* peer) : owner_(owner), peer_(peer) {
    peer->stub->async()->AppendEntries(&ctx_, &ack_, this);
    StartCall();
  }

  // Queues `m`; false when the queue is full (the message is dropped).
  bool Enqueue(const Message& m) {
    {
      absl::MutexLock lock(&mu_);
      if (broken_ || queue_.size() >= kMaxQueued) return false;
      ToProto(m, &queue_.emplace_back());
      if (writing_) return true;
      writing_ = true;
      current_ = std::move(queue_.front());
      queue_.pop_front();
    }
    StartWrite(&current_);
    return true;
  }

  // Ends the stream after what is queued (transport shutdown).
  void Close() {
    absl::MutexLock lock(&mu_);
    closing_ = true;
    if (!writing_ && !broken_) {
      broken_ = true;
      StartWritesDone();
    }
  }

  void OnWriteDone(bool ok) override {
    {
      absl::MutexLock lock(&mu_);
      if (!ok) {
        broken_ = true;  // OnDone follows
        writing_ = false;
        return;
      }
      if (queue_.empty()) {
        writing_ = false;
        if (closing_ && !broken_) {
          broken_ = true;
          StartWritesDone();
        }
        return;
      }
      current_ = std::move(queue_.front());
      queue_.pop_front();
    }
    StartWrite(&current_);
  }

  void OnDone(const grpc::Status& st) override {
    if (!st.ok()) owner_->dropped_.fetch_add(1, std::memory_order_relaxed);
    {
      absl::MutexLock lock(&peer_->mu);
      if (peer_->stream == this) peer_->stream = nullptr;
    }
    GrpcTransport* owner = owner_;
    delete this;
    absl::MutexLock lock(&owner->mu_);
    --owner->outstanding_;
  }

 private:
  static constexpr size_t kMaxQueued = 10000;
  GrpcTransport* const owner_;
  Peer* const peer_;
  grpc::ClientContext ctx_;
  samsa::v1::RaftAck ack_;
  absl::Mutex mu_;
  std::deque<samsa::v1::RaftMessage> queue_ ABSL_GUARDED_BY(mu_);
  samsa::v1::RaftMessage current_;  // being written
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
};

GrpcTransport::GrpcTransport(const absl::flat_hash_map<NodeId, std::string>& peers,
                             absl::Duration rpc_timeout, int max_in_flight)
    : rpc_timeout_(rpc_timeout), max_in_flight_(max_in_flight) {
  for (const auto& [id, address] : peers) {
    auto peer = std::make_unique<Peer>();
    peer->stub = samsa::v1::Raft::NewStub(NewChannel(address));
    peers_[id] = std::move(peer);
  }
}

GrpcTransport::~GrpcTransport() {
  for (auto& [id, peer] : peers_) {
    absl::MutexLock lock(&peer->mu);
    if (peer->stream != nullptr) peer->stream->Close();
  }
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
  if (m.type == MessageType::kAppend || m.type == MessageType::kAppendResponse) {
    SendOnStream(it->second.get(), m);
  } else {
    SendUnary(it->second.get(), m);
  }
}

void GrpcTransport::SendOnStream(Peer* peer, const Message& m) {
  absl::MutexLock lock(&peer->mu);
  if (peer->stream == nullptr) {
    {
      absl::MutexLock owner_lock(&mu_);
      ++outstanding_;
    }
    peer->stream = new AppendStream(this, peer);
  }
  if (!peer->stream->Enqueue(m)) dropped_.fetch_add(1, std::memory_order_relaxed);
}

void GrpcTransport::SendUnary(Peer* peer, const Message& m) {
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
    case MessageType::kSnapshot:
    case MessageType::kSnapshotResponse:
      async->InstallSnapshot(&call->ctx, &call->request, &call->response, std::move(done));
      break;
    case MessageType::kTimeoutNow:
      async->TimeoutNow(&call->ctx, &call->request, &call->response, std::move(done));
      break;
    case MessageType::kAppend:
    case MessageType::kAppendResponse:
      break;  // streamed (SendOnStream)
  }
}

void RaftService::Attach(Node* node) {
  absl::MutexLock lock(&mu_);
  node_ = node;
}

grpc::Status RaftService::Deliver(const samsa::v1::RaftMessage& request,
                                  std::initializer_list<MessageType> allowed) {
  absl::StatusOr<Message> m = FromProto(request);
  if (!m.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(m.status().message()));
  }
  if (std::find(allowed.begin(), allowed.end(), m->type) == allowed.end()) {
    return grpc::Status(
        grpc::StatusCode::INVALID_ARGUMENT,
        absl::StrCat("a ", MessageTypeName(m->type), " message does not belong on this RPC"));
  }
  absl::MutexLock lock(&mu_);
  if (node_ == nullptr) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "raft node not running");
  }
  node_->Receive(std::move(*m));
  return grpc::Status::OK;
}

grpc::ServerUnaryReactor* RaftService::Handle(grpc::CallbackServerContext* ctx,
                                              const samsa::v1::RaftMessage* request,
                                              std::initializer_list<MessageType> allowed) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(Deliver(*request, allowed));
  return reactor;
}

// Reads an AppendEntries stream until the peer closes it or sends something
// unacceptable.
class RaftService::AppendReader final : public grpc::ServerReadReactor<samsa::v1::RaftMessage> {
 public:
  explicit AppendReader(RaftService* service) : service_(service) { StartRead(&message_); }

  void OnReadDone(bool ok) override {
    if (!ok) {
      Finish(grpc::Status::OK);  // the peer closed the stream
      return;
    }
    grpc::Status st =
        service_->Deliver(message_, {MessageType::kAppend, MessageType::kAppendResponse});
    if (!st.ok() && st.error_code() != grpc::StatusCode::UNAVAILABLE) {
      Finish(st);
      return;
    }
    StartRead(&message_);  // while our node restarts, messages are dropped
  }

  void OnDone() override { delete this; }

 private:
  RaftService* const service_;
  samsa::v1::RaftMessage message_;
};

grpc::ServerUnaryReactor* RaftService::Vote(grpc::CallbackServerContext* ctx,
                                            const samsa::v1::RaftMessage* request,
                                            samsa::v1::RaftAck*) {
  return Handle(ctx, request,
                {MessageType::kPreVote, MessageType::kPreVoteResponse, MessageType::kVote,
                 MessageType::kVoteResponse});
}

grpc::ServerReadReactor<samsa::v1::RaftMessage>* RaftService::AppendEntries(
    grpc::CallbackServerContext*, samsa::v1::RaftAck*) {
  return new AppendReader(this);
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
