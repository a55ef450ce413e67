#include "controller/balancer.h"

#include <algorithm>
#include <cstdlib>
#include <iterator>
#include <optional>
#include <tuple>

#include "absl/container/btree_set.h"
#include "absl/strings/str_cat.h"
#include "common/string_view.h"

namespace samsa::controller {
namespace {

// The same brokers, in whatever order.
bool SameBrokers(std::vector<NodeId> a, std::vector<NodeId> b) {
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  return a == b;
}

// The last of `ids` not in `skip`.
std::optional<NodeId> LastNotIn(const std::vector<NodeId>& ids,
                                const absl::flat_hash_set<NodeId>& skip) {
  for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
    if (!skip.contains(*it)) return *it;
  }
  return std::nullopt;
}

struct Slot {
  const TopicImage* topic;
  int32_t partition;
  std::vector<NodeId> from;
  std::vector<NodeId> to;
  bool frozen = false;  // moving already: counted, never planned
  int64_t bytes = 0;    // as its leader last reported
};

class Planner {
 public:
  Planner(const MetadataImage& image, const ClusterUsage& usage, const BalanceOptions& options)
      : image_(image), options_(options) {
    for (const auto& [id, b] : image.brokers()) {
      auto disk = usage.disks.find(id);
      const bool full = disk != usage.disks.end() && disk->second.total_bytes > 0 &&
                        disk->second.free_bytes >= 0 &&
                        1.0 - static_cast<double>(disk->second.free_bytes) /
                                    static_cast<double>(disk->second.total_bytes) >
                            options.max_disk_usage;
      if (b.accepts_replicas() && !options.evacuate.contains(id) && !full) takers_.push_back(id);
      has_racks_ = has_racks_ || !b.rack.empty();
    }
    for (const auto& [name, topic] : image.topics()) {
      for (size_t i = 0; i < topic->partitions.size(); ++i) {
        const PartitionImage& p = topic->partitions[i];
        Slot s{.topic = topic.get(),
               .partition = static_cast<int32_t>(i),
               .from = p.Original(),
               .to = p.moving() ? p.Target() : p.Original(),
               .frozen = p.moving()};
        if (auto size = usage.partition_bytes.find({topic->id, s.partition});
            size != usage.partition_bytes.end()) {
          s.bytes = std::max<int64_t>(size->second, 0);
        }
        budget_ -= s.frozen ? 1 : 0;
        slots_.push_back(std::move(s));
      }
    }
    budget_ += options.max_moves;
    for (size_t i = 0; i < slots_.size(); ++i) Count(i, +1);
  }

  BalancePlan Run() {
    Evacuate();
    if (options_.even_out) {
      EvenReplicas();
      if (options_.even_disk) EvenDisk();
      EvenLeaders();
    }
    for (const Slot& s : slots_) {
      if (s.frozen || s.to == s.from) continue;
      plan_.moves.push_back({s.topic->name, s.partition, s.from, s.to});
    }
    return std::move(plan_);
  }

 private:
  bool Takes(NodeId id) const { return ContainsId(takers_, id); }

  // Must `id` give its replicas up?
  bool MustLeave(NodeId id) const {
    const BrokerImage* b = image_.FindBroker(id);
    return b == nullptr || b->decommissioning || options_.evacuate.contains(id);
  }

  const std::string& RackOf(NodeId id) const {
    static const std::string kNone;
    const BrokerImage* b = image_.FindBroker(id);
    return b == nullptr ? kNone : b->rack;
  }

  // Can `to` take `slot`'s replica on `from` without sharing a rack with
  // the partition's other replicas (when racks are set)?
  bool RackApart(const Slot& slot, NodeId from, NodeId to) const {
    if (!has_racks_) return true;
    const std::string& rack = RackOf(to);
    if (rack.empty() || rack == RackOf(from)) return true;
    return std::none_of(slot.to.begin(), slot.to.end(),
                        [&](NodeId r) { return r != from && RackOf(r) == rack; });
  }

  void Count(size_t i, int delta) {
    const Slot& s = slots_[i];
    for (NodeId r : s.to) {
      replicas_[r] += delta;
      bytes_[r] += delta * s.bytes;
      if (delta > 0) {
        holds_[r].insert(i);
      } else {
        holds_[r].erase(i);
      }
    }
    if (s.to.empty()) return;
    leaders_[s.to.front()] += delta;
    if (delta > 0) {
      leads_[s.to.front()].insert(i);
    } else {
      leads_[s.to.front()].erase(i);
    }
  }

  // Replaces `from` by `to` in slot `i`, within the data-move budget.
  bool Replace(size_t i, NodeId from, NodeId to) {
    Slot& s = slots_[i];
    const bool new_data_move = SameBrokers(s.from, s.to);
    if (new_data_move && budget_ <= 0) return false;
    Count(i, -1);
    std::replace(s.to.begin(), s.to.end(), from, to);
    Count(i, +1);
    if (new_data_move && !SameBrokers(s.from, s.to)) --budget_;
    return true;
  }

