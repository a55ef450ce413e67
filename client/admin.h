// Admin: topics and cluster administration through any broker (which
// forwards to the active controller). Each call waits at most `timeout`
// (config), trying the next broker when one does not answer; errors carry
// the Kafka code (errors.h).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/metadata.h"
#include "client/transport.h"

namespace samsa::client {

struct AdminConfig {
  std::string bootstrap = "127.0.0.1:9092";
  absl::Duration timeout = absl::Seconds(30);
};

struct TopicDescription {
  std::string name;
  std::string topic_id;  // hex, as in the controller's logs
  std::vector<v1::PartitionDescription> partitions;
  std::vector<v1::ConfigEntry> configs;  // every config, defaults included
};

struct GroupPartitionOffset {
  std::string topic;
  int32_t partition = 0;
  int64_t committed = -1;
  int64_t log_end = -1;  // the partition's high watermark
  int64_t lag = 0;       // log_end - committed
  std::string owner;     // the member holding it; empty: none
};

struct GroupDescription {
  std::string group;
  std::string state;  // empty, reconciling, stable
  int32_t epoch = 0;
  std::vector<v1::DescribeGroupsResponse::Member> members;
  std::vector<GroupPartitionOffset> offsets;
};

// Where reset-offsets moves a group: a position, an offset, or the first
// record at or after a time.
struct OffsetTarget {
  enum class Kind { kEarliest, kLatest, kOffset, kTimestamp };
  Kind kind = Kind::kEarliest;
  int64_t value = 0;  // the offset, or the time in ms since the epoch
};

struct ClusterDescription {
  v1::DescribeClusterResponse brokers;
  v1::DescribeQuorumResponse quorum;
};

class Admin {
 public:
  static absl::StatusOr<std::unique_ptr<Admin>> Create(AdminConfig config);

  // partitions / replication_factor 0: the controller's defaults.
  absl::Status CreateTopic(const std::string& name, int32_t partitions, int32_t replication_factor,
                           const std::map<std::string, std::string>& configs);
  absl::Status DeleteTopic(const std::string& name);
  absl::StatusOr<std::vector<std::string>> ListTopics();
  absl::StatusOr<TopicDescription> DescribeTopic(const std::string& name);
  // Sets `set` and resets `reset` to their defaults.
  absl::Status AlterConfigs(const std::string& name, const std::map<std::string, std::string>& set,
                            const std::vector<std::string>& reset);
  absl::Status CreatePartitions(const std::string& name, int32_t total);
  // Cluster-wide dynamic configs (common/cluster_config.h): sets `set` and
  // resets `reset` to each broker's own value.
  absl::Status AlterClusterConfigs(const std::map<std::string, std::string>& set,
                                   const std::vector<std::string>& reset);
  absl::StatusOr<ClusterDescription> DescribeCluster();

  // Moves `topic`-`partition` to `replicas` (the first is the preferred
  // leader); returns once the move has started (it completes in the
  // background: ListReassignments).
  absl::Status Reassign(const std::string& topic, int32_t partition,
                        const std::vector<int32_t>& replicas);
  // Rolls a move back to the partition's original replicas.
  absl::Status CancelReassignment(const std::string& topic, int32_t partition);
  // Moves every replica off `broker`; returns the replicas it holds.
  absl::StatusOr<int32_t> DecommissionBroker(int32_t broker);
  // Takes a decommission back: `broker` gets replicas again.
  absl::StatusOr<int32_t> RecommissionBroker(int32_t broker);
  // The balancer's plan; its first moves start and the controller carries
  // on until brokers are even.
  absl::StatusOr<v1::BalancePartitionsResponse> Balance();
  // The plan Balance would start, changing nothing.
  absl::StatusOr<v1::BalancePartitionsResponse> PlanBalance();
  // The moves in progress (of `topics`, or all), with their progress.
  absl::StatusOr<std::vector<v1::PartitionReassignment>> ListReassignments(
      const std::vector<std::string>& topics);

  // Consumer groups: every broker's, sorted by name.
  absl::StatusOr<std::vector<v1::ListGroupsResponse::Group>> ListGroups();
  // The group's members and committed offsets, with each partition's log
  // end and lag.
  absl::StatusOr<GroupDescription> DescribeGroup(const std::string& group);
  // Deletes a group without members and its offsets.
  absl::Status DeleteGroup(const std::string& group);
  // Moves the group's committed offsets of every partition of `topic` to
  // `target` (a group without members only: NON_EMPTY_GROUP otherwise);
  // the offsets now committed.
  absl::StatusOr<std::map<int32_t, int64_t>> ResetOffsets(const std::string& group,
                                                          const std::string& topic,
                                                          OffsetTarget target);

 private:
  absl::StatusOr<int32_t> Decommission(const v1::DecommissionBrokerRequest& req);
  absl::StatusOr<v1::BalancePartitionsResponse> Balance(const v1::BalancePartitionsRequest& req);
  Admin(AdminConfig config, std::vector<std::string> bootstrap);
  // Calls `rpc(stub, ctx, response)` on brokers in turn until one answers
  // within the timeout.
  template <typename Response, typename Rpc>
  absl::StatusOr<Response> Call(const char* what, Rpc rpc);
  // Calls `rpc` on the broker at `address` (up to the timeout).
  template <typename Response, typename Rpc>
  absl::StatusOr<Response> CallAt(const std::string& address, const char* what, Rpc rpc);
  absl::Status AlterReassignments(const v1::AlterPartitionReassignmentsRequest& request);
  absl::Status SendAlterConfigs(const v1::AlterConfigsRequest& request);
  // The address of `group`'s coordinator.
  absl::StatusOr<std::string> Coordinator(const std::string& group);
  // The offsets of `topic`'s partitions at `target` (from their leaders),
  // asked again while the answer is a retriable error (a leader moving, a
  // new leader's high watermark catching up) for up to the timeout.
  absl::StatusOr<std::map<int32_t, int64_t>> Offsets(const std::string& topic, OffsetTarget target);
  absl::StatusOr<std::map<int32_t, int64_t>> OffsetsOnce(const std::string& topic,
                                                         OffsetTarget target);

  const AdminConfig config_;
  std::shared_ptr<GrpcTransport> transport_;
  Metadata metadata_;
};

std::string UuidHex(const v1::Uuid& id);

}  // namespace samsa::client
