#include "broker/partition.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/clock.h"
#include "common/logging.h"
#include "storage/env.h"
#include "storage/segment.h"

namespace samsa::broker {

Partition::Partition(storage::TopicPartitionName tp, std::shared_ptr<storage::PartitionLog> log,
                     NodeId self, Offset checkpointed_hw)
    : tp_(std::move(tp)),
      log_(std::move(log)),
      self_(self),
      high_watermark_(
          std::clamp(checkpointed_hw, log_->log_start_offset(), log_->log_end_offset())),
      epoch_start_offset_(high_watermark_) {
  log_->SetCompactionLimit(high_watermark_);
}

void Partition::SetState(PartitionState state) {
  absl::MutexLock lock(&mu_);
  const bool becomes_leader =
      state.leader && !(state_->leader && state_->leader_epoch == state.leader_epoch);
  const std::vector<NodeId> before = state_->replicas;
  if (state.partition_epoch != state_->partition_epoch || !state.leader) proposed_.clear();
  state_ = std::make_shared<const PartitionState>(std::move(state));
  if (!becomes_leader && state_->leader) {
    // A replica a move took away, or gives (back): what it reported before
    // counts for nothing (its log may be new and empty), so it earns its
    // ISR place again by fetching; a new one gets a lag period to do so.
    const std::vector<NodeId>& after = state_->replicas;
    auto stays = [&](NodeId r) {
      return std::find(before.begin(), before.end(), r) != before.end() &&
             std::find(after.begin(), after.end(), r) != after.end();
    };
    for (auto* offsets : {&acked_, &fetched_}) {
      absl::erase_if(*offsets, [&](const auto& e) { return e.first != self_ && !stays(e.first); });
    }
    absl::erase_if(reported_in_, [&](const auto& e) { return !stays(e.first); });
    absl::erase_if(caught_up_, [&](const auto& e) { return e.first != self_ && !stays(e.first); });
    for (NodeId r : state_->replicas) {
      if (!stays(r) && r != self_) caught_up_[r] = MonotonicNow();
    }
  }
  if (becomes_leader) {
    // Offsets followers reported to an earlier leadership mean nothing now;
    // every follower gets a full lag period to catch up with this one.
    acked_.clear();
    fetched_.clear();
    caught_up_.clear();
    reported_in_.clear();
    for (NodeId r : state_->replicas) caught_up_[r] = MonotonicNow();
    acked_[self_] = state_->flush_always ? log_->flushed_offset() : log_->log_end_offset();
    epoch_start_offset_ = log_->log_end_offset();
  }
  if (state_->leader) AdvanceLocked();
  if (becomes_leader) {
    SAMSA_LOG(INFO) << "leading " << storage::PartitionDirName(tp_) << " in leader epoch "
                    << state_->leader_epoch.value() << " from offset "
                    << epoch_start_offset_.value() << " (partition epoch "
                    << state_->partition_epoch << ", high watermark " << high_watermark_.value()
                    << ", ISR " << absl::StrJoin(state_->isr, ",", absl::StreamFormatter()) << ")";
  }
}

std::shared_ptr<const PartitionState> Partition::state() const {
  absl::MutexLock lock(&mu_);
  return state_;
}

Offset Partition::high_watermark() const {
  absl::MutexLock lock(&mu_);
  return high_watermark_;
}

std::optional<Offset> Partition::LatestOffset() const {
  absl::MutexLock lock(&mu_);
  if (high_watermark_ < epoch_start_offset_) return std::nullopt;
  return high_watermark_;
}

Partition::Commit Partition::CommitOf(Epoch epoch, Offset end) const {
  absl::MutexLock lock(&mu_);
  if (!state_->leader || state_->leader_epoch != epoch) return Commit::kLeadershipMoved;
  return high_watermark_ >= end ? Commit::kCommitted : Commit::kPending;
}

void Partition::OnLocalOffset(Offset offset) {
  absl::MutexLock lock(&mu_);
  Offset& mine = acked_[self_];
  mine = std::max(mine, offset);
  if (state_->leader) AdvanceLocked();
}

bool Partition::OnFollowerFetch(NodeId replica, Offset fetch_offset, Offset acked, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (!state_->leader) return false;
  // As reported, even when lower: a follower that came back with less
  // (a new disk) must not count for what it held before.
  acked_[replica] = acked;
  fetched_[replica] = fetch_offset;
  reported_in_[replica] = state_->partition_epoch;
  if (fetch_offset >= log_->log_end_offset()) caught_up_[replica] = now;
  const Offset before = high_watermark_;
  AdvanceLocked();
  return high_watermark_ != before;
}

void Partition::OnFollowerStillFetching(NodeId replica, Offset fetch_offset, absl::Time now) {
  absl::MutexLock lock(&mu_);
  if (!state_->leader) return;
  auto reported = fetched_.find(replica);
  if (reported == fetched_.end() || reported->second != fetch_offset) return;
  if (fetch_offset >= log_->log_end_offset()) caught_up_[replica] = now;
}

void Partition::OnLeaderHighWatermark(Offset hw) {
  absl::MutexLock lock(&mu_);
  high_watermark_ = std::max(high_watermark_, std::min(hw, log_->log_end_offset()));
  log_->SetCompactionLimit(high_watermark_);
}

std::optional<std::vector<NodeId>> Partition::ProposeIsr(absl::Time now, absl::Duration max_lag) {
  absl::MutexLock lock(&mu_);
  if (!state_->leader) return std::nullopt;
  std::vector<NodeId> wanted;
  for (NodeId r : state_->replicas) {
    if (r == self_) {
      wanted.push_back(r);
      continue;
    }
    auto caught = caught_up_.find(r);
    const bool lagging = caught == caught_up_.end() || now - caught->second > max_lag;
    auto acked = acked_.find(r);
    // Rejoining needs the high watermark acknowledged (held, and durable
    // under flush.policy=always, so it holds all that is committed) in a
    // fetch since the partition last changed (reported_in_) and recently
    // (caught_up_).
    auto reported = reported_in_.find(r);
    const bool rejoins = acked != acked_.end() && acked->second >= high_watermark_ && !lagging &&
                         reported != reported_in_.end() &&
                         reported->second == state_->partition_epoch;
    if (ContainsId(state_->isr, r) ? !lagging : rejoins) wanted.push_back(r);
  }
  std::vector<NodeId> sorted_wanted = wanted, sorted_isr = state_->isr;
  std::sort(sorted_wanted.begin(), sorted_wanted.end());
  std::sort(sorted_isr.begin(), sorted_isr.end());
  if (sorted_wanted == sorted_isr) {
    // Nothing to change; if an earlier proposal went unanswered, asking
    // for the ISR as it is gets the answer that ends it.
    if (proposed_.empty()) return std::nullopt;
    return state_->isr;
  }
  // Asked again while unanswered: an earlier proposal may still be taken,
  // so its followers keep counting along with the new ones.
  for (NodeId r : wanted) {
    if (!ContainsId(state_->isr, r) && !ContainsId(proposed_, r)) proposed_.push_back(r);
  }
  proposed_in_ = state_->partition_epoch;
  return wanted;
}

absl::Time Partition::NextIsrCheck(absl::Duration max_lag) const {
  absl::MutexLock lock(&mu_);
  if (!state_->leader) return absl::InfiniteFuture();
  if (!proposed_.empty() || state_->isr.size() < state_->replicas.size()) {
    return absl::InfinitePast();
  }
  absl::Time first = absl::InfiniteFuture();
  for (NodeId r : state_->isr) {
    if (r == self_) continue;
    auto caught = caught_up_.find(r);
    if (caught == caught_up_.end()) return absl::InfinitePast();
    // ProposeIsr drops a follower once more than max_lag has passed.
    first = std::min(first, caught->second + max_lag + absl::Nanoseconds(1));
  }
  return first;
}

void Partition::OnIsrAnswer(int32_t partition_epoch) {
  absl::MutexLock lock(&mu_);
  if (partition_epoch == proposed_in_ && partition_epoch == state_->partition_epoch) {
    proposed_.clear();
    if (state_->leader) AdvanceLocked();
  }
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
    const storage::ProducerState::Verdict v = producers_.Check(*idempotent);
    switch (v.kind) {
      case storage::ProducerState::Verdict::Kind::kAppend:
        break;
      case storage::ProducerState::Verdict::Kind::kDuplicate:
        out.outcome = Outcome::kDuplicate;
        out.info.first_offset = v.duplicate_first;
        out.info.last_offset = v.duplicate_last;
        return out;
      case storage::ProducerState::Verdict::Kind::kOutOfOrder:
        out.outcome = Outcome::kOutOfOrder;
        out.message = v.message;
        return out;
      case storage::ProducerState::Verdict::Kind::kFencedEpoch:
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

absl::StatusOr<storage::AppendInfo> Partition::AppendAsFollower(std::span<const uint8_t> records) {
  absl::MutexLock lock(&append_mu_);
  absl::StatusOr<storage::AppendInfo> info = log_->AppendAsFollower(records);
  if (info.ok()) (void)producers_.UpdateAll(records);  // the log validated them already
  return info;
}

absl::Status Partition::TruncateTo(Offset end) {
  absl::MutexLock lock(&snapshot_mu_);
  // Snapshots first: one left above the log end would describe batches
  // the log no longer has.
  if (absl::Status st = DeleteSnapshotsAbove(end).status(); !st.ok()) return st;
  if (absl::Status st = log_->TruncateTo(end); !st.ok()) return st;
  return LoadProducersLocked().status();
}

absl::Status Partition::TruncateFullyAndStartAt(Offset start) {
  absl::MutexLock lock(&snapshot_mu_);
  if (absl::Status st = DeleteSnapshotsAbove(std::nullopt).status(); !st.ok()) return st;
  if (absl::Status st = log_->TruncateFullyAndStartAt(start); !st.ok()) return st;
  absl::MutexLock append(&append_mu_);
  producers_.Clear();
  snapshot_segment_ = log_->active_segment_base();
  return absl::OkStatus();
}

namespace {
constexpr std::string_view kSnapshotSuffix = ".snapshot";
}  // namespace

std::string Partition::SnapshotPath(Offset offset) const {
  return storage::JoinPath(log_->dir(), storage::SegmentFileName(offset, kSnapshotSuffix));
}

absl::StatusOr<std::vector<Offset>> Partition::SnapshotOffsets() const {
  absl::StatusOr<std::vector<std::string>> names = log_->env()->ListDir(log_->dir());
  if (!names.ok()) return names.status();
  std::vector<Offset> offsets;  // ascending, as the names sort
  for (const std::string& name : *names) {
    if (auto offset = storage::ParseSegmentFileName(name, kSnapshotSuffix))
      offsets.push_back(*offset);
  }
  return offsets;
}

absl::StatusOr<std::vector<Offset>> Partition::DeleteSnapshotsAbove(std::optional<Offset> end) {
  absl::StatusOr<std::vector<Offset>> offsets = SnapshotOffsets();
  if (!offsets.ok()) return offsets.status();
  std::vector<Offset> kept;
  for (Offset o : *offsets) {
    if (end.has_value() && o <= *end) {
      kept.push_back(o);
      continue;
    }
    if (absl::Status st = log_->env()->DeleteFile(SnapshotPath(o)); !st.ok()) return st;
  }
  return kept;
}

absl::StatusOr<Partition::ProducerLoad> Partition::LoadProducers() {
  absl::MutexLock lock(&snapshot_mu_);
  return LoadProducersLocked();
}

absl::StatusOr<Partition::ProducerLoad> Partition::LoadProducersLocked() {
  absl::MutexLock lock(&append_mu_);
  snapshot_segment_ = log_->active_segment_base();
  const Offset end = log_->log_end_offset();
  absl::StatusOr<std::vector<Offset>> offsets = DeleteSnapshotsAbove(end);
  if (!offsets.ok()) return offsets.status();
  ProducerLoad load;
  producers_.Clear();
  for (auto it = offsets->rbegin(); it != offsets->rend() && !load.snapshot; ++it) {
    const std::string path = SnapshotPath(*it);
    absl::StatusOr<std::string> bytes = log_->env()->ReadFile(path);
    if (!bytes.ok()) return bytes.status();
    absl::StatusOr<storage::ProducerState::Snapshot> snapshot =
        storage::ProducerState::Decode(*bytes);
    if (snapshot.ok() && snapshot->offset != *it) {
      snapshot = absl::DataLossError(
          absl::StrCat("it holds the state at offset ", snapshot->offset.value()));
    }
    if (!snapshot.ok()) {
      SAMSA_LOG(WARNING) << path << ": " << snapshot.status().message()
                         << "; deleting it and using an older one or the log";
      if (absl::Status st = log_->env()->DeleteFile(path); !st.ok()) return st;
      continue;
    }
    producers_ = std::move(snapshot->state);
    load.snapshot = *it;
  }
  Offset from = std::max(load.snapshot.value_or(Offset(0)), log_->log_start_offset());
  while (from < end) {
    absl::StatusOr<storage::ReadSlice> slice =
        log_->Read(from, 1 << 20, end, storage::FirstBatch::kAlways);
    if (!slice.ok()) return slice.status();
    if (slice->bytes.empty()) break;
    if (absl::Status st = producers_.UpdateAll(slice->bytes.span()); !st.ok()) return st;
    load.bytes_replayed += static_cast<int64_t>(slice->bytes.size());
    from = slice->next_offset;
  }
  return load;
}

absl::Status Partition::SnapshotProducers(SnapshotWhen when) {
  absl::MutexLock lock(&snapshot_mu_);
  const Offset segment = log_->active_segment_base();
  if (when == SnapshotWhen::kIfRolled && segment == snapshot_segment_) return absl::OkStatus();
  Offset end;
  std::string bytes;
  {
    absl::MutexLock append(&append_mu_);
    end = log_->log_end_offset();
    bytes = producers_.Encode(end);
  }
  absl::StatusOr<std::vector<Offset>> offsets = SnapshotOffsets();
  if (!offsets.ok()) return offsets.status();
  snapshot_segment_ = segment;
  if (!offsets->empty() && offsets->back() == end) return absl::OkStatus();  // none since
  if (absl::Status st = log_->env()->WriteFileAtomically(SnapshotPath(end), bytes); !st.ok()) {
    return st;
  }
  // Keep this one and the newest before it (should this one be damaged).
  for (size_t i = 0; i + 1 < offsets->size(); ++i) {
    if (absl::Status st = log_->env()->DeleteFile(SnapshotPath((*offsets)[i])); !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

int64_t Partition::MaxFollowerLag() const {
  absl::MutexLock lock(&mu_);
  if (!state_->leader) return 0;
  const Offset end = log_->log_end_offset();
  int64_t lag = 0;
  for (NodeId r : state_->replicas) {
    if (r == self_) continue;
    auto it = fetched_.find(r);
    lag = std::max(lag, end - (it == fetched_.end() ? log_->log_start_offset() : it->second));
  }
  return lag;
}

void Partition::AdvanceLocked() {
  if (state_->isr.empty()) return;
  Offset lowest = log_->log_end_offset();
  using Members = const std::vector<NodeId>*;
  for (Members members : std::initializer_list<Members>{&state_->isr, &proposed_}) {
    for (NodeId member : *members) {
      auto it = acked_.find(member);
      lowest = std::min(lowest, it == acked_.end() ? log_->log_start_offset() : it->second);
    }
  }
  high_watermark_ = std::max(high_watermark_, lowest);
  log_->SetCompactionLimit(high_watermark_);
}

}  // namespace samsa::broker
