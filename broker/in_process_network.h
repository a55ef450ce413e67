// InProcessNetwork: brokers of one process joined without sockets, for
// tests and simulations. A follower's fetch is served by the leader's own
// ReplicaManager, and its answer crosses the same wire encoding a gRPC
// answer does; a broker that has not joined (or has left) is unreachable.
//
// Thread-safe. The network must outlive the channels it made.
#pragma once

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "broker/replica_channel.h"
#include "broker/replica_manager.h"

namespace samsa::broker {

class InProcessNetwork {
 public:
  // `replicas` serves broker `id`'s Replica service until Leave(id).
  void Join(NodeId id, ReplicaManager* replicas);
  // Once it returns, no fetch calls into `id`'s manager any more (fetches
  // it has parked are its to answer, as its Close does).
  void Leave(NodeId id);
  // For ReplicaManagerOptions::replica_channel.
  ReplicaChannelFactory Channels();

 private:
  class Channel;

  absl::Mutex mu_;
  absl::flat_hash_map<NodeId, ReplicaManager*> brokers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace samsa::broker
