#include "broker/partition.h"

#include <algorithm>

namespace samsa::broker {

Partition::Partition(storage::TopicPartitionName tp, storage::PartitionLog* log, NodeId self,
                     Offset checkpointed_hw)
    : tp_(std::move(tp)),
      log_(log),
      self_(self),
      high_watermark_(std::clamp(checkpointed_hw, log->log_start_offset(), log->log_end_offset())) {
}

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

Partition::LeaderAppend Partition::AppendAsLeader(std::span<uint8_t> records, Epoch leader_epoch) {
  using Outcome = LeaderAppend::Outcome;
  LeaderAppend out;
  absl::MutexLock lock(&append_mu_);
  std::optional<storage::BatchHeader> idempotent;
  int batches = 0;
  for (std::span<const uint8_t> rest = records; !rest.empty(); ++batches) {
    absl::StatusOr<storage::BatchHeader> h = storage::ParseBatchHeader(rest);
    if (!h.ok() || h->size() > rest.size()) break;  // the log's validation reports it
    if (h->producer_id != storage::kNoProducerId) idempotent = *h;
    rest = rest.subspan(h->size());
  }
  if (idempotent.has_value()) {
    if (batches != 1) {
      out.outcome = Outcome::kInvalid;
      out.message = "an idempotent producer sends one batch per partition in a request";
      return out;
    }
    const ProducerState::Verdict v = producers_.Check(*idempotent);
    switch (v.kind) {
      case ProducerState::Verdict::Kind::kAppend:
        break;
      case ProducerState::Verdict::Kind::kDuplicate:
        out.outcome = Outcome::kDuplicate;
        out.info.first_offset = v.duplicate_first;
        out.info.last_offset = v.duplicate_last;
        return out;
      case ProducerState::Verdict::Kind::kOutOfOrder:
        out.outcome = Outcome::kOutOfOrder;
        out.message = v.message;
        return out;
      case ProducerState::Verdict::Kind::kFencedEpoch:
        out.outcome = Outcome::kFencedEpoch;
        out.message = v.message;
        return out;
    }
  }
  absl::StatusOr<storage::AppendInfo> info = log_->AppendAsLeader(records, leader_epoch);
  if (!info.ok()) {
    out.status = info.status();
    return out;
  }
  out.info = *info;
  if (idempotent.has_value()) {
    idempotent->base_offset = info->first_offset;
    producers_.Update(*idempotent);
  }
  return out;
}

void Partition::OnFollowerAppend(std::span<const uint8_t> records) {
  absl::MutexLock lock(&append_mu_);
  (void)producers_.UpdateAll(records);  // the log validated them already
}

absl::Status Partition::RebuildProducers() {
  absl::MutexLock lock(&append_mu_);
  producers_.Clear();
  Offset from = log_->log_start_offset();
  const Offset end = log_->log_end_offset();
  while (from < end) {
    absl::StatusOr<storage::ReadSlice> slice = log_->Read(from, 1 << 20, end, true);
    if (!slice.ok()) return slice.status();
    if (slice->bytes.empty()) break;
    if (absl::Status st = producers_.UpdateAll(slice->bytes.span()); !st.ok()) return st;
    from = slice->next_offset;
  }
  return absl::OkStatus();
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
