#include "common/metadata_image.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/status.h"
#include "common/string_view.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace samsa {

std::string Uuid::ToString() const { return absl::StrFormat("%016x%016x", hi, lo); }

v1::Uuid Uuid::ToProto() const {
  v1::Uuid u;
  u.set_most_significant_bits(hi);
  u.set_least_significant_bits(lo);
  return u;
}

bool ContainsId(const std::vector<NodeId>& ids, NodeId id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

std::vector<NodeId> IdsWithout(const std::vector<NodeId>& from, const std::vector<NodeId>& drop) {
  std::vector<NodeId> out;
  for (NodeId id : from) {
    if (!ContainsId(drop, id)) out.push_back(id);
  }
  return out;
}

std::vector<NodeId> IdsWithin(const std::vector<NodeId>& from, const std::vector<NodeId>& keep) {
  std::vector<NodeId> out;
  for (NodeId id : from) {
    if (ContainsId(keep, id)) out.push_back(id);
  }
  return out;
}

bool PartitionImage::InIsr(NodeId id) const { return ContainsId(isr, id); }
std::vector<NodeId> PartitionImage::Target() const { return IdsWithout(replicas, removing); }
std::vector<NodeId> PartitionImage::Original() const { return IdsWithout(replicas, adding); }

namespace {

std::vector<NodeId> ToIds(const google::protobuf::RepeatedField<int32_t>& ids) {
  std::vector<NodeId> out;
  out.reserve(ids.size());
  for (int32_t id : ids) out.emplace_back(id);
  return out;
}

template <typename Ids>
void FromIds(const std::vector<NodeId>& ids, Ids* out) {
  for (NodeId id : ids) out->Add(id.value());
}

PartitionImage FromRecord(const v1::PartitionRecord& r) {
  PartitionImage p;
  p.replicas = ToIds(r.replicas());
  p.isr = ToIds(r.isr());
  p.leader = NodeId(r.leader());
  p.leader_epoch = Epoch(r.leader_epoch());
  p.partition_epoch = r.partition_epoch();
  p.adding = ToIds(r.adding_replicas());
  p.removing = ToIds(r.removing_replicas());
  return p;
}

}  // namespace

const BrokerImage* MetadataImage::FindBroker(NodeId id) const {
  auto it = brokers_.find(id);
  return it == brokers_.end() ? nullptr : &it->second;
}

const TopicImage* MetadataImage::FindTopic(std::string_view name) const {
  auto it = topics_.find(ToAbsl(name));
  return it == topics_.end() ? nullptr : it->second.get();
}

const TopicImage* MetadataImage::FindTopic(const Uuid& id) const {
  auto it = topic_names_.find(id);
  return it == topic_names_.end() ? nullptr : FindTopic(it->second);
}

absl::Status MetadataImage::Apply(const v1::MetadataBatch& batch, int64_t offset) {
  if (offset <= offset_) {
    return absl::DataLossError(
        absl::StrCat("metadata offset ", offset, " is not above the image's offset ", offset_));
  }
  MetadataImage next = *this;
  for (int i = 0; i < batch.records_size(); ++i) {
    if (absl::Status st = next.ApplyRecord(batch.records(i), offset); !st.ok()) {
      return absl::DataLossError(
          absl::StrCat("metadata offset ", offset, ", record ", i, ": ", st.message()));
    }
  }
  next.offset_ = offset;
  *this = std::move(next);
  return absl::OkStatus();
}

void MetadataImage::AdvanceTo(int64_t offset) { offset_ = std::max(offset_, offset); }

absl::Status MetadataImage::ApplyRecord(const v1::MetadataRecord& record, int64_t offset) {
  switch (record.record_case()) {
    case v1::MetadataRecord::kRegisterBroker:
      return ApplyRegister(record.register_broker(), offset);
    case v1::MetadataRecord::kFenceBroker:
      return ApplyBrokerState(record.fence_broker().broker_id(),
                              record.fence_broker().broker_epoch(), "FenceBroker",
                              [](BrokerImage& b) { b.fenced = true; });
    case v1::MetadataRecord::kUnfenceBroker:
      return ApplyBrokerState(record.unfence_broker().broker_id(),
                              record.unfence_broker().broker_epoch(), "UnfenceBroker",
                              [](BrokerImage& b) { b.fenced = false; });
    case v1::MetadataRecord::kBrokerShutdown:
      return ApplyBrokerState(record.broker_shutdown().broker_id(),
                              record.broker_shutdown().broker_epoch(), "BrokerShutdown",
                              [](BrokerImage& b) { b.shutting_down = true; });
    case v1::MetadataRecord::kTopic:
      return ApplyTopic(record.topic());
    case v1::MetadataRecord::kPartition:
      return ApplyPartition(record.partition());
    case v1::MetadataRecord::kPartitionChange:
      return ApplyPartitionChange(record.partition_change());
    case v1::MetadataRecord::kRemoveTopic:
      return ApplyRemoveTopic(record.remove_topic());
    case v1::MetadataRecord::kConfig:
      return ApplyConfig(record.config());
    case v1::MetadataRecord::kProducerIdBlock:
      return ApplyProducerIds(record.producer_id_block());
    case v1::MetadataRecord::kBrokerDecommission:
      return ApplyDecommission(record.broker_decommission());
    case v1::MetadataRecord::kUnregisterBroker:
      return ApplyUnregister(record.unregister_broker());
    case v1::MetadataRecord::kNoOp:
      return absl::OkStatus();
    case v1::MetadataRecord::RECORD_NOT_SET:
      break;
  }
  return absl::InvalidArgumentError("a record of no known type");
}

absl::Status MetadataImage::ApplyRegister(const v1::RegisterBrokerRecord& r, int64_t offset) {
  if (r.broker_id() < 0) {
    return absl::InvalidArgumentError(absl::StrCat("RegisterBroker with id ", r.broker_id()));
  }
  if (r.broker_epoch() < next_broker_epoch_) {
    return absl::InvalidArgumentError(absl::StrCat("RegisterBroker ", r.broker_id(), " with epoch ",
                                                   r.broker_epoch(), " below the next epoch ",
                                                   next_broker_epoch_));
  }
  BrokerImage b;
  b.id = NodeId(r.broker_id());
  b.incarnation = Uuid::FromProto(r.incarnation_id());
  b.epoch = r.broker_epoch();
  b.address = r.address();
  b.rack = r.rack();
  b.registered_at = offset;
  brokers_[b.id] = std::move(b);
  next_broker_epoch_ = r.broker_epoch() + 1;
  return absl::OkStatus();
}

absl::Status MetadataImage::ApplyBrokerState(int32_t broker_id, int64_t epoch, const char* what,
                                             absl::FunctionRef<void(BrokerImage&)> change) {
  auto it = brokers_.find(NodeId(broker_id));
  if (it == brokers_.end()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " of unregistered broker ", broker_id));
  }
  if (it->second.epoch != epoch) {
    return absl::InvalidArgumentError(absl::StrCat(what, " of broker ", broker_id, " epoch ", epoch,
                                                   ", registered with epoch ", it->second.epoch));
  }
  change(it->second);
  return absl::OkStatus();
}

