#include "broker/partition.h"

#include <algorithm>

namespace samsa::broker {

Partition::Partition(storage::TopicPartitionName tp, storage::PartitionLog* log, NodeId self)
    : tp_(std::move(tp)), log_(log), self_(self), high_watermark_(log->log_start_offset()) {}

void Partition::SetState(PartitionState state) {
  absl::MutexLock lock(&mu_);
  const bool becomes_leader =
      state.leader && !(state_.leader && state_.leader_epoch == state.leader_epoch);
  state_ = std::move(state);
  if (becomes_leader) {
    // Offsets followers reported to an earlier leadership mean nothing now;
    // every follower gets a full lag period to catch up with this one.
    acked_.clear();
    fetched_.clear();
    caught_up_.clear();
    for (NodeId r : state_.replicas) caught_up_[r] = absl::Now();
    acked_[self_] = state_.flush_always ? log_->flushed_offset() : log_->log_end_offset();
  }
  if (state_.leader) AdvanceLocked();
}

PartitionState Partition::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

Offset Partition::high_watermark() const {
  absl::MutexLock lock(&mu_);
  return high_watermark_;
}

void Partition::OnLocalOffset(Offset offset) {
  absl::MutexLock lock(&mu_);
  Offset& mine = acked_[self_];
  mine = std::max(mine, offset);
  if (state_.leader) AdvanceLocked();
}

void Partition::OnFollowerFetch(NodeId replica, Offset fetch_offset, Offset acked, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (!state_.leader) return;
  Offset& a = acked_[replica];
  a = std::max(a, acked);
  fetched_[replica] = fetch_offset;
  if (fetch_offset >= log_->log_end_offset()) caught_up_[replica] = now;
  AdvanceLocked();
}

void Partition::OnLeaderHighWatermark(Offset hw) {
  absl::MutexLock lock(&mu_);
  high_watermark_ = std::max(high_watermark_, std::min(hw, log_->log_end_offset()));
}

std::optional<std::vector<NodeId>> Partition::WantedIsr(absl::Time now,
                                                        absl::Duration max_lag) const {
  absl::MutexLock lock(&mu_);
  if (!state_.leader) return std::nullopt;
  std::vector<NodeId> wanted;
  for (NodeId r : state_.replicas) {
    const bool in_isr = std::find(state_.isr.begin(), state_.isr.end(), r) != state_.isr.end();
    if (r == self_) {
      wanted.push_back(r);
      continue;
    }
    auto caught = caught_up_.find(r);
    const bool lagging = caught == caught_up_.end() || now - caught->second > max_lag;
    auto fetched = fetched_.find(r);
    // Rejoining needs the high watermark (so it holds all that is
    // committed) and a fetch in this leader's epoch (a recent caught_up_).
    const bool rejoins =
        fetched != fetched_.end() && fetched->second >= high_watermark_ && !lagging;
    if ((in_isr && !lagging) || (!in_isr && rejoins)) wanted.push_back(r);
  }
  std::vector<NodeId> sorted_wanted = wanted, sorted_isr = state_.isr;
  std::sort(sorted_wanted.begin(), sorted_wanted.end());
  std::sort(sorted_isr.begin(), sorted_isr.end());
  if (sorted_wanted == sorted_isr) return std::nullopt;
  return wanted;
}

int64_t Partition::MaxFollowerLag() const {
  absl::MutexLock lock(&mu_);
  if (!state_.leader) return 0;
  const Offset end = log_->log_end_offset();
  int64_t lag = 0;
  for (NodeId r : state_.replicas) {
    if (r == self_) continue;
    auto it = fetched_.find(r);
    lag = std::max(lag, end - (it == fetched_.end() ? log_->log_start_offset() : it->second));
  }
  return lag;
}

void Partition::AdvanceLocked() {
  if (state_.isr.empty()) return;
  Offset lowest = log_->log_end_offset();
  for (NodeId member : state_.isr) {
    auto it = acked_.find(member);
    lowest = std::min(lowest, it == acked_.end() ? log_->log_start_offset() : it->second);
  }
  high_watermark_ = std::max(high_watermark_, lowest);
}

}  // namespace samsa::broker