  void Evacuate() {
    for (size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = slots_[i];
      if (s.frozen) continue;
      for (NodeId r : std::vector<NodeId>(s.to)) {
        if (!MustLeave(r)) continue;
        std::optional<NodeId> best;
        for (NodeId t : takers_) {
          if (ContainsId(s.to, t)) continue;
          auto key = [&](NodeId b) {
            return std::make_tuple(!RackApart(s, r, b), replicas_[b], leaders_[b], b);
          };
          if (!best.has_value() || key(t) < key(*best)) best = t;
        }
        if (!best.has_value() || !Replace(i, r, *best)) {
          plan_.unplaceable.push_back(absl::StrCat(s.topic->name, "-", s.partition));
          break;
        }
      }
    }
  }

  void EvenReplicas() {
    if (takers_.size() < 2) return;
    absl::flat_hash_set<NodeId> stuck;  // no replica of theirs can go anywhere
    while (budget_ > 0) {
      std::vector<NodeId> order = takers_;
      std::sort(order.begin(), order.end(), [&](NodeId a, NodeId b) {
        return std::make_pair(replicas_[a], a) < std::make_pair(replicas_[b], b);
      });
      const std::optional<NodeId> full = LastNotIn(order, stuck);
      if (!full.has_value() || replicas_[*full] - replicas_[order.front()] <= 1) return;
      if (!MoveOneReplica(*full, order)) stuck.insert(*full);
    }
  }

  // Moves one replica off `full` to the emptiest broker that can take one
  // of its partitions; followers before leaders.
  bool MoveOneReplica(NodeId full, const std::vector<NodeId>& emptiest_first) {
    for (NodeId to : emptiest_first) {
      if (replicas_[full] - replicas_[to] <= 1) return false;
      std::optional<size_t> pick;
      for (size_t i : holds_[full]) {
        const Slot& s = slots_[i];
        if (s.frozen || !ContainsId(s.to, full) || ContainsId(s.to, to) ||
            !RackApart(s, full, to)) {
          continue;
        }
        if (!pick.has_value() || (slots_[*pick].to.front() == full && s.to.front() != full)) {
          pick = i;
        }
        if (s.to.front() != full) break;
      }
      if (pick.has_value()) return Replace(*pick, full, to);
    }
    return false;
  }

  void EvenDisk() {
    if (takers_.size() < 2) return;
    int64_t total = 0;
    for (NodeId id : takers_) total += bytes_[id];
    const double mean = static_cast<double>(total) / static_cast<double>(takers_.size());
    const int64_t tolerance = std::max<int64_t>(
        options_.min_disk_gap_bytes, static_cast<int64_t>(mean * options_.disk_gap_ratio));
    absl::flat_hash_set<NodeId> stuck;
    while (budget_ > 0) {
      std::vector<NodeId> order = takers_;
      std::sort(order.begin(), order.end(), [&](NodeId a, NodeId b) {
        return std::make_pair(bytes_[a], a) < std::make_pair(bytes_[b], b);
      });
      const std::optional<NodeId> heavy = LastNotIn(order, stuck);
      if (!heavy.has_value() || bytes_[*heavy] - bytes_[order.front()] <= tolerance) return;
      if (!ShiftBytes(*heavy, order, tolerance)) stuck.insert(*heavy);
    }
  }

  // Slots holding `from` (not `to`) whose replica on `from` may go to `to`.
  std::vector<size_t> Movable(NodeId from, NodeId to) const {
    std::vector<size_t> out;
    auto held = holds_.find(from);
    if (held == holds_.end()) return out;
    for (size_t i : held->second) {
      const Slot& s = slots_[i];
      if (!s.frozen && !ContainsId(s.to, to) && RackApart(s, from, to)) out.push_back(i);
    }
    return out;
  }

