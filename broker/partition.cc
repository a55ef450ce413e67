#include "broker/partition.h"

#include <algorithm>

namespace samsa::broker {

Partition::Partition(storage::TopicPartitionName tp, storage::PartitionLog* log, NodeId self)
    : tp_(std::move(tp)), log_(log), self_(self), high_watermark_(log->log_start_offset()) {}

void Partition::SetState(PartitionState state) {
  absl::MutexLock lock(&mu_);
  const bool becomes_leader = state.leader && !(state_.leader && state_.leader_epoch == state.leader_epoch);
  state_ = std::move(state);
  if (becomes_leader) {
    // Offsets followers reported to an earlier leadership mean nothing now.
    acked_.clear();
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
