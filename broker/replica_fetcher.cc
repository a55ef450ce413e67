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

void ReplicaFetcher::SetPartitions(std::vector<std::shared_ptr<Partition>> partitions) {
  NotifyingLock lock(&mu_, &wakeup_);
  incoming_ = std::move(partitions);
}

bool ReplicaFetcher::TakePartitions() {
  std::optional<std::vector<std::shared_ptr<Partition>>> incoming;
  {
    absl::MutexLock lock(&mu_);
    if (stop_) return false;
    incoming.swap(incoming_);
  }
  if (!incoming.has_value()) return true;
  ++sets_;
  for (std::shared_ptr<Partition>& p : *incoming) {
    auto [it, added] = followed_.try_emplace(p->tp());
    Followed& f = it->second;
    std::shared_ptr<const PartitionState> state = p->state();
    if (!added && f.partition != p) f.sent.reset();  // a new replica of the same partition
    if (!added && (state->leader_epoch != f.state->leader_epoch ||
                   state->partition_epoch != f.state->partition_epoch)) {
      f.say_again = true;
    }
    if (added || f.partition != p || f.state != state) to_look_at_.insert(p->tp());
    if (state->moving_in) {
      moving_in_.insert(p->tp());
    } else {
      moving_in_.erase(p->tp());
    }
    f.partition = std::move(p);
    f.state = std::move(state);
    f.set = sets_;
  }
  for (auto it = followed_.begin(); it != followed_.end();) {
    if (it->second.set == sets_) {
      ++it;
      continue;
    }
    if (it->second.sent.has_value()) to_forget_.push_back(it->first);
    to_look_at_.erase(it->first);
    moving_in_.erase(it->first);
    followed_.erase(it++);
  }
  return true;
}

ReplicaFetcher::Position ReplicaFetcher::PositionOf(const Followed& f) const {
  const Partition& p = *f.partition;
  Position out;
  out.set_topic(p.tp().topic);
  out.set_partition(p.tp().partition.value());
  out.set_current_leader_epoch(f.state->leader_epoch.value());
  out.set_fetch_offset(p.log()->log_end_offset().value());
  out.set_last_fetched_epoch(p.log()->latest_epoch().value_or(kNoEpoch).value());
  out.set_durable_offset(p.log()->flushed_offset().value());
  out.set_high_watermark(p.high_watermark().value());
  if (f.state->moving_in && options_.move_throttle != nullptr) {
    out.set_max_bytes(options_.move_throttle->ChunkBytes(options_.max_bytes));
  }
  return out;
}

namespace {

bool SamePosition(const v1::ReplicaFetchRequest::Partition& a,
                  const v1::ReplicaFetchRequest::Partition& b) {
  return a.current_leader_epoch() == b.current_leader_epoch() &&
         a.fetch_offset() == b.fetch_offset() && a.last_fetched_epoch() == b.last_fetched_epoch() &&
         a.durable_offset() == b.durable_offset() && a.high_watermark() == b.high_watermark() &&
         a.max_bytes() == b.max_bytes();
}

}  // namespace

