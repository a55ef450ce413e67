// Answering a gRPC callback-API unary call from a completion callback.
// Header-only; users link gRPC (samsa_proto does).
#pragma once

#include <utility>

#include "absl/functional/any_invocable.h"
#include "grpcpp/support/server_callback.h"
#include "grpcpp/support/status.h"

namespace samsa {

// A callback that stores its argument in `out` (the call's response) and
// finishes `reactor` with OK.
template <typename Response>
absl::AnyInvocable<void(Response)> ReplyTo(grpc::ServerUnaryReactor* reactor, Response* out) {
  return [reactor, out](Response r) {
    *out = std::move(r);
    reactor->Finish(grpc::Status::OK);
  };
}

}  // namespace samsa
