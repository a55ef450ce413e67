#include "controller/placement.h"

#include <algorithm>
#include <random>
#include <tuple>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace samsa::controller {

absl::StatusOr<std::vector<std::vector<NodeId>>> PlaceReplicas(const MetadataImage& image,
                                                               int count, int replication_factor,
                                                               uint64_t seed) {
  struct Load {
    const BrokerImage* broker;
    int64_t replicas = 0;
    int64_t leaders = 0;
    size_t rank = 0;  // seeded tie-break
  };
  std::vector<Load> loads;
  for (const auto& [id, b] : image.brokers()) {
    if (b.accepts_replicas()) loads.push_back({&b});
  }
  if (replication_factor < 1 || static_cast<size_t>(replication_factor) > loads.size()) {
    return absl::InvalidArgumentError(absl::StrCat("replication factor ", replication_factor,
                                                   " needs that many available brokers; ",
                                                   loads.size(), " are available"));
  }
  absl::flat_hash_map<NodeId, size_t> slot;
  for (size_t i = 0; i < loads.size(); ++i) slot[loads[i].broker->id] = i;
  for (const auto& [name, topic] : image.topics()) {
    for (const PartitionImage& p : topic->partitions) {
      for (NodeId r : p.replicas) {
        if (auto it = slot.find(r); it != slot.end()) ++loads[it->second].replicas;
      }
      if (p.replicas.empty()) continue;
      if (auto it = slot.find(p.replicas.front()); it != slot.end()) ++loads[it->second].leaders;
    }
  }
  std::vector<size_t> order(loads.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::mt19937_64 rng(seed);
  std::shuffle(order.begin(), order.end(), rng);
  for (size_t i = 0; i < order.size(); ++i) loads[order[i]].rank = i;

  std::vector<std::vector<NodeId>> out;
  out.reserve(count);
  for (int p = 0; p < count; ++p) {
    std::vector<size_t> chosen;
    absl::flat_hash_set<std::string> racks;
    const auto leader =
        std::min_element(loads.begin(), loads.end(), [](const Load& a, const Load& b) {
          return std::tie(a.leaders, a.replicas, a.rank) < std::tie(b.leaders, b.replicas, b.rank);
        });
    chosen.push_back(leader - loads.begin());
    racks.insert(leader->broker->rack);
    while (chosen.size() < static_cast<size_t>(replication_factor)) {
      size_t best = loads.size();
      auto key = [&](size_t i) {
        const bool rack_used =
            !loads[i].broker->rack.empty() && racks.contains(loads[i].broker->rack);
        return std::make_tuple(rack_used, loads[i].replicas, loads[i].rank);
      };
      for (size_t i = 0; i < loads.size(); ++i) {
        if (std::find(chosen.begin(), chosen.end(), i) != chosen.end()) continue;
        if (best == loads.size() || key(i) < key(best)) best = i;
      }
      chosen.push_back(best);
      racks.insert(loads[best].broker->rack);
    }
    std::vector<NodeId> replicas;
    for (size_t i : chosen) {
      replicas.push_back(loads[i].broker->id);
      ++loads[i].replicas;
    }
    ++loads[chosen.front()].leaders;
    out.push_back(std::move(replicas));
  }
  return out;
}

}  // namespace samsa::controller
