// MetadataImage: the cluster metadata (brokers, topics, partitions, topic
// configs, producer-id and broker-epoch counters) as of one offset of the
// metadata log, built by replaying its records (proto/samsa/v1/metadata.proto).
//
// Controllers and brokers both keep one (a broker replays what
// Controller.FetchMetadata sends), so it lives here rather than in
// controller/, which brokers may not include (docs/architecture.md §2). It is a value:
// copying it is cheap (topics are shared, copy-on-write), and a published
// image never changes, so readers share a std::shared_ptr<const
// MetadataImage> without locks.
//
// Replaying the same batches in order always yields the same image. A record
// that does not fit the image (a partition of an unknown topic, a stale
// broker epoch, an ISR outside the replicas...) is an error naming its
// offset, and the batch holding it changes nothing: a node whose log holds
// such a record stops rather than diverge from its peers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "common/ids.h"
#include "samsa/v1/metadata.pb.h"

namespace samsa {

// A 128-bit id (topic ids, incarnation ids), Kafka's Uuid.
struct Uuid {
  uint64_t hi = 0;
  uint64_t lo = 0;

  bool IsZero() const { return hi == 0 && lo == 0; }
  friend bool operator==(const Uuid&, const Uuid&) = default;
  friend auto operator<=>(const Uuid&, const Uuid&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Uuid& u) {
    return H::combine(std::move(h), u.hi, u.lo);
  }
  // 32 lowercase hex digits.
  std::string ToString() const;
  static Uuid FromProto(const v1::Uuid& u) {
    return {u.most_significant_bits(), u.least_significant_bits()};
  }
  v1::Uuid ToProto() const;
};

// Broker-id lists (replicas, ISRs), kept in their order.
bool ContainsId(const std::vector<NodeId>& ids, NodeId id);
// `from` without the ids in `drop` / with only the ids in `keep`.
std::vector<NodeId> IdsWithout(const std::vector<NodeId>& from, const std::vector<NodeId>& drop);
std::vector<NodeId> IdsWithin(const std::vector<NodeId>& from, const std::vector<NodeId>& keep);

struct BrokerImage {
  NodeId id;
  Uuid incarnation;
  int64_t epoch = 0;
  std::string address;
  std::string rack;
  bool fenced = true;
  bool shutting_down = false;
  // Every replica is being moved off it (samsa cluster decommission).
  bool decommissioning = false;
  int64_t registered_at = 0;  // metadata offset of its registration

  // May lead partitions and join ISRs.
  bool eligible() const { return !fenced && !shutting_down; }
  // May be given new replicas (placement, reassignment targets, balancing).
  bool accepts_replicas() const { return eligible() && !decommissioning; }
};

struct PartitionImage {
  std::vector<NodeId> replicas;  // the first is the preferred leader
  std::vector<NodeId> isr;
  NodeId leader = kNoNode;
  Epoch leader_epoch{0};
  int32_t partition_epoch = 0;
  // A reassignment in progress (KIP-455): `replicas` is the target followed
  // by the replicas being removed; `adding` (part of the target) catch up
  // outside the ISR. Both empty: no move.
  std::vector<NodeId> adding = {};
  std::vector<NodeId> removing = {};

  bool InIsr(NodeId id) const;
  bool moving() const { return !adding.empty() || !removing.empty(); }
  // Where the replicas go: `replicas` without `removing`.
  std::vector<NodeId> Target() const;
  // Where they were: `replicas` without `adding`.
  std::vector<NodeId> Original() const;
  bool operator==(const PartitionImage&) const = default;
};

struct TopicImage {
  std::string name;
  Uuid id;
  std::vector<PartitionImage> partitions;
  absl::btree_map<std::string, std::string> configs;  // topic-level overrides
};

class MetadataImage {
 public:
  using TopicMap = absl::btree_map<std::string, std::shared_ptr<const TopicImage>>;

  // The offset of the last batch (or record-less entry) applied; 0: none.
  int64_t offset() const { return offset_; }
  const absl::btree_map<NodeId, BrokerImage>& brokers() const { return brokers_; }
  const BrokerImage* FindBroker(NodeId id) const;
  const TopicMap& topics() const { return topics_; }
  const TopicImage* FindTopic(std::string_view name) const;
  const TopicImage* FindTopic(const Uuid& id) const;
  // Cluster-wide dynamic configs (common/cluster_config.h).
  const absl::btree_map<std::string, std::string>& cluster_configs() const {
    return cluster_configs_;
  }
  int64_t next_producer_id() const { return next_producer_id_; }
  int64_t next_broker_epoch() const { return next_broker_epoch_; }

  // Applies the records of the batch committed at `offset`, all or nothing.
  // `offset` must be above offset().
  absl::Status Apply(const v1::MetadataBatch& batch, int64_t offset);
  // Applies one record committed at `offset` without moving offset(): a
  // record that does not fit leaves the image as it was, but a caller
  // applying several must copy first if it needs them all or nothing.
  absl::Status ApplyRecord(const v1::MetadataRecord& record, int64_t offset);
  // An entry without metadata records (a Raft no-op or membership change)
  // at `offset`.
  void AdvanceTo(int64_t offset);

  v1::MetadataSnapshot ToSnapshot() const;
  // Byte-identical for identical images (maps serialized in key order).
  std::string SerializeSnapshot() const;
  // Rebuilds an image, checking the snapshot as strictly as records.
  static absl::StatusOr<MetadataImage> FromSnapshot(const v1::MetadataSnapshot& snapshot);

 private:
  absl::Status ApplyRegister(const v1::RegisterBrokerRecord& r, int64_t offset);
  absl::Status ApplyBrokerState(int32_t broker_id, int64_t epoch, const char* what,
                                absl::FunctionRef<void(BrokerImage&)> change);
  absl::Status ApplyTopic(const v1::TopicRecord& r);
  absl::Status ApplyPartition(const v1::PartitionRecord& r);
  absl::Status ApplyPartitionChange(const v1::PartitionChangeRecord& r);
  absl::Status ApplyRemoveTopic(const v1::RemoveTopicRecord& r);
  absl::Status ApplyConfig(const v1::ConfigRecord& r);
  absl::Status ApplyProducerIds(const v1::ProducerIdBlockRecord& r);
  absl::Status ApplyDecommission(const v1::BrokerDecommissionRecord& r);
  absl::Status ApplyUnregister(const v1::UnregisterBrokerRecord& r);
  // A writable copy of the topic (copy-on-write), or NOT_FOUND.
  absl::StatusOr<TopicImage*> MutableTopic(const v1::Uuid& id, const char* what);
  // ISR within replicas, no duplicates, leader in the ISR (or none); a
  // move's adding and removing replicas disjoint, within replicas, and the
  // target not empty.
  absl::Status CheckPartition(const PartitionImage& p) const;

  int64_t offset_ = 0;
  absl::btree_map<NodeId, BrokerImage> brokers_;
  TopicMap topics_;
  absl::flat_hash_map<Uuid, std::string> topic_names_;  // id -> name
  absl::btree_map<std::string, std::string> cluster_configs_;
  int64_t next_producer_id_ = 0;
  int64_t next_broker_epoch_ = 1;
};

}  // namespace samsa