absl::Status MetadataImage::ApplyTopic(const v1::TopicRecord& r) {
  const Uuid id = Uuid::FromProto(r.topic_id());
  if (r.name().empty() || id.IsZero()) {
    return absl::InvalidArgumentError("Topic without a name or id");
  }
  if (topics_.contains(r.name())) {
    return absl::InvalidArgumentError(absl::StrCat("Topic '", r.name(), "' exists already"));
  }
  if (topic_names_.contains(id)) {
    return absl::InvalidArgumentError(absl::StrCat("Topic id ", id.ToString(), " is taken"));
  }
  auto topic = std::make_shared<TopicImage>();
  topic->name = r.name();
  topic->id = id;
  topics_[r.name()] = std::move(topic);
  topic_names_[id] = r.name();
  return absl::OkStatus();
}

absl::StatusOr<TopicImage*> MetadataImage::MutableTopic(const v1::Uuid& proto_id,
                                                        const char* what) {
  const Uuid id = Uuid::FromProto(proto_id);
  auto name = topic_names_.find(id);
  if (name == topic_names_.end()) {
    return absl::NotFoundError(absl::StrCat(what, " of unknown topic id ", id.ToString()));
  }
  std::shared_ptr<const TopicImage>& slot = topics_[name->second];
  // Copy on write. A topic no other image shares (created here, or copied
  // here since this image was copied) is changed in place: a batch of n
  // Partition records costs O(n), not n copies of a growing topic. Every
  // TopicImage is made non-const (ApplyTopic, below), so the cast is sound.
  if (slot.use_count() != 1) slot = std::make_shared<TopicImage>(*slot);
  return const_cast<TopicImage*>(slot.get());
}

