// gRPC channels between Samsa processes. gRPC's default reconnect backoff
// grows to two minutes, far longer than an election timeout or a broker
// session: a peer that restarted would look dead long after it is back.
// Header-only; users link gRPC (samsa_proto does).
#pragma once

#include <memory>
#include <string>

#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace samsa {

// A channel to `address` (host:port) that retries a lost connection after
// 50 ms, backing off to at most `max_backoff`. Answers of any size are
// accepted (gRPC's default stops at 4 MiB): the caller bounds them with the
// max_bytes of its requests, as a catching-up follower's 8 MiB fetches do.
inline std::shared_ptr<grpc::Channel> NewChannel(const std::string& address,
                                                 absl::Duration max_backoff = absl::Seconds(1)) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 50);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS,
              static_cast<int>(absl::ToInt64Milliseconds(max_backoff)));
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

}  // namespace samsa
