#include "broker/consumer_group.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace samsa::broker {
namespace {

using PartitionSet = std::set<std::pair<std::string, int32_t>>;

PartitionSet ToSet(const TopicPartitions& tps) {
  PartitionSet out;
  for (const auto& [topic, ps] : tps) {
    for (int32_t p : ps) out.emplace(topic, p);
  }
  return out;
}

TopicPartitions ToMap(const PartitionSet& set) {
  TopicPartitions out;
  for (const auto& [topic, p] : set) out[topic].push_back(p);
  return out;
}

}  // namespace

GroupHeartbeatResult ConsumerGroup::Heartbeat(const GroupHeartbeat& hb,
                                              const std::map<std::string, int32_t>& partitions,
                                              absl::Time now, const std::string& new_member_id) {
  GroupHeartbeatResult r;
  r.member_id = hb.member_id;
  if (hb.member_epoch == kLeaveEpoch || hb.member_epoch == kStaticLeaveEpoch) {
    r.member_epoch = hb.member_epoch;
    auto it = members_.find(hb.member_id);
    if (it == members_.end()) return r;
    if (hb.member_epoch == kStaticLeaveEpoch && !it->second.instance_id.empty()) {
      // Keeps its place and partitions for a restart; owns nothing now.
      it->second.left = true;
      it->second.owned.clear();
      it->second.last_heartbeat = now;
      return r;
    }
    members_.erase(it);
    BumpEpoch();
    return r;
  }
  if (hb.member_epoch < kStaticLeaveEpoch) {
    r.error = v1::INVALID_REQUEST;
    r.message = absl::StrCat("member epoch ", hb.member_epoch, " is not valid");
    return r;
  }
  if (hb.member_epoch == 0) {  // joining (or rejoining after being fenced)
    if (!hb.topics.has_value()) {
      r.error = v1::INVALID_REQUEST;
      r.message = "a joining member sends its subscribed topics";
      return r;
    }
    if (r.member_id.empty()) r.member_id = new_member_id;
    const bool replacing =
        !hb.instance_id.empty() &&
        std::any_of(members_.begin(), members_.end(), [&](const auto& e) {
          return e.second.instance_id == hb.instance_id && e.first != r.member_id;
        });
    if (replacing) {
      r = ReplaceStatic(hb, r.member_id, now);
      if (r.error != v1::NONE) return r;
    } else {
      if (members_.erase(r.member_id) > 0) BumpEpoch();
      Member& m = members_[r.member_id];
      m.client_id = hb.client_id;
      m.instance_id = hb.instance_id;
      if (hb.rebalance_timeout > absl::ZeroDuration()) m.rebalance_timeout = hb.rebalance_timeout;
      m.topics = *hb.topics;
      m.last_heartbeat = now;
      BumpEpoch();
    }
  }
  auto it = members_.find(r.member_id);
  if (it == members_.end()) {
    r.error = v1::UNKNOWN_MEMBER_ID;
    r.message = absl::StrCat("member ", r.member_id, " is not in group ", id_, "; join again");
    return r;
  }
  Member& m = it->second;
  if (hb.member_epoch != 0 && hb.member_epoch != m.epoch) {
    r.error = v1::FENCED_MEMBER_EPOCH;
    r.message = absl::StrCat("member epoch ", hb.member_epoch, " is not the current ", m.epoch,
                             "; join again");
    return r;
  }
  m.last_heartbeat = now;
  m.left = false;
  if (hb.topics.has_value() && *hb.topics != m.topics) {
    m.topics = *hb.topics;
    BumpEpoch();
  }
  if (hb.owned.has_value()) m.owned = ToSet(*hb.owned);
  UpdateTarget(partitions);
  // A joined member's epoch is never 0 (that would read as joining again).
  if (Reconcile(r.member_id, m) || m.epoch == 0) m.epoch = group_epoch_;
  const bool releasing =
      !std::includes(m.assigned.begin(), m.assigned.end(), m.owned.begin(), m.owned.end());
  if (!releasing) {
    m.release_deadline = absl::InfiniteFuture();
  } else if (m.release_deadline == absl::InfiniteFuture()) {
    m.release_deadline = now + m.rebalance_timeout;
  }
  r.member_epoch = m.epoch;
  r.assignment = ToMap(m.assigned);
  return r;
}

GroupHeartbeatResult ConsumerGroup::ReplaceStatic(const GroupHeartbeat& hb,
                                                  const std::string& new_member_id,
                                                  absl::Time now) {
  GroupHeartbeatResult r;
  auto old = std::find_if(members_.begin(), members_.end(), [&](const auto& entry) {
    return entry.second.instance_id == hb.instance_id;
  });
  if (!old->second.left) {
    r.error = v1::UNRELEASED_INSTANCE_ID;
    r.message = absl::StrCat("instance id ", hb.instance_id, " is held by member ", old->first,
                             ", which has not left; retry once it leaves or its session expires");
    return r;
  }
  const std::string old_id = old->first;
  Member m = std::move(old->second);
  members_.erase(old);
  if (auto t = target_.extract(old_id); !t.empty()) {
    t.key() = new_member_id;
    target_.insert(std::move(t));
  }
  m.left = false;
  m.client_id = hb.client_id;
  m.last_heartbeat = now;
  if (hb.rebalance_timeout > absl::ZeroDuration()) m.rebalance_timeout = hb.rebalance_timeout;
  if (*hb.topics != m.topics) {
    m.topics = *hb.topics;
    BumpEpoch();
  }
  members_[new_member_id] = std::move(m);
  r.member_id = new_member_id;
  return r;
}