absl::Status MetadataImage::CheckPartition(const PartitionImage& p) const {
  absl::flat_hash_set<NodeId> replicas;
  for (NodeId r : p.replicas) {
    if (r < NodeId(0) || !replicas.insert(r).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("replica ", r.value(), " is invalid or twice"));
    }
  }
  if (replicas.empty()) return absl::InvalidArgumentError("a partition without replicas");
  absl::flat_hash_set<NodeId> isr;
  for (NodeId r : p.isr) {
    if (!replicas.contains(r) || !isr.insert(r).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("ISR member ", r.value(), " is not a replica or is listed twice"));
    }
  }
  if (p.leader != kNoNode && !isr.contains(p.leader)) {
    return absl::InvalidArgumentError(
        absl::StrCat("leader ", p.leader.value(), " is not in the ISR"));
  }
  absl::flat_hash_set<NodeId> moving;
  for (const auto* list : {&p.adding, &p.removing}) {
    for (NodeId r : *list) {
      if (!replicas.contains(r) || !moving.insert(r).second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "moving replica ", r.value(), " is not a replica, or both added and removed"));
      }
    }
  }
  if (p.removing.size() >= p.replicas.size()) {
    return absl::InvalidArgumentError("a reassignment removing every replica");
  }
  return absl::OkStatus();
}

absl::Status MetadataImage::ApplyPartition(const v1::PartitionRecord& r) {
  ASSIGN_OR_RETURN(TopicImage * topic, MutableTopic(r.topic_id(), "Partition"));
  if (r.partition() != static_cast<int32_t>(topic->partitions.size())) {
    return absl::InvalidArgumentError(absl::StrCat("Partition ", r.partition(), " of '",
                                                   topic->name, "' which has ",
                                                   topic->partitions.size(), " partitions"));
  }
  PartitionImage p = FromRecord(r);
  if (absl::Status st = CheckPartition(p); !st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Partition ", topic->name, "-", r.partition(), ": ", st.message()));
  }
  topic->partitions.push_back(std::move(p));
  return absl::OkStatus();
}

absl::Status MetadataImage::ApplyPartitionChange(const v1::PartitionChangeRecord& r) {
  ASSIGN_OR_RETURN(TopicImage * topic, MutableTopic(r.topic_id(), "PartitionChange"));
  if (r.partition() < 0 || r.partition() >= static_cast<int32_t>(topic->partitions.size())) {
    return absl::InvalidArgumentError(
        absl::StrCat("PartitionChange of unknown partition ", topic->name, "-", r.partition()));
  }
  PartitionImage p = topic->partitions[r.partition()];
  if (r.has_isr()) p.isr = ToIds(r.isr().ids());
  if (r.has_replicas()) p.replicas = ToIds(r.replicas().ids());
  if (r.has_adding_replicas()) p.adding = ToIds(r.adding_replicas().ids());
  if (r.has_removing_replicas()) p.removing = ToIds(r.removing_replicas().ids());
  if (r.has_leader()) {
    p.leader = NodeId(r.leader());
    p.leader_epoch = p.leader_epoch + 1;
  }
  ++p.partition_epoch;
  if (absl::Status st = CheckPartition(p); !st.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("PartitionChange ", topic->name, "-", r.partition(), ": ", st.message()));
  }
  topic->partitions[r.partition()] = std::move(p);
  return absl::OkStatus();
}

