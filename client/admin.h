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
  absl::StatusOr<ClusterDescription> DescribeCluster();

 private:
  Admin(AdminConfig config, std::vector<std::string> bootstrap);
  // Calls `rpc(stub, ctx, response)` on brokers in turn until one answers
  // within the timeout.
  template <typename Response, typename Rpc>
  absl::StatusOr<Response> Call(const char* what, Rpc rpc);

  const AdminConfig config_;
  std::shared_ptr<GrpcTransport> transport_;
  Metadata metadata_;
};

std::string UuidHex(const v1::Uuid& id);

}  // namespace samsa::client
