#include "controller/partition_changes.h"

#include <algorithm>
#include <map>
#include <optional>
#include <vector>

#include "common/metadata_records.h"
#include "storage/topic_config.h"

namespace samsa::controller {

bool IsEligible(const MetadataImage& image, NodeId broker) {
  const BrokerImage* b = image.FindBroker(broker);
  return b != nullptr && b->eligible();
}

namespace {

bool IsAlive(const MetadataImage& image, NodeId broker) {
  const BrokerImage* b = image.FindBroker(broker);
  return b != nullptr && !b->fenced;
}

struct Target {
  NodeId leader;
  std::vector<NodeId> isr;
  bool unclean = false;
};

Target Decide(const MetadataImage& image, const PartitionImage& p, bool unclean_allowed) {
  Target t;
  for (NodeId m : p.isr) {
    if (IsEligible(image, m)) t.isr.push_back(m);
  }
  if (p.leader != kNoNode && IsEligible(image, p.leader)) {
    t.leader = p.leader;
  } else {
    t.leader = kNoNode;
    for (NodeId r : p.replicas) {
      if (ContainsId(t.isr, r)) {
        t.leader = r;
        break;
      }
    }
  }
  if (t.leader == kNoNode && p.leader != kNoNode && IsAlive(image, p.leader)) {
    // Shutting down with nobody to take over: it keeps leading.
    t.leader = p.leader;
    t.isr.insert(t.isr.begin(), p.leader);
  }
  if (t.leader == kNoNode && unclean_allowed) {
    for (NodeId r : p.replicas) {
      if (IsEligible(image, r)) {
        t.leader = r;
        t.isr = {r};
        t.unclean = !p.InIsr(r);
        break;
      }
    }
  }
  if (t.isr.empty()) t.isr = p.isr;
  // Keep the ISR in its old order, so an unchanged set is no change.
  std::vector<NodeId> ordered;
  for (NodeId m : p.isr) {
    if (ContainsId(t.isr, m)) ordered.push_back(m);
  }
  for (NodeId m : t.isr) {
    if (!ContainsId(ordered, m)) ordered.push_back(m);
  }
  t.isr = std::move(ordered);
  return t;
}

}  // namespace

absl::StatusOr<ReconcileResult> Reconcile(PendingBatch& batch) {
  ReconcileResult result;
  std::vector<v1::MetadataRecord> changes;
  for (const auto& [name, topic] : batch.image().topics()) {
    // The image holds only configs the controller validated.
    absl::StatusOr<storage::TopicConfig> config =
        storage::ParseTopicConfig(storage::LogConfig(), topic->configs);
    const bool unclean_allowed = config.ok() && config->unclean_leader_election;
    for (size_t i = 0; i < topic->partitions.size(); ++i) {
      const PartitionImage& p = topic->partitions[i];
      Target t = Decide(batch.image(), p, unclean_allowed);
      const bool leader_changed = t.leader != p.leader;
      const bool isr_changed = t.isr != p.isr;
      if (!leader_changed && !isr_changed) continue;
      result.leader_changes += leader_changed ? 1 : 0;
      result.unclean_elections += t.unclean ? 1 : 0;
      changes.push_back(records::PartitionChange(
          topic->id, static_cast<int32_t>(i),
          leader_changed ? std::optional<NodeId>(t.leader) : std::nullopt,
          isr_changed ? std::optional<std::vector<NodeId>>(t.isr) : std::nullopt));
    }
  }
  for (v1::MetadataRecord& r : changes) {
    if (absl::Status st = batch.Add(std::move(r)); !st.ok()) return st;
  }
  return result;
}

absl::StatusOr<int64_t> ElectPreferredLeaders(PendingBatch& batch, int64_t imbalance_percent) {
  struct Share {
    int64_t preferred = 0;  // partitions whose first replica it is
    int64_t elsewhere = 0;  // of those, led by another broker
  };
  std::map<NodeId, Share> shares;
  for (const auto& [name, topic] : batch.image().topics()) {
    for (const PartitionImage& p : topic->partitions) {
      if (p.replicas.empty()) continue;
      Share& share = shares[p.replicas.front()];
      ++share.preferred;
      share.elsewhere += p.leader != p.replicas.front() ? 1 : 0;
    }
  }
  std::vector<v1::MetadataRecord> changes;
  for (const auto& [name, topic] : batch.image().topics()) {
    for (size_t i = 0; i < topic->partitions.size(); ++i) {
      const PartitionImage& p = topic->partitions[i];
      if (p.replicas.empty() || p.leader == p.replicas.front()) continue;
      const NodeId preferred = p.replicas.front();
      const Share& share = shares[preferred];
      if (share.elsewhere * 100 <= share.preferred * imbalance_percent) continue;
      if (!IsEligible(batch.image(), preferred) || !p.InIsr(preferred)) continue;
      changes.push_back(
          records::PartitionChange(topic->id, static_cast<int32_t>(i), preferred, std::nullopt));
    }
  }
  for (v1::MetadataRecord& r : changes) {
    if (absl::Status st = batch.Add(std::move(r)); !st.ok()) return st;
  }
  return static_cast<int64_t>(changes.size());
}

int64_t MovableLeaderships(const MetadataImage& image, NodeId broker) {
  int64_t n = 0;
  for (const auto& [name, topic] : image.topics()) {
    for (const PartitionImage& p : topic->partitions) {
      if (p.leader != broker) continue;
      n += std::any_of(p.isr.begin(), p.isr.end(),
                       [&](NodeId r) { return r != broker && IsEligible(image, r); })
               ? 1
               : 0;
    }
  }
  return n;
}

}  // namespace samsa::controller
