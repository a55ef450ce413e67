#include "common/metadata_records.h"

namespace samsa::records {

v1::MetadataRecord RegisterBroker(NodeId id, const Uuid& incarnation, int64_t epoch,
                                  std::string address, std::string rack) {
  v1::MetadataRecord r;
  v1::RegisterBrokerRecord* b = r.mutable_register_broker();
  b->set_broker_id(id.value());
  *b->mutable_incarnation_id() = incarnation.ToProto();
  b->set_broker_epoch(epoch);
  b->set_address(std::move(address));
  b->set_rack(std::move(rack));
  return r;
}

v1::MetadataRecord FenceBroker(NodeId id, int64_t epoch) {
  v1::MetadataRecord r;
  r.mutable_fence_broker()->set_broker_id(id.value());
  r.mutable_fence_broker()->set_broker_epoch(epoch);
  return r;
}

v1::MetadataRecord UnfenceBroker(NodeId id, int64_t epoch) {
  v1::MetadataRecord r;
  r.mutable_unfence_broker()->set_broker_id(id.value());
  r.mutable_unfence_broker()->set_broker_epoch(epoch);
  return r;
}

v1::MetadataRecord BrokerShutdown(NodeId id, int64_t epoch) {
  v1::MetadataRecord r;
  r.mutable_broker_shutdown()->set_broker_id(id.value());
  r.mutable_broker_shutdown()->set_broker_epoch(epoch);
  return r;
}

v1::MetadataRecord BrokerDecommission(NodeId id) {
  v1::MetadataRecord r;
  r.mutable_broker_decommission()->set_broker_id(id.value());
  r.mutable_broker_decommission()->set_decommissioning(true);
  return r;
}

v1::MetadataRecord BrokerRecommission(NodeId id) {
  v1::MetadataRecord r = BrokerDecommission(id);
  r.mutable_broker_decommission()->set_decommissioning(false);
  return r;
}

v1::MetadataRecord UnregisterBroker(NodeId id, int64_t epoch) {
  v1::MetadataRecord r;
  r.mutable_unregister_broker()->set_broker_id(id.value());
  r.mutable_unregister_broker()->set_broker_epoch(epoch);
  return r;
}

v1::MetadataRecord Topic(std::string name, const Uuid& id) {
  v1::MetadataRecord r;
  r.mutable_topic()->set_name(std::move(name));
  *r.mutable_topic()->mutable_topic_id() = id.ToProto();
  return r;
}

v1::MetadataRecord Partition(const Uuid& topic, int32_t partition, const PartitionImage& p) {
  v1::MetadataRecord r;
  v1::PartitionRecord* out = r.mutable_partition();
  *out->mutable_topic_id() = topic.ToProto();
  out->set_partition(partition);
  for (NodeId id : p.replicas) out->add_replicas(id.value());
  for (NodeId id : p.isr) out->add_isr(id.value());
  out->set_leader(p.leader.value());
  out->set_leader_epoch(p.leader_epoch.value());
  out->set_partition_epoch(p.partition_epoch);
  for (NodeId id : p.adding) out->add_adding_replicas(id.value());
  for (NodeId id : p.removing) out->add_removing_replicas(id.value());
  return r;
}

v1::MetadataRecord PartitionChange(const Uuid& topic, int32_t partition,
                                   std::optional<NodeId> leader,
                                   const std::optional<std::vector<NodeId>>& isr,
                                   const std::optional<ReplicaSets>& sets) {
  v1::MetadataRecord r;
  v1::PartitionChangeRecord* out = r.mutable_partition_change();
  *out->mutable_topic_id() = topic.ToProto();
  out->set_partition(partition);
  if (leader.has_value()) out->set_leader(leader->value());
  auto put = [](const std::vector<NodeId>& from, v1::BrokerIdList* to) {
    for (NodeId id : from) to->add_ids(id.value());
  };
  if (isr.has_value()) put(*isr, out->mutable_isr());
  if (sets.has_value()) {
    put(sets->replicas, out->mutable_replicas());
    put(sets->adding, out->mutable_adding_replicas());
    put(sets->removing, out->mutable_removing_replicas());
  }
  return r;
}

v1::MetadataRecord RemoveTopic(const Uuid& topic) {
  v1::MetadataRecord r;
  *r.mutable_remove_topic()->mutable_topic_id() = topic.ToProto();
  return r;
}

v1::MetadataRecord Config(const Uuid& topic, std::string key, std::optional<std::string> value) {
  v1::MetadataRecord r;
  *r.mutable_config()->mutable_topic_id() = topic.ToProto();
  r.mutable_config()->set_key(std::move(key));
  if (value.has_value()) r.mutable_config()->set_value(std::move(*value));
  return r;
}

v1::MetadataRecord ProducerIdBlock(NodeId broker, int64_t broker_epoch, int64_t first_id,
                                   int64_t size) {
  v1::MetadataRecord r;
  v1::ProducerIdBlockRecord* out = r.mutable_producer_id_block();
  out->set_broker_id(broker.value());
  out->set_broker_epoch(broker_epoch);
  out->set_first_id(first_id);
  out->set_size(size);
  return r;
}

}  // namespace samsa::records