absl::Status MetadataImage::ApplyRemoveTopic(const v1::RemoveTopicRecord& r) {
  const Uuid id = Uuid::FromProto(r.topic_id());
  auto name = topic_names_.find(id);
  if (name == topic_names_.end()) {
    return absl::InvalidArgumentError(absl::StrCat("RemoveTopic of unknown id ", id.ToString()));
  }
  topics_.erase(name->second);
  topic_names_.erase(name);
  return absl::OkStatus();
}

absl::Status MetadataImage::ApplyConfig(const v1::ConfigRecord& r) {
  if (r.key().empty()) return absl::InvalidArgumentError("Config without a key");
  if (Uuid::FromProto(r.topic_id()).IsZero()) {  // the cluster's
    if (r.has_value()) {
      cluster_configs_[r.key()] = r.value();
    } else {
      cluster_configs_.erase(r.key());
    }
    return absl::OkStatus();
  }
  ASSIGN_OR_RETURN(TopicImage * topic, MutableTopic(r.topic_id(), "Config"));
  if (r.has_value()) {
    topic->configs[r.key()] = r.value();
  } else {
    topic->configs.erase(r.key());
  }
  return absl::OkStatus();
}

absl::Status MetadataImage::ApplyProducerIds(const v1::ProducerIdBlockRecord& r) {
  if (r.first_id() != next_producer_id_ || r.size() <= 0) {
    return absl::InvalidArgumentError(absl::StrCat("ProducerIdBlock [", r.first_id(), ", +",
                                                   r.size(), ") where the next id is ",
                                                   next_producer_id_));
  }
  next_producer_id_ = r.first_id() + r.size();
  return absl::OkStatus();
}

absl::Status MetadataImage::ApplyDecommission(const v1::BrokerDecommissionRecord& r) {
  auto it = brokers_.find(NodeId(r.broker_id()));
  if (it == brokers_.end()) {
    return absl::InvalidArgumentError(
        absl::StrCat("BrokerDecommission of unregistered broker ", r.broker_id()));
  }
  it->second.decommissioning = r.decommissioning();
  return absl::OkStatus();
}

absl::Status MetadataImage::ApplyUnregister(const v1::UnregisterBrokerRecord& r) {
  auto it = brokers_.find(NodeId(r.broker_id()));
  if (it == brokers_.end() || it->second.epoch != r.broker_epoch()) {
    return absl::InvalidArgumentError(absl::StrCat("UnregisterBroker ", r.broker_id(), " epoch ",
                                                   r.broker_epoch(), ": not registered so"));
  }
  if (!it->second.fenced) {
    return absl::InvalidArgumentError(
        absl::StrCat("UnregisterBroker ", r.broker_id(), ": it is not fenced"));
  }
  for (const auto& [name, topic] : topics_) {
    for (size_t i = 0; i < topic->partitions.size(); ++i) {
      const std::vector<NodeId>& replicas = topic->partitions[i].replicas;
      if (std::find(replicas.begin(), replicas.end(), it->first) != replicas.end()) {
        return absl::InvalidArgumentError(absl::StrCat("UnregisterBroker ", r.broker_id(),
                                                       ": it holds a replica of ", name, "-", i));
      }
    }
  }
  brokers_.erase(it);
  return absl::OkStatus();
}

