#include "broker/replica_fetcher.h"

#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/metadata_image.h"

namespace samsa::broker {

ReplicaFetcher::ReplicaFetcher(ReplicaFetcherOptions options,
                               std::unique_ptr<ReplicaChannel> channel)
    : options_(std::move(options)), channel_(std::move(channel)) {
  thread_ = std::thread([this] { Loop(); });
}

ReplicaFetcher::~ReplicaFetcher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  channel_->Cancel();
  wakeup_.Notify();
  thread_.join();
}

bool ReplicaFetcher::stopping() const {
  absl::MutexLock lock(&mu_);
  return stop_;
}

void ReplicaFetcher::Loop() {
  while (!stopping()) {
    std::vector<std::shared_ptr<Partition>> partitions = options_.partitions();
    if (options_.move_throttle != nullptr && !options_.move_throttle->Admit()) {
      std::erase_if(partitions, [](const auto& p) { return p->state()->moving_in; });
    }
    if (partitions.empty()) {
      absl::Duration wait = absl::Milliseconds(20);
      if (options_.move_throttle != nullptr) {
        wait = std::clamp(options_.move_throttle->Wait(), absl::Milliseconds(1), wait);
      }
      absl::SleepFor(wait);
      continue;
    }
    v1::ReplicaFetchRequest req;
    req.set_replica_id(options_.self.value());
    req.set_broker_epoch(options_.broker_epoch());
    req.set_max_wait_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(options_.max_wait)));
    req.set_max_bytes(options_.max_bytes);
    for (const std::shared_ptr<Partition>& p : partitions) {
      const std::shared_ptr<const PartitionState> held = p->state();
      const PartitionState& s = *held;
      v1::ReplicaFetchRequest::Partition* out = req.add_partitions();
      out->set_topic(p->tp().topic);
      out->set_partition(p->tp().partition.value());
      out->set_current_leader_epoch(s.leader_epoch.value());
      out->set_fetch_offset(p->log()->log_end_offset().value());
      out->set_last_fetched_epoch(p->log()->latest_epoch().value_or(kNoEpoch).value());
      out->set_durable_offset(p->log()->flushed_offset().value());
      out->set_high_watermark(p->high_watermark().value());
      if (s.moving_in && options_.move_throttle != nullptr) {
        out->set_max_bytes(options_.move_throttle->ChunkBytes(options_.max_bytes));
      }
    }
    const absl::StatusOr<v1::ReplicaFetchResponse> answer =
        channel_->Fetch(req, options_.max_wait + absl::Seconds(2));
    if (!answer.ok()) {
      absl::MutexLock lock(&mu_);
      wakeup_.Wait(
          mu_, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; },
          absl::Milliseconds(50));
      continue;
    }
    // The answer holds the partitions with news, in the request's order.
    size_t next = 0;
    for (const v1::ReplicaFetchResponse::Partition& in : answer->partitions()) {
      while (next < partitions.size() &&
             (partitions[next]->tp().topic != in.topic() ||
              partitions[next]->tp().partition.value() != in.partition())) {
        ++next;
      }
      if (next == partitions.size()) break;
      if (options_.move_throttle != nullptr && partitions[next]->state()->moving_in) {
        options_.move_throttle->Charge(static_cast<int64_t>(in.records().size()));
      }
      Apply(*partitions[next++], in);
    }
  }
}

void ReplicaFetcher::Apply(Partition& p, const v1::ReplicaFetchResponse::Partition& in) {
  storage::PartitionLog* log = p.log();
  switch (in.error().code()) {
    case v1::NONE:
      break;
    case v1::OFFSET_OUT_OF_RANGE:
      if (log->log_end_offset() < Offset(in.log_start_offset())) {
        SAMSA_LOG(WARNING) << log->dir() << ": behind the leader's log start "
                           << in.log_start_offset() << "; restarting the log there";
        if (absl::Status s = p.TruncateFullyAndStartAt(Offset(in.log_start_offset())); !s.ok()) {
          SAMSA_LOG(ERROR) << log->dir() << ": " << s;
        }
      }
      return;
    default:
      return;  // a leadership change: the next image says who leads
  }
  if (in.diverging()) {
    const auto [epoch, own_end] = log->EndOffsetForEpoch(Epoch(in.diverging_epoch()));
    Offset target(in.diverging_end_offset());
    if (epoch == Epoch(in.diverging_epoch())) target = std::min(target, own_end);
    target = std::max(target, log->log_start_offset());
    if (target < p.high_watermark()) {
      SAMSA_LOG(ERROR) << log->dir() << ": truncating to " << target << " below the high watermark "
                       << p.high_watermark() << ": committed records are lost";
      if (options_.probe != nullptr) options_.probe->OnTruncatedBelowHighWatermark();
    }
    if (absl::Status s = p.TruncateTo(target); !s.ok()) {
      SAMSA_LOG(ERROR) << log->dir() << ": truncating to " << target << ": " << s;
    }
    return;
  }
  if (!in.records().empty()) {
    std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(in.records().data()),
                                   in.records().size());
    absl::StatusOr<storage::AppendInfo> info = p.AppendAsFollower(bytes);
    if (!info.ok()) {
      SAMSA_LOG(ERROR) << log->dir() << ": follower append: " << info.status();
      return;
    }
    const std::shared_ptr<const PartitionState> state = p.state();
    if (state->flush_always) {
      if (absl::Status s = log->Flush(); !s.ok()) {
        SAMSA_LOG(ERROR) << log->dir() << ": " << s;
        return;
      }
      if (!ContainsId(state->isr, options_.self)) {
        if (absl::Status s = log->DropCache(); !s.ok())
          SAMSA_LOG(WARNING) << log->dir() << ": " << s;
      }
    }
  }
  p.OnLeaderHighWatermark(Offset(in.high_watermark()));
}

}  // namespace samsa::broker
