#include "client/transport.h"

#include "absl/strings/str_cat.h"
#include "client/errors.h"
#include "common/grpc_channel.h"

namespace samsa::client {

GrpcTransport::~GrpcTransport() {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return in_flight_ == 0; };
  mu_.Await(absl::Condition(&idle));
}

template <typename Request, typename Response, typename Start>
void GrpcTransport::Call(const std::string& address, const char* name, Request request,
                         absl::Duration timeout, Reply<Response> reply, Start start) {
  struct State {
    grpc::ClientContext ctx;
    Request request;
    Response response;
    Reply<Response> reply;
    std::string what;
  };
  v1::Broker::Stub* stub = Stub(address);
  auto* s =
      new State{{}, std::move(request), {}, std::move(reply), absl::StrCat(name, " to ", address)};
  s->ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  {
    absl::MutexLock lock(&mu_);
    ++in_flight_;
  }
  start(stub->async(), &s->ctx, &s->request, &s->response, [this, s](grpc::Status status) {
    if (status.ok()) {
      s->reply(std::move(s->response));
    } else {
      s->reply(RpcError(s->what, status));
    }
    delete s;
    absl::MutexLock lock(&mu_);  // the last use of the transport
    --in_flight_;
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
