#include "controller/reassignment.h"

#include <algorithm>
#include <optional>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/metadata_records.h"
#include "controller/partition_changes.h"

namespace samsa::controller {
namespace {

std::string Ids(const std::vector<NodeId>& ids) {
  return absl::StrJoin(ids, ",",
                       [](std::string* out, NodeId id) { absl::StrAppend(out, id.value()); });
}

// The leader of a partition whose replicas become `replicas` and ISR `isr`:
// the current one if it stays and is eligible, else the first replica in
// the ISR that is eligible; nullopt when none is.
std::optional<NodeId> LeaderAmong(const MetadataImage& image, const PartitionImage& p,
                                  const std::vector<NodeId>& replicas,
                                  const std::vector<NodeId>& isr) {
  if (ContainsId(replicas, p.leader) && ContainsId(isr, p.leader) && IsEligible(image, p.leader)) {
    return p.leader;
  }
  for (NodeId r : replicas) {
    if (ContainsId(isr, r) && IsEligible(image, r)) return r;
  }
  return std::nullopt;
}

// The record that gives `p` the replicas `sets` and the ISR within them,
// electing a leader among them when the current one leaves; nullopt (and
// `why`) when nobody could lead.
std::optional<v1::MetadataRecord> Change(const MetadataImage& image, const TopicImage& topic,
                                         int32_t partition, const records::ReplicaSets& sets,
                                         std::string* why) {
  const PartitionImage& p = topic.partitions[partition];
  const std::vector<NodeId> isr = IdsWithin(p.isr, sets.replicas);
  std::optional<NodeId> leader = p.leader;
  if (!ContainsId(sets.replicas, p.leader)) {
    leader = LeaderAmong(image, p, sets.replicas, isr);
    if (!leader.has_value()) {
      *why = absl::StrCat("no replica of ", Ids(sets.replicas),
                          " is an eligible member of the ISR ", Ids(p.isr), " to lead");
      return std::nullopt;
    }
  }
  return records::PartitionChange(
      topic.id, partition, *leader != p.leader ? leader : std::nullopt,
      isr != p.isr ? std::optional<std::vector<NodeId>>(isr) : std::nullopt, sets);
}

struct Found {
  const TopicImage* topic = nullptr;
  const PartitionImage* partition = nullptr;
};

v1::Error Find(const MetadataImage& image, const std::string& topic, int32_t partition,
               Found* found) {
  found->topic = image.FindTopic(topic);
  if (found->topic == nullptr) {
    return MakeError(v1::UNKNOWN_TOPIC_OR_PARTITION, absl::StrCat("no topic '", topic, "'"));
  }
  if (partition < 0 || partition >= static_cast<int32_t>(found->topic->partitions.size())) {
    return MakeError(v1::UNKNOWN_TOPIC_OR_PARTITION,
                     absl::StrCat("no partition ", topic, "-", partition));
  }
  found->partition = &found->topic->partitions[partition];
  return v1::Error();
}

v1::Error Add(PendingBatch& batch, v1::MetadataRecord record) {
  if (absl::Status st = batch.Add(std::move(record)); !st.ok()) {
    return MakeError(v1::UNKNOWN_SERVER_ERROR, std::string(st.message()));
  }
  return v1::Error();
}

}  // namespace

v1::Error StartReassignment(PendingBatch& batch, const std::string& topic, int32_t partition,
                            const std::vector<NodeId>& target) {
  Found f;
  if (v1::Error e = Find(batch.image(), topic, partition, &f); e.code() != v1::NONE) return e;
  const std::string where = absl::StrCat(topic, "-", partition);
  if (target.empty()) {
    return MakeError(v1::INVALID_REPLICA_ASSIGNMENT,
                     absl::StrCat(where, ": a partition needs at least one replica"));
  }
  absl::flat_hash_set<NodeId> seen;
  for (NodeId b : target) {
    if (!seen.insert(b).second) {
      return MakeError(v1::INVALID_REPLICA_ASSIGNMENT,
                       absl::StrCat(where, ": broker ", b.value(), " is listed twice"));
    }
    const BrokerImage* broker = batch.image().FindBroker(b);
    if (broker == nullptr) {
      return MakeError(v1::INVALID_REPLICA_ASSIGNMENT,
                       absl::StrCat(where, ": broker ", b.value(), " is not registered"));
    }
    if (broker->decommissioning) {
      return MakeError(v1::INVALID_REPLICA_ASSIGNMENT,
                       absl::StrCat(where, ": broker ", b.value(), " is being decommissioned"));
    }
  }
  const PartitionImage& p = *f.partition;
  const std::vector<NodeId> original = p.Original();
  if (target == original && !p.moving()) return v1::Error();
  if (target == original) return CancelReassignment(batch, topic, partition);
  records::ReplicaSets sets;
  sets.replicas = target;
  for (NodeId r : IdsWithout(original, target)) sets.replicas.push_back(r);
  sets.adding = IdsWithout(target, original);
  sets.removing = IdsWithout(original, target);
  std::string why;
  std::optional<v1::MetadataRecord> record = Change(batch.image(), *f.topic, partition, sets, &why);
  if (!record.has_value()) {
    // Only a replica an earlier target added can be dropped this way.
    return MakeError(v1::REASSIGNMENT_IN_PROGRESS,
                     absl::StrCat(where, ": the new target drops the leader: ", why));
  }
  if (v1::Error e = Add(batch, std::move(*record)); e.code() != v1::NONE) return e;
  if (absl::StatusOr<int64_t> done = CompleteReassignments(batch); !done.ok()) {
    return MakeError(v1::UNKNOWN_SERVER_ERROR, std::string(done.status().message()));
  }
  return v1::Error();
}

v1::Error CancelReassignment(PendingBatch& batch, const std::string& topic, int32_t partition) {
  Found f;
  if (v1::Error e = Find(batch.image(), topic, partition, &f); e.code() != v1::NONE) return e;
  const PartitionImage& p = *f.partition;
  const std::string where = absl::StrCat(topic, "-", partition);
  if (!p.moving()) {
    return MakeError(v1::NO_REASSIGNMENT_IN_PROGRESS,
                     absl::StrCat(where, " is not being reassigned"));
  }
  const records::ReplicaSets sets{.replicas = p.Original(), .adding = {}, .removing = {}};
  if (IdsWithin(p.isr, sets.replicas).empty()) {
    return MakeError(v1::REASSIGNMENT_IN_PROGRESS,
                     absl::StrCat(where, ": no original replica (", Ids(sets.replicas),
                                  ") is in the ISR; the move cannot be rolled back"));
  }
  std::string why;
  std::optional<v1::MetadataRecord> record = Change(batch.image(), *f.topic, partition, sets, &why);
  if (!record.has_value()) {
    return MakeError(v1::REASSIGNMENT_IN_PROGRESS,
                     absl::StrCat(where, ": the move cannot be rolled back: ", why));
  }
  return Add(batch, std::move(*record));
}

absl::StatusOr<int64_t> CompleteReassignments(PendingBatch& batch) {
  std::vector<v1::MetadataRecord> changes;
  for (const auto& [name, topic] : batch.image().topics()) {
    for (size_t i = 0; i < topic->partitions.size(); ++i) {
      const PartitionImage& p = topic->partitions[i];
      if (!p.moving()) continue;
      const std::vector<NodeId> target = p.Target();
      if (!std::all_of(target.begin(), target.end(), [&](NodeId r) { return p.InIsr(r); })) {
        continue;
      }
      if (!LeaderAmong(batch.image(), p, target, target).has_value()) continue;
      std::string why;
      std::optional<v1::MetadataRecord> record =
          Change(batch.image(), *topic, static_cast<int32_t>(i),
                 records::ReplicaSets{.replicas = target, .adding = {}, .removing = {}}, &why);
      if (record.has_value()) changes.push_back(std::move(*record));
    }
  }
  for (v1::MetadataRecord& r : changes) {
    if (absl::Status st = batch.Add(std::move(r)); !st.ok()) return st;
  }
  return static_cast<int64_t>(changes.size());
}

int64_t MovingPartitions(const MetadataImage& image) {
  int64_t n = 0;
  for (const auto& [name, topic] : image.topics()) {
    for (const PartitionImage& p : topic->partitions) n += p.moving() ? 1 : 0;
  }
  return n;
}

MoveCounts CountMoves(const MetadataImage& before, const v1::MetadataBatch& batch) {
  MoveCounts counts;
  absl::flat_hash_set<std::pair<Uuid, int32_t>> started;
  for (const v1::MetadataRecord& record : batch.records()) {
    if (!record.has_partition_change() || !record.partition_change().has_replicas()) continue;
    const v1::PartitionChangeRecord& r = record.partition_change();
    const std::pair<Uuid, int32_t> key{Uuid::FromProto(r.topic_id()), r.partition()};
    if (r.adding_replicas().ids_size() > 0 || r.removing_replicas().ids_size() > 0) {
      ++counts.started;
      started.insert(key);
      continue;
    }
    const TopicImage* topic = before.FindTopic(key.first);
    if (started.contains(key)) {
      ++counts.completed;
    } else if (topic != nullptr && key.second < static_cast<int32_t>(topic->partitions.size()) &&
               topic->partitions[key.second].moving()) {
      std::vector<NodeId> replicas;
      for (int32_t id : r.replicas().ids()) replicas.emplace_back(id);
      ++(replicas == topic->partitions[key.second].Target() ? counts.completed : counts.cancelled);
    }
  }
  return counts;
}

v1::AlterPartitionReassignmentsResponse AlterPartitionReassignments(
    const v1::AlterPartitionReassignmentsRequest& request, PendingBatch& batch) {
  v1::AlterPartitionReassignmentsResponse response;
  for (const auto& topic : request.topics()) {
    for (const auto& partition : topic.partitions()) {
      auto* result = response.add_results();
      result->set_topic(topic.name());
      result->set_partition(partition.partition());
      if (partition.cancel()) {
        *result->mutable_error() =
            partition.replicas().empty()
                ? CancelReassignment(batch, topic.name(), partition.partition())
                : MakeError(v1::INVALID_REQUEST, "a cancel names no replicas");
        continue;
      }
      std::vector<NodeId> target;
      for (int32_t r : partition.replicas()) target.emplace_back(r);
      *result->mutable_error() =
          StartReassignment(batch, topic.name(), partition.partition(), target);
    }
  }
  return response;
}

v1::ListPartitionReassignmentsResponse ListPartitionReassignments(
    const v1::ListPartitionReassignmentsRequest& request, const MetadataImage& image,
    ReplicaBytes bytes) {
  v1::ListPartitionReassignmentsResponse response;
  auto list = [&](const TopicImage& topic) {
    for (size_t i = 0; i < topic.partitions.size(); ++i) {
      const PartitionImage& p = topic.partitions[i];
      if (!p.moving()) continue;
      const int32_t partition = static_cast<int32_t>(i);
      v1::PartitionReassignment* out = response.add_reassignments();
      out->set_topic(topic.name);
      out->set_partition(partition);
      for (NodeId r : p.replicas) out->add_replicas(r.value());
      for (NodeId r : p.adding) out->add_adding_replicas(r.value());
      for (NodeId r : p.removing) out->add_removing_replicas(r.value());
      for (NodeId r : p.isr) out->add_isr(r.value());
      out->set_leader(p.leader.value());
      out->set_bytes_total(p.leader == kNoNode ? -1 : bytes(topic.id, partition, p.leader));
      // The slowest new replica's; unknown while any has not reported.
      int64_t copied = -1;
      for (NodeId r : p.adding) {
        const int64_t b = bytes(topic.id, partition, r);
        if (b < 0) {
          copied = -1;
          break;
        }
        copied = copied < 0 ? b : std::min(copied, b);
      }
      out->set_bytes_copied(copied);
    }
  };
  if (request.topics().empty()) {
    for (const auto& [name, topic] : image.topics()) list(*topic);
    return response;
  }
  for (const std::string& name : request.topics()) {
    const TopicImage* topic = image.FindTopic(name);
    if (topic == nullptr) {
      *response.mutable_error() =
          MakeError(v1::UNKNOWN_TOPIC_OR_PARTITION, absl::StrCat("no topic '", name, "'"));
      response.clear_reassignments();
      return response;
    }
    list(*topic);
  }
  return response;
}

}  // namespace samsa::controller