v1::MetadataSnapshot MetadataImage::ToSnapshot() const {
  v1::MetadataSnapshot s;
  s.set_offset(offset_);
  s.set_next_producer_id(next_producer_id_);
  s.set_next_broker_epoch(next_broker_epoch_);
  for (const auto& [k, v] : cluster_configs_) (*s.mutable_cluster_configs())[k] = v;
  for (const auto& [id, b] : brokers_) {
    v1::BrokerState* out = s.add_brokers();
    v1::RegisterBrokerRecord* reg = out->mutable_registration();
    reg->set_broker_id(id.value());
    *reg->mutable_incarnation_id() = b.incarnation.ToProto();
    reg->set_broker_epoch(b.epoch);
    reg->set_address(b.address);
    reg->set_rack(b.rack);
    out->set_fenced(b.fenced);
    out->set_shutting_down(b.shutting_down);
    out->set_registered_at(b.registered_at);
    out->set_decommissioning(b.decommissioning);
  }
  for (const auto& [name, t] : topics_) {
    v1::TopicState* out = s.add_topics();
    out->mutable_topic()->set_name(name);
    *out->mutable_topic()->mutable_topic_id() = t->id.ToProto();
    for (size_t i = 0; i < t->partitions.size(); ++i) {
      const PartitionImage& p = t->partitions[i];
      v1::PartitionRecord* pr = out->add_partitions();
      *pr->mutable_topic_id() = t->id.ToProto();
      pr->set_partition(static_cast<int32_t>(i));
      FromIds(p.replicas, pr->mutable_replicas());
      FromIds(p.isr, pr->mutable_isr());
      pr->set_leader(p.leader.value());
      pr->set_leader_epoch(p.leader_epoch.value());
      pr->set_partition_epoch(p.partition_epoch);
      FromIds(p.adding, pr->mutable_adding_replicas());
      FromIds(p.removing, pr->mutable_removing_replicas());
    }
    for (const auto& [k, v] : t->configs) (*out->mutable_configs())[k] = v;
  }
  return s;
}

std::string MetadataImage::SerializeSnapshot() const {
  std::string out;
  {
    google::protobuf::io::StringOutputStream stream(&out);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    ToSnapshot().SerializeToCodedStream(&coded);
  }
  return out;
}

absl::StatusOr<MetadataImage> MetadataImage::FromSnapshot(const v1::MetadataSnapshot& s) {
  MetadataImage image;
  auto fail = [](const absl::Status& st) {
    return absl::DataLossError(absl::StrCat("metadata snapshot: ", st.message()));
  };
  // Registrations replay in epoch order, as they were committed.
  std::vector<const v1::BrokerState*> brokers;
  for (const v1::BrokerState& b : s.brokers()) brokers.push_back(&b);
  std::sort(brokers.begin(), brokers.end(), [](const auto* a, const auto* b) {
    return a->registration().broker_epoch() < b->registration().broker_epoch();
  });
  for (const v1::BrokerState* bp : brokers) {
    const v1::BrokerState& b = *bp;
    if (absl::Status st = image.ApplyRegister(b.registration(), b.registered_at()); !st.ok()) {
      return fail(st);
    }
    BrokerImage& img = image.brokers_[NodeId(b.registration().broker_id())];
    img.fenced = b.fenced();
    img.shutting_down = b.shutting_down();
    img.decommissioning = b.decommissioning();
  }
  for (const v1::TopicState& t : s.topics()) {
    if (absl::Status st = image.ApplyTopic(t.topic()); !st.ok()) return fail(st);
    for (const v1::PartitionRecord& p : t.partitions()) {
      if (Uuid::FromProto(p.topic_id()) != Uuid::FromProto(t.topic().topic_id())) {
        return fail(absl::InvalidArgumentError(
            absl::StrCat("a partition of '", t.topic().name(), "' names another topic id")));
      }
      if (absl::Status st = image.ApplyPartition(p); !st.ok()) return fail(st);
    }
    for (const auto& [k, v] : t.configs()) {
      v1::ConfigRecord c;
      *c.mutable_topic_id() = t.topic().topic_id();
      c.set_key(k);
      c.set_value(v);
      if (absl::Status st = image.ApplyConfig(c); !st.ok()) return fail(st);
    }
  }
  if (s.next_broker_epoch() < image.next_broker_epoch_ || s.next_producer_id() < 0) {
    return fail(absl::InvalidArgumentError("counters below what the snapshot's records use"));
  }
  image.next_broker_epoch_ = s.next_broker_epoch();
  for (const auto& [k, v] : s.cluster_configs()) image.cluster_configs_[k] = v;
  image.next_producer_id_ = s.next_producer_id();
  image.offset_ = s.offset();
  return image;
}

}  // namespace samsa
