#include "common/metadata_describe.h"

#include "absl/strings/str_cat.h"

namespace samsa {

void DescribeTopic(const TopicImage& topic, v1::TopicDescription* out) {
  out->set_name(topic.name);
  *out->mutable_topic_id() = topic.id.ToProto();
  for (size_t i = 0; i < topic.partitions.size(); ++i) {
    const PartitionImage& p = topic.partitions[i];
    v1::PartitionDescription* d = out->add_partitions();
    d->set_partition(static_cast<int32_t>(i));
    d->set_leader(p.leader.value());
    d->set_leader_epoch(p.leader_epoch.value());
    d->set_partition_epoch(p.partition_epoch);
    for (NodeId r : p.replicas) d->add_replicas(r.value());
    for (NodeId r : p.isr) d->add_isr(r.value());
    for (NodeId r : p.adding) d->add_adding_replicas(r.value());
    for (NodeId r : p.removing) d->add_removing_replicas(r.value());
  }
}

void DescribeBroker(const BrokerImage& b, v1::BrokerDescription* out) {
  out->set_broker_id(b.id.value());
  out->set_address(b.address);
  out->set_rack(b.rack);
  out->set_broker_epoch(b.epoch);
  out->set_state(b.fenced          ? v1::BrokerDescription::FENCED
                 : b.shutting_down ? v1::BrokerDescription::SHUTTING_DOWN
                                   : v1::BrokerDescription::ACTIVE);
  out->set_decommissioning(b.decommissioning);
}

void DescribeTopics(const MetadataImage& image,
                    const google::protobuf::RepeatedPtrField<std::string>& names,
                    google::protobuf::RepeatedPtrField<v1::TopicDescription>* out) {
  if (names.empty()) {
    for (const auto& [name, topic] : image.topics()) DescribeTopic(*topic, out->Add());
    return;
  }
  for (const std::string& name : names) {
    v1::TopicDescription* d = out->Add();
    const TopicImage* topic = image.FindTopic(name);
    if (topic == nullptr) {
      d->set_name(name);
      d->mutable_error()->set_code(v1::UNKNOWN_TOPIC_OR_PARTITION);
      d->mutable_error()->set_message(absl::StrCat("no topic '", name, "'"));
      continue;
    }
    DescribeTopic(*topic, d);
  }
}

}  // namespace samsa
