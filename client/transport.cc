#include "client/transport.h"

#include "absl/strings/str_cat.h"
#include "client/errors.h"
#include "common/grpc_channel.h"

namespace samsa::client {
namespace {

// One asynchronous unary call; owns its context and messages until the
// answer arrives.
// `method(async, ctx, request, response, done)` starts the call.
template <typename Request, typename Response, typename Method>
void Call(v1::Broker::Stub* stub, const std::string& address, const char* name,
          const Request& request, absl::Duration timeout, Reply<Response> reply, Method method) {
  struct State {
    grpc::ClientContext ctx;
    Request request;
    Response response;
    Reply<Response> reply;
    std::string what;
  };
  auto* s = new State{{}, request, {}, std::move(reply), absl::StrCat(name, " to ", address)};
  s->ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  // Fail fast when the broker is down: the caller refreshes its metadata
  // and retries elsewhere rather than waiting out the deadline.
  method(stub->async(), &s->ctx, &s->request, &s->response, [s](grpc::Status status) {
    if (status.ok()) {
      s->reply(std::move(s->response));
    } else {
      s->reply(RpcError(s->what, status));
    }
    delete s;
  });
}

}  // namespace

v1::Broker::Stub* GrpcTransport::Stub(const std::string& address) {
  absl::MutexLock lock(&mu_);
  std::unique_ptr<v1::Broker::Stub>& stub = stubs_[address];
  if (stub == nullptr) stub = v1::Broker::NewStub(NewChannel(address));
  return stub.get();
}

#define SAMSA_TRANSPORT_CALL(Method)                                                         \
  void GrpcTransport::Method(const std::string& address, const v1::Method##Request& request, \
                             absl::Duration timeout, Reply<v1::Method##Response> reply) {    \
    Call(Stub(address), address, #Method, request, timeout, std::move(reply),                \
         [](auto* async, auto* ctx, auto* req, auto* resp, auto done) {                      \
           async->Method(ctx, req, resp, std::move(done));                                   \
         });                                                                                 \
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
