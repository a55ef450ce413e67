#include "broker/assignor.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"

namespace samsa::broker {
namespace {

using TopicPartition = std::pair<std::string, int32_t>;

// Members in id order, each with its subscription as a set.
struct Sorted {
  std::vector<const GroupMember*> members;
  std::map<std::string, std::set<std::string>> subscribed;  // member -> topics
};

Sorted Sort(const std::vector<GroupMember>& members) {
  Sorted s;
  for (const GroupMember& m : members) s.members.push_back(&m);
  std::sort(s.members.begin(), s.members.end(),
            [](const GroupMember* a, const GroupMember* b) { return a->id < b->id; });
  for (const GroupMember* m : s.members) {
    s.subscribed[m->id] = std::set<std::string>(m->topics.begin(), m->topics.end());
  }
  return s;
}

GroupAssignment Collect(const std::map<TopicPartition, std::string>& owner, const Sorted& sorted) {
  GroupAssignment out;
  for (const GroupMember* m : sorted.members) out[m->id];
  for (const auto& [tp, member] : owner) out[member][tp.first].push_back(tp.second);
  return out;  // std::map iteration keeps partitions sorted
}

}  // namespace

GroupAssignment AssignUniform(const std::vector<GroupMember>& members,
                              const std::map<std::string, int32_t>& partitions) {
  const Sorted sorted = Sort(members);
  // Every partition of a topic someone subscribes to, and who may own it.
  std::map<TopicPartition, std::vector<std::string>> eligible;
  for (const GroupMember* m : sorted.members) {
    for (const std::string& topic : sorted.subscribed.at(m->id)) {
      auto it = partitions.find(topic);
      if (it == partitions.end()) continue;
      for (int32_t p = 0; p < it->second; ++p) eligible[{topic, p}].push_back(m->id);
    }
  }
  size_t active = 0;
  for (const GroupMember* m : sorted.members) {
    for (const std::string& topic : sorted.subscribed.at(m->id)) {
      if (partitions.contains(topic)) {
        ++active;
        break;
      }
    }
  }
  if (active == 0) return Collect({}, sorted);
  const size_t cap = (eligible.size() + active - 1) / active;

  std::map<TopicPartition, std::string> owner;
  std::map<std::string, size_t> count;
  // Sticky: members keep what they own, up to the balanced share.
  for (const GroupMember* m : sorted.members) {
    for (const auto& [topic, owned] : m->owned) {
      for (int32_t p : owned) {
        const TopicPartition tp(topic, p);
        auto e = eligible.find(tp);
        if (e == eligible.end() || owner.contains(tp) || count[m->id] >= cap ||
            std::find(e->second.begin(), e->second.end(), m->id) == e->second.end()) {
          continue;
        }
        owner[tp] = m->id;
        ++count[m->id];
      }
    }
  }
  auto least_loaded = [&count](const std::vector<std::string>& candidates) {
    const std::string* best = &candidates.front();
    for (const std::string& c : candidates) {
      if (count[c] < count[*best]) best = &c;
    }
    return *best;
  };
  for (const auto& [tp, candidates] : eligible) {
    if (owner.contains(tp)) continue;
    const std::string m = least_loaded(candidates);
    owner[tp] = m;
    ++count[m];
  }
  // Balance: move a partition while its owner has two more than an
  // eligible member. Each move lowers the sum of squared counts, so this
  // ends.
  for (bool moved = true; moved;) {
    moved = false;
    for (const auto& [tp, candidates] : eligible) {
      const std::string m = least_loaded(candidates);
      std::string& current = owner[tp];
      if (count[current] > count[m] + 1) {
        --count[current];
        ++count[m];
        current = m;
        moved = true;
      }
    }
  }
  return Collect(owner, sorted);
}

GroupAssignment AssignRange(const std::vector<GroupMember>& members,
                            const std::map<std::string, int32_t>& partitions) {
  const Sorted sorted = Sort(members);
  std::map<TopicPartition, std::string> owner;
  for (const auto& [topic, n] : partitions) {
    std::vector<std::string> subscribers;
    for (const GroupMember* m : sorted.members) {
      if (sorted.subscribed.at(m->id).contains(topic)) subscribers.push_back(m->id);
    }
    if (subscribers.empty()) continue;
    const int32_t per = n / static_cast<int32_t>(subscribers.size());
    const int32_t extra = n % static_cast<int32_t>(subscribers.size());
    int32_t next = 0;
    for (int32_t i = 0; i < static_cast<int32_t>(subscribers.size()); ++i) {
      const int32_t take = per + (i < extra ? 1 : 0);
      for (int32_t k = 0; k < take; ++k)
        owner[{topic, next++}] = subscribers[static_cast<size_t>(i)];
    }
  }
  return Collect(owner, sorted);
}

absl::StatusOr<Assignor> AssignorNamed(const std::string& name) {
  if (name == "uniform") return &AssignUniform;
  if (name == "range") return &AssignRange;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown assignor '", name, "': uniform or range"));
}

}  // namespace samsa::broker
