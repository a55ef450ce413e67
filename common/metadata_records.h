// Builders for metadata records (proto/samsa/v1/metadata.proto), so the
// controller that writes them and the tests that replay them spell each
// record one way.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/metadata_image.h"

namespace samsa::records {

v1::MetadataRecord RegisterBroker(NodeId id, const Uuid& incarnation, int64_t epoch,
                                  std::string address, std::string rack);
v1::MetadataRecord FenceBroker(NodeId id, int64_t epoch);
v1::MetadataRecord UnfenceBroker(NodeId id, int64_t epoch);
v1::MetadataRecord BrokerShutdown(NodeId id, int64_t epoch);
v1::MetadataRecord BrokerDecommission(NodeId id);
v1::MetadataRecord BrokerRecommission(NodeId id);
v1::MetadataRecord UnregisterBroker(NodeId id, int64_t epoch);
v1::MetadataRecord Topic(std::string name, const Uuid& id);
v1::MetadataRecord Partition(const Uuid& topic, int32_t partition, const PartitionImage& p);
// A partition's replicas and the moving ones, as a reassignment step sets them.
struct ReplicaSets {
  std::vector<NodeId> replicas;
  std::vector<NodeId> adding;
  std::vector<NodeId> removing;
};
// `leader` set: a new leader (the leader epoch goes up); `isr` set: a new
// ISR; `sets` set: a reassignment starts, completes or is cancelled.
v1::MetadataRecord PartitionChange(const Uuid& topic, int32_t partition,
                                   std::optional<NodeId> leader,
                                   const std::optional<std::vector<NodeId>>& isr,
                                   const std::optional<ReplicaSets>& sets = std::nullopt);
v1::MetadataRecord RemoveTopic(const Uuid& topic);
// `value` absent: the override is removed.
v1::MetadataRecord Config(const Uuid& topic, std::string key, std::optional<std::string> value);
v1::MetadataRecord ProducerIdBlock(NodeId broker, int64_t broker_epoch, int64_t first_id,
                                   int64_t size);

}  // namespace samsa::records
