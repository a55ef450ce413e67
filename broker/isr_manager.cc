#include "broker/isr_manager.h"

#include <algorithm>
#include <map>

#include "common/logging.h"
#include "storage/log_manager.h"

namespace samsa::broker {

namespace {

// Rounds come no closer than this, so followers outside an ISR fetching
// many times a second make one round per gap, not one per fetch.
constexpr absl::Duration kMinGap = absl::Milliseconds(5);

}  // namespace

IsrManager::IsrManager(IsrManagerOptions options)
    : options_(std::move(options)),
      retry_(std::clamp(options_.replica_lag_max / 4, absl::Milliseconds(10), absl::Seconds(1))) {
  thread_ = std::thread([this] { Loop(); });
}

void IsrManager::CheckSoon(std::shared_ptr<Partition> partition) {
  bool first;
  {
    absl::MutexLock lock(&mu_);
    first = soon_.empty();
    soon_.try_emplace(partition.get(), std::move(partition));
  }
  if (first) wakeup_.Notify();
}

void IsrManager::Stop() {
  {
    NotifyingLock lock(&mu_, &wakeup_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

size_t IsrManager::scheduled() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

void IsrManager::Loop() {
  absl::Time last_round = absl::InfinitePast();
  std::vector<std::shared_ptr<Partition>> batch;
  while (true) {
    batch.clear();
    {
      absl::MutexLock lock(&mu_);
      while (true) {
        if (stop_) return;
        absl::Time wake = heap_.empty() ? absl::InfiniteFuture() : heap_.top().first;
        if (!soon_.empty()) wake = std::min(wake, last_round + kMinGap);
        if (wake <= MonotonicNow()) break;
        const bool had_soon = !soon_.empty();
        wakeup_.WaitUntil(
            mu_,
            [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
              return stop_ || (!had_soon && !soon_.empty());
            },
            wake);
      }
      const absl::Time now = MonotonicNow();
      for (auto& [raw, partition] : soon_) batch.push_back(std::move(partition));
      soon_.clear();
      while (!heap_.empty() && heap_.top().first <= now) {
        const auto [at, raw] = heap_.top();
        heap_.pop();
        auto it = entries_.find(raw);
        if (it == entries_.end() || it->second.at != at) continue;  // replaced
        std::shared_ptr<Partition> partition = it->second.partition.lock();
        entries_.erase(it);
        if (partition != nullptr) batch.push_back(std::move(partition));
      }
    }
    std::sort(batch.begin(), batch.end());
    batch.erase(std::unique(batch.begin(), batch.end()), batch.end());
    last_round = MonotonicNow();
    const std::vector<absl::Time> next = Round(batch);
    absl::MutexLock lock(&mu_);
    for (size_t i = 0; i < batch.size(); ++i) {
      Partition* raw = batch[i].get();
      if (next[i] == absl::InfiniteFuture()) {
        entries_.erase(raw);  // only an event can change it: CheckSoon then
        continue;
      }
      entries_[raw] = Entry{.partition = batch[i], .at = next[i]};
      heap_.emplace(next[i], raw);
    }
    // Counted once scheduled, so a reader who sees the count sees the schedule.
    looked_at_.fetch_add(static_cast<int64_t>(batch.size()), std::memory_order_release);
  }
}

std::vector<absl::Time> IsrManager::Round(
    const std::vector<std::shared_ptr<Partition>>& partitions) {
  v1::AlterPartitionRequest req;
  req.set_broker_id(options_.self.value());
  req.set_broker_epoch(options_.broker_epoch ? options_.broker_epoch() : 0);
  std::map<std::pair<Uuid, int32_t>, Partition*> asked;
  const absl::Time now = MonotonicNow();
  for (const std::shared_ptr<Partition>& p : partitions) {
    if (!options_.alter_partition) break;  // proposing would count followers never asked for
    std::optional<std::vector<NodeId>> wanted = p->ProposeIsr(now, options_.replica_lag_max);
    if (!wanted.has_value()) continue;
    const std::shared_ptr<const PartitionState> held = p->state();
    const PartitionState& s = *held;
    asked[{s.topic_id, p->tp().partition.value()}] = p.get();
    v1::AlterPartitionRequest::Partition* ap = req.add_partitions();
    *ap->mutable_topic_id() = s.topic_id.ToProto();
    ap->set_partition(p->tp().partition.value());
    ap->set_leader_epoch(s.leader_epoch.value());
    ap->set_partition_epoch(s.partition_epoch);
    for (NodeId m : *wanted) ap->add_new_isr(m.value());
    if (*wanted == s.isr) continue;  // only for the answer to an earlier proposal
    if (options_.probe != nullptr) {
      options_.probe->OnIsrChange(wanted->size() < s.isr.size() ? BrokerProbe::IsrChange::kShrink
                                                                : BrokerProbe::IsrChange::kExpand);
    }
    SAMSA_LOG(INFO) << "asking to change the ISR of " << storage::PartitionDirName(p->tp())
                    << " from " << s.isr.size() << " to " << wanted->size() << " members";
  }
  if (!req.partitions().empty()) {
    // A change the controller made shows up in the next image; an answer
    // that it made none ends what the proposals' followers count for.
    absl::StatusOr<v1::AlterPartitionResponse> r = options_.alter_partition(req);
    if (!r.ok()) {
      SAMSA_LOG(WARNING) << "AlterPartition: " << r.status();
    } else {
      for (const v1::AlterPartitionResponse::Result& result : r->results()) {
        auto it = asked.find({Uuid::FromProto(result.topic_id()), result.partition()});
        if (it == asked.end()) continue;
        it->second->OnIsrAnswer(result.partition_epoch());
        if (options_.on_answer) options_.on_answer(it->second);
      }
    }
  }
  // Looked at again when its deadline passes, and not before a retry
  // period: what it wants now was just asked for.
  std::vector<absl::Time> next;
  next.reserve(partitions.size());
  const absl::Time floor = MonotonicNow() + retry_;
  for (const std::shared_ptr<Partition>& p : partitions) {
    const absl::Time at = p->NextIsrCheck(options_.replica_lag_max);
    next.push_back(at == absl::InfiniteFuture() ? at : std::max(at, floor));
  }
  return next;
}

}  // namespace samsa::broker