v1::ReplicaFetchRequest ReplicaFetcher::BuildRequest(bool throttled, std::vector<Followed*>* said) {
  v1::ReplicaFetchRequest req;
  req.set_replica_id(options_.self.value());
  req.set_broker_epoch(options_.broker_epoch());
  req.set_max_wait_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(options_.max_wait)));
  req.set_max_bytes(options_.max_bytes);
  auto say = [&](Followed& f) {
    *req.add_partitions() = PositionOf(f);
    said->push_back(&f);
  };
  if (session_id_ == 0) {
    req.set_open_session(true);
    to_look_at_.clear();
    to_forget_.clear();
    for (auto& [tp, f] : followed_) {
      if (throttled && f.state->moving_in) {
        to_look_at_.insert(tp);  // said when it may fetch again
        continue;
      }
      say(f);
    }
    return req;
  }
  req.set_session_id(session_id_);
  req.set_session_epoch(session_epoch_ == INT32_MAX ? 1 : session_epoch_ + 1);
  if (throttled) {
    // The session must not send them records: they leave it until the
    // throttle lets them fetch, and are said again then.
    for (const storage::TopicPartitionName& tp : moving_in_) {
      Followed& f = followed_.at(tp);
      if (f.sent.has_value()) {
        to_forget_.push_back(tp);
        f.sent.reset();
      }
      to_look_at_.insert(tp);
    }
  }
  for (const storage::TopicPartitionName& tp : to_forget_) {
    v1::ReplicaFetchRequest::Forgotten* out = req.add_forgotten();
    out->set_topic(tp.topic);
    out->set_partition(tp.partition.value());
  }
  to_forget_.clear();
  for (auto it = to_look_at_.begin(); it != to_look_at_.end();) {
    Followed& f = followed_.at(*it);
    if (throttled && f.state->moving_in) {
      ++it;
      continue;
    }
    if (!f.sent.has_value() || f.say_again || !SamePosition(*f.sent, PositionOf(f))) say(f);
    to_look_at_.erase(it++);
  }
  return req;
}

void ReplicaFetcher::DropSession() {
  session_id_ = 0;
  session_epoch_ = 0;
  for (auto& [tp, f] : followed_) f.sent.reset();
  to_forget_.clear();
}

void ReplicaFetcher::Loop() {
  while (TakePartitions()) {
    const bool throttled = options_.move_throttle != nullptr && !moving_in_.empty() &&
                           !options_.move_throttle->Admit();
    if (followed_.empty() || (throttled && moving_in_.size() == followed_.size())) {
      absl::Duration wait = absl::Milliseconds(20);
      if (throttled) wait = std::clamp(options_.move_throttle->Wait(), absl::Milliseconds(1), wait);
      absl::MutexLock lock(&mu_);
      wakeup_.Wait(
          mu_,
          [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || incoming_.has_value(); },
          wait);
      continue;
    }
    std::vector<Followed*> said;
    const v1::ReplicaFetchRequest req = BuildRequest(throttled, &said);
    const absl::StatusOr<v1::ReplicaFetchResponse> answer =
        channel_->Fetch(req, options_.max_wait + absl::Seconds(2));
    if (!answer.ok() || answer->error().code() != v1::NONE) {
      // Whether the leader saw the request is unknown, or it refused the
      // session: a new one, listing everything, settles it.
      for (Followed* f : said) to_look_at_.insert(f->partition->tp());
      DropSession();
      if (answer.ok()) {
        SAMSA_LOG(INFO) << "fetch session with broker " << options_.leader.value()
                        << " ended: " << answer->error().message();
        continue;
      }
      absl::MutexLock lock(&mu_);
      wakeup_.Wait(
          mu_, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; },
          absl::Milliseconds(50));
      continue;
    }
    if (req.open_session()) {
      session_id_ = answer->session_id();
      session_epoch_ = 0;
    } else {
      session_epoch_ = req.session_epoch();
    }
    for (size_t i = 0; i < said.size(); ++i) {
      said[i]->say_again = false;
      if (session_id_ != 0) said[i]->sent = req.partitions(static_cast<int>(i));
    }
    for (const v1::ReplicaFetchResponse::Partition& in : answer->partitions()) {
      auto it =
          followed_.find(storage::TopicPartitionName{in.topic(), PartitionId(in.partition())});
      if (it == followed_.end()) continue;
      Followed& f = it->second;
      if (options_.move_throttle != nullptr && f.state->moving_in) {
        options_.move_throttle->Charge(static_cast<int64_t>(in.records().size()));
      }
      Apply(*f.partition, in);
      to_look_at_.insert(it->first);
    }
    // The leader closed the session (or opened none): the next request
    // lists everything.
    if (answer->session_id() != session_id_ || session_id_ == 0) DropSession();
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