std::vector<std::string> ConsumerGroup::ExpireSessions(
    absl::Time now, const std::map<std::string, int32_t>& partitions) {
  std::vector<std::string> gone;
  for (auto it = members_.begin(); it != members_.end();) {
    if (now - it->second.last_heartbeat > session_timeout_ || now > it->second.release_deadline) {
      gone.push_back(it->first);
      it = members_.erase(it);
    } else {
      ++it;
    }
  }
  if (!gone.empty()) {
    BumpEpoch();
    UpdateTarget(partitions);
  }
  return gone;
}

void ConsumerGroup::UpdateTarget(const std::map<std::string, int32_t>& partitions) {
  std::map<std::string, int32_t> relevant;
  for (const auto& [id, m] : members_) {
    for (const std::string& t : m.topics) {
      if (auto p = partitions.find(t); p != partitions.end()) relevant[t] = p->second;
    }
  }
  if (relevant != partitions_seen_) BumpEpoch();  // new topics or partitions
  if (target_epoch_ == group_epoch_) return;
  std::vector<GroupMember> input;
  for (const auto& [id, m] : members_) input.push_back({id, m.topics, ToMap(m.assigned)});
  target_.clear();
  for (const auto& [id, topics] : assignor_(input, relevant)) target_[id] = ToSet(topics);
  target_epoch_ = group_epoch_;
  ++rebalances_;
  partitions_seen_ = std::move(relevant);
}

bool ConsumerGroup::Reconcile(const std::string& member_id, Member& m) {
  const PartitionSet& desired = target_[member_id];
  PartitionSet next;
  for (const auto& tp : m.assigned) {
    if (desired.contains(tp)) next.insert(tp);  // kept; the rest is revoked
  }
  for (const auto& tp : desired) {
    if (next.contains(tp)) continue;
    bool held = false;
    for (const auto& [id, other] : members_) {
      if (id != member_id && (other.assigned.contains(tp) || other.owned.contains(tp))) held = true;
    }
    if (!held) next.insert(tp);  // free: its previous owner released it
  }
  const bool changed = next != m.assigned;
  if (changed) {
    // The member moves to the group epoch (Heartbeat) with these.
    std::erase_if(m.assigned_at, [&](const auto& entry) { return !next.contains(entry.first); });
    for (const auto& tp : next) m.assigned_at.try_emplace(tp, group_epoch_);
  }
  m.assigned = std::move(next);
  return changed;
}

GroupError ConsumerGroup::CheckCommit(
    const std::string& member_id, int32_t member_epoch,
    const std::vector<std::pair<std::string, int32_t>>& partitions) const {
  if (member_id.empty() && member_epoch == -1) {
    if (members_.empty()) return {};
    return {v1::UNKNOWN_MEMBER_ID,
            absl::StrCat("group ", id_, " has members: a commit names one of them")};
  }
  auto it = members_.find(member_id);
  if (it == members_.end()) {
    return {v1::UNKNOWN_MEMBER_ID, absl::StrCat("member '", member_id, "' is not in group ", id_)};
  }
  const Member& m = it->second;
  if (member_epoch == m.epoch) return {};
  if (member_epoch > m.epoch) {
    return {v1::STALE_MEMBER_EPOCH,
            absl::StrCat("member epoch ", member_epoch, " is ahead of the current ", m.epoch)};
  }
  for (const auto& tp : partitions) {
    auto at = m.assigned_at.find(tp);
    if (at == m.assigned_at.end() || at->second > member_epoch) {
      return {v1::STALE_MEMBER_EPOCH,
              absl::StrCat("member epoch ", member_epoch, " is not current (", m.epoch, ") and ",
                           tp.first, "-", tp.second, " is not the member's since then")};
    }
  }
  return {};
}

ConsumerGroup::State ConsumerGroup::state() const {
  if (members_.empty()) return State::kEmpty;
  if (target_epoch_ != group_epoch_) return State::kReconciling;
  for (const auto& [id, m] : members_) {
    auto t = target_.find(id);
    const bool on_target = t == target_.end() ? m.assigned.empty() : t->second == m.assigned;
    const bool released =
        std::includes(m.assigned.begin(), m.assigned.end(), m.owned.begin(), m.owned.end());
    if (!on_target || !released) return State::kReconciling;
  }
  return State::kStable;
}

std::vector<GroupMemberView> ConsumerGroup::Members() const {
  std::vector<GroupMemberView> out;
  for (const auto& [id, m] : members_) {
    PartitionSet revoking;
    for (const auto& tp : m.owned) {
      if (!m.assigned.contains(tp)) revoking.insert(tp);
    }
    out.push_back(
        {id, m.client_id, m.instance_id, m.left, m.epoch, ToMap(m.assigned), ToMap(revoking)});
  }
  return out;
}

std::optional<std::string> ConsumerGroup::OwnerOf(const std::string& topic,
                                                  int32_t partition) const {
  const std::pair<std::string, int32_t> tp(topic, partition);
  for (const auto& [id, m] : members_) {
    if (m.assigned.contains(tp) || m.owned.contains(tp)) return id;
  }
  return std::nullopt;
}

}  // namespace samsa::broker
