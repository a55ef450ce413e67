// ReplicaChannel: how a follower's fetcher reaches the Replica service of
// the broker it follows. Production uses gRPC; tests and simulations pass
// a ReplicaChannelFactory of their own (an in-process leader, a simulated
// network, or none at all) to ReplicaManagerOptions.
//
// Threads: Fetch is called by one thread at a time (the fetcher's); Cancel
// from any thread, at any time.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/ids.h"
#include "samsa/v1/broker.pb.h"

namespace samsa::broker {

class ReplicaChannel {
 public:
  virtual ~ReplicaChannel() = default;

  // Sends `request` and waits for the answer, at most `timeout`; an error
  // status when there is none (unreachable leader, timeout, cancelled).
  virtual absl::StatusOr<v1::ReplicaFetchResponse> Fetch(const v1::ReplicaFetchRequest& request,
                                                         absl::Duration timeout) = 0;
  // Makes the Fetch in progress, and every later one, return CANCELLED
  // without waiting for the leader.
  virtual void Cancel() = 0;
};

// A channel to broker `leader` at `address` (its host:port).
using ReplicaChannelFactory =
    std::function<std::unique_ptr<ReplicaChannel>(NodeId leader, const std::string& address)>;

// gRPC to `address`; waits for the connection (within the timeout).
std::unique_ptr<ReplicaChannel> NewGrpcReplicaChannel(NodeId leader, const std::string& address);

}  // namespace samsa::broker
