// Topic administration decisions: each function checks a request against
// the image of the pending batch, adds the records it implies to the batch,
// and returns the answer per topic. Nothing here blocks or touches Raft: the
// QuorumController proposes the batch and answers once it is committed.
//
// Error codes (Kafka's) and when:
//   INVALID_TOPIC_EXCEPTION     name not [a-zA-Z0-9._-]{1,249}, "." or "..",
//                               "__" prefix (internal), or it collides with
//                               an existing name once '.' and '_' are equated
//   TOPIC_ALREADY_EXISTS        create of an existing name
//   UNKNOWN_TOPIC_OR_PARTITION  delete/alter/describe of a missing topic
//   INVALID_PARTITIONS          partitions < 1 or > 100000; a partition count
//                               that does not grow
//   INVALID_REPLICATION_FACTOR  < 1, or more than the available brokers
//   INVALID_CONFIG              unknown topic config key or a bad value
//   INVALID_REQUEST             a topic named twice in one request
//   UNKNOWN_TOPIC_OR_PARTITION  (create) a broker's auto-create while
//                               auto.create.topics.enable is false
#pragma once

#include <string>

#include "absl/functional/function_ref.h"
#include "common/wire_error.h"
#include "controller/pending_batch.h"
#include "samsa/v1/controller.pb.h"

namespace samsa::controller {

// Cluster-wide topic defaults (the controller's config).
struct TopicDefaults {
  int32_t partitions = 1;
  int32_t replication_factor = 1;
  int32_t min_insync_replicas = 1;
  bool auto_create = false;  // auto.create.topics.enable
};

inline constexpr int32_t kMaxPartitions = 100000;

v1::CreateTopicsResponse CreateTopics(const v1::CreateTopicsRequest& request,
                                      const TopicDefaults& defaults,
                                      absl::FunctionRef<Uuid()> new_topic_id, PendingBatch& batch);
v1::DeleteTopicsResponse DeleteTopics(const v1::DeleteTopicsRequest& request, PendingBatch& batch);
v1::CreatePartitionsResponse CreatePartitions(const v1::CreatePartitionsRequest& request,
                                              PendingBatch& batch);
v1::AlterConfigsResponse AlterConfigs(const v1::AlterConfigsRequest& request, PendingBatch& batch);

v1::DescribeConfigsResponse DescribeConfigs(const v1::DescribeConfigsRequest& request,
                                            const MetadataImage& image);
v1::DescribeTopicsResponse DescribeTopics(const v1::DescribeTopicsRequest& request,
                                          const MetadataImage& image);

// Whether a new topic's name may start with "__" (internal topics, which
// only the cluster itself creates).
enum class ReservedNames { kRefused, kAllowed };
// OK, or why `name` cannot name a new topic (without the collision check).
absl::Status ValidateTopicName(std::string_view name, ReservedNames reserved);

}  // namespace samsa::controller