  // Moves bytes from `heavy` to the lightest broker it can: one replica, or
  // two swapping places (the one coming back at most half the size of the
  // one going), as near half their gap as can be.
  bool ShiftBytes(NodeId heavy, const std::vector<NodeId>& lightest_first, int64_t tolerance) {
    for (NodeId light : lightest_first) {
      const int64_t gap = bytes_[heavy] - bytes_[light];
      if (gap <= tolerance) return false;
      // Bytes moved t close the gap to |gap - 2t|.
      const int64_t ideal = gap / 2;
      std::optional<std::pair<size_t, std::optional<size_t>>> best;
      int64_t best_miss = 0;
      auto consider = [&](size_t i, std::optional<size_t> j, int64_t moved) {
        if (moved <= 0 || moved >= gap) return;
        const int64_t miss = std::abs(moved - ideal);
        if (!best.has_value() || miss < best_miss) {
          best = {i, j};
          best_miss = miss;
        }
      };
      const std::vector<size_t> outgoing = Movable(heavy, light);
      std::vector<size_t> incoming = Movable(light, heavy);
      std::sort(incoming.begin(), incoming.end(),
                [&](size_t a, size_t b) { return slots_[a].bytes < slots_[b].bytes; });
      for (size_t i : outgoing) {
        const int64_t size = slots_[i].bytes;
        if (replicas_[heavy] > replicas_[light]) consider(i, std::nullopt, size);
        // The swap partner nearest size - ideal, from either side.
        auto at = std::lower_bound(incoming.begin(), incoming.end(), size - ideal,
                                   [&](size_t j, int64_t v) { return slots_[j].bytes < v; });
        for (auto j : {at, at == incoming.begin() ? at : std::prev(at)}) {
          if (j != incoming.end() && 2 * slots_[*j].bytes <= size)
            consider(i, *j, size - slots_[*j].bytes);
        }
      }
      if (!best.has_value()) continue;
      const auto [i, j] = *best;
      const int64_t needed = (SameBrokers(slots_[i].from, slots_[i].to) ? 1 : 0) +
                             (j.has_value() && SameBrokers(slots_[*j].from, slots_[*j].to) ? 1 : 0);
      if (needed > budget_) return false;
      Replace(i, heavy, light);
      if (j.has_value()) Replace(*j, light, heavy);
      return true;
    }
    return false;
  }

  void EvenLeaders() {
    std::vector<NodeId> leaders;
    for (NodeId id : takers_) {
      if (IsLeaderCandidate(id)) leaders.push_back(id);
    }
    if (leaders.size() < 2) return;
    absl::flat_hash_set<NodeId> stuck;
    while (true) {
      std::sort(leaders.begin(), leaders.end(), [&](NodeId a, NodeId b) {
        return std::make_pair(leaders_[a], a) < std::make_pair(leaders_[b], b);
      });
      const std::optional<NodeId> most = LastNotIn(leaders, stuck);
      if (!most.has_value() || leaders_[*most] - leaders_[leaders.front()] <= 1) return;
      if (!HandOverOneLeadership(*most, leaders)) stuck.insert(*most);
    }
  }

  bool IsLeaderCandidate(NodeId id) const {
    const BrokerImage* b = image_.FindBroker(id);
    return b != nullptr && b->eligible();
  }

  // Puts another replica first in one partition `most` leads.
  bool HandOverOneLeadership(NodeId most, const std::vector<NodeId>& fewest_first) {
    for (NodeId to : fewest_first) {
      if (leaders_[most] - leaders_[to] <= 1) return false;
      std::optional<size_t> pick;
      for (size_t i : leads_[most]) {
        if (!slots_[i].frozen && ContainsId(slots_[i].to, to)) {
          pick = i;
          break;
        }
      }
      if (!pick.has_value()) continue;
      Slot& s = slots_[*pick];
      Count(*pick, -1);
      std::iter_swap(s.to.begin(), std::find(s.to.begin(), s.to.end(), to));
      Count(*pick, +1);
      return true;
    }
    return false;
  }

  const MetadataImage& image_;
  const BalanceOptions& options_;
  std::vector<NodeId> takers_;  // brokers that may take replicas, by id
  bool has_racks_ = false;
  std::vector<Slot> slots_;
  absl::flat_hash_map<NodeId, int64_t> replicas_;
  absl::flat_hash_map<NodeId, int64_t> leaders_;
  absl::flat_hash_map<NodeId, int64_t> bytes_;
  absl::flat_hash_map<NodeId, absl::btree_set<size_t>> holds_;  // slots holding it
  absl::flat_hash_map<NodeId, absl::btree_set<size_t>> leads_;  // slots it is first in
  int64_t budget_ = 0;
  BalancePlan plan_;
};

}  // namespace

absl::StatusOr<AutoBalancerMode> ParseAutoBalancerMode(std::string_view text) {
  if (text == "off") return AutoBalancerMode::kOff;
  if (text == "node_add_remove") return AutoBalancerMode::kNodeAddRemove;
  if (text == "continuous") return AutoBalancerMode::kContinuous;
  return absl::InvalidArgumentError(
      absl::StrCat("'", ToAbsl(text), "' is not off, node_add_remove or continuous"));
}

const char* AutoBalancerModeName(AutoBalancerMode mode) {
  switch (mode) {
    case AutoBalancerMode::kOff:
      return "off";
    case AutoBalancerMode::kContinuous:
      return "continuous";
    case AutoBalancerMode::kNodeAddRemove:
      break;
  }
  return "node_add_remove";
}

bool PlannedMove::reorder_only() const { return SameBrokers(from, to); }

int64_t BalancePlan::data_moves() const {
  return std::count_if(moves.begin(), moves.end(),
                       [](const PlannedMove& m) { return !m.reorder_only(); });
}

BalancePlan PlanBalance(const MetadataImage& image, const ClusterUsage& usage,
                        const BalanceOptions& options) {
  return Planner(image, usage, options).Run();
}

}  // namespace samsa::controller
