// Metadata: the client's view of the cluster — brokers and, for the topics
// it uses, partition leaders and epochs — from the Broker.Metadata RPC.
// Refresh asks the brokers it knows (then the bootstrap list) in turn until
// one answers. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "client/transport.h"
#include "common/await.h"

namespace samsa::client {

// "host:port,host:port" -> the addresses; INVALID_ARGUMENT naming the bad
// entry.
absl::StatusOr<std::vector<std::string>> ParseBootstrap(const std::string& list);

struct LeaderInfo {
  int32_t broker = -1;
  std::string address;
  int32_t epoch = 0;
};

class Metadata {
 public:
  Metadata(Transport* transport, std::vector<std::string> bootstrap)
      : transport_(transport), bootstrap_(std::move(bootstrap)) {}

  // Fetches metadata for `topics` (added to those tracked; empty: only the
  // tracked ones, or every topic when none is tracked) within `timeout`,
  // giving up (CANCELLED) once `cancel` is cancelled.
  absl::Status Refresh(const std::vector<std::string>& topics, absl::Duration timeout,
                       Cancellation* cancel = nullptr);
  // The last answer as received (every topic when nothing was tracked).
  v1::MetadataResponse last() const;

  // The topic's partition count, or its error (UNKNOWN_TOPIC_OR_PARTITION
  // as a Kafka error; NOT_FOUND when never fetched).
  absl::StatusOr<int32_t> PartitionCount(const std::string& topic) const;
  // The partition's leader, if one is known.
  std::optional<LeaderInfo> Leader(const std::string& topic, int32_t partition) const;
  // Where to send a call that any broker can answer.
  std::string AnyBroker() const;

 private:
  Transport* const transport_;
  const std::vector<std::string> bootstrap_;
  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> tracked_ ABSL_GUARDED_BY(mu_);
  v1::MetadataResponse last_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int32_t, std::string> brokers_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, v1::TopicDescription> topics_ ABSL_GUARDED_BY(mu_);
  mutable size_t next_ ABSL_GUARDED_BY(mu_) = 0;  // rotates AnyBroker()
};

}  // namespace samsa::client
