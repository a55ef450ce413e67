#include "client/transport.h"

#include "absl/strings/str_cat.h"
#include "client/errors.h"
#include "common/grpc_channel.h"

namespace samsa::client {

GrpcTransport::~GrpcTransport() {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_flight_.empty(); };
  mu_.Await(absl::Condition(&idle));
}

void GrpcTransport::CancelAll() {
  std::vector<std::shared_ptr<grpc::ClientContext>> calls;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, ctx] : in_flight_) calls.push_back(ctx);
  }
  // Outside mu_: a cancelled call's reply may run at once, and takes it.
  for (const std::shared_ptr<grpc::ClientContext>& ctx : calls) ctx->TryCancel();
}

template <typename Request, typename Response, typename Start>
void GrpcTransport::Call(const std::string& address, const char* name, Request request,
                         absl::Duration timeout, Reply<Response> reply, Start start) {
  struct State {
    std::shared_ptr<grpc::ClientContext> ctx;
    Request request;
    Response response;
    Reply<Response> reply;
    std::string what;
  };
  v1::Broker::Stub* stub = Stub(address);
  auto* s = new State{std::make_shared<grpc::ClientContext>(),
                      std::move(request),
                      {},
                      std::move(reply),
                      absl::StrCat(name, " to ", address)};
  s->ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    id = next_call_++;
    in_flight_.emplace(id, s->ctx);
  }
  start(stub->async(), s->ctx.get(), &s->request, &s->response, [this, s, id](grpc::Status status) {
    if (status.ok()) {
      s->reply(std::move(s->response));
    } else {
      s->reply(RpcError(s->what, status));
    }
    delete s;
    absl::MutexLock lock(&mu_);  // the last use of the transport
    in_flight_.erase(id);
  });
}

v1::Broker::Stub* GrpcTransport::Stub(const std::string& address) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<v1::Broker::Stub>& stub = stubs_[address];
  if (stub == nullptr) stub = v1::Broker::NewStub(NewChannel(address));
  return stub.get();
}

#define SAMSA_TRANSPORT_CALL(Method)                                                      \
  void GrpcTransport::Method(const std::string& address, v1::Method##Request request,     \
                             absl::Duration timeout, Reply<v1::Method##Response> reply) { \
    Call(address, #Method, std::move(request), timeout, std::move(reply),                 \
         [](auto* async, auto* ctx, auto* req, auto* resp, auto done) {                   \
           async->Method(ctx, req, resp, std::move(done));                                \
         });                                                                              \
  }

SAMSA_TRANSPORT_CALL(Metadata)
SAMSA_TRANSPORT_CALL(InitProducerId)
SAMSA_TRANSPORT_CALL(Produce)
SAMSA_TRANSPORT_CALL(Fetch)
SAMSA_TRANSPORT_CALL(ListOffsets)
SAMSA_TRANSPORT_CALL(FindCoordinator)
SAMSA_TRANSPORT_CALL(ConsumerGroupHeartbeat)
SAMSA_TRANSPORT_CALL(OffsetCommit)
SAMSA_TRANSPORT_CALL(OffsetFetch)

#undef SAMSA_TRANSPORT_CALL

}  // namespace samsa::client
