#include "broker/purgatory.h"

#include <algorithm>
#include <utility>

#include "common/logging.h"

namespace samsa::broker {

Purgatory::Purgatory(absl::Time now, absl::Duration tick, size_t slots,
                     std::function<void()> earlier)
    : origin_(now),
      tick_(tick),
      earlier_(std::move(earlier)),
      current_tick_(0),
      wheel_(std::max<size_t>(slots, 1)) {
  SAMSA_CHECK(tick_ > absl::ZeroDuration()) << "a timing wheel needs a positive tick";
}

int64_t Purgatory::TickOf(absl::Time t) const {
  if (t <= origin_) return 0;
  if (t == absl::InfiniteFuture()) return INT64_MAX;
  absl::Duration rest;
  return absl::IDivDuration(t - origin_, tick_, &rest);
}

void Purgatory::Finish(DelayedOperation& op, DelayedOperation::Outcome outcome) {
  if (op.Claim()) op.Complete(outcome);
}

void Purgatory::Watch(std::shared_ptr<DelayedOperation> op, std::span<const Key> keys) {
  if (op->Ready()) return Finish(*op, DelayedOperation::Outcome::kReady);
  bool stopped = false;
  bool earlier = false;
  {
    absl::MutexLock lock(&mu_);
    stopped = shutdown_;
    if (!stopped) {
      op->keys_.assign(keys.begin(), keys.end());
      op->parked_ = true;
      ++parked_;
      for (Key k : keys) watchers_[k].push_back(op);
      // A deadline already past goes in the slot Advance looks at next.
      const int64_t tick = std::max(TickOf(op->deadline()), current_tick_);
      op->slot_ = static_cast<size_t>(tick == INT64_MAX ? current_tick_ : tick) % wheel_.size();
      wheel_[op->slot_].ops.push_back(op);
      if (op->deadline() < promised_) {
        promised_ = op->deadline();
        earlier = earlier_ != nullptr;
      }
    }
  }
  if (stopped) return Finish(*op, DelayedOperation::Outcome::kShutdown);
  if (earlier) earlier_();
  // An event between the first look and the parking found nothing to
  // check: look again.
  if (op->Ready() && op->Claim()) {
    {
      absl::MutexLock lock(&mu_);
      Unpark(*op);
    }
    op->Complete(DelayedOperation::Outcome::kReady);
  }
}

int Purgatory::Check(Key key) {
  std::vector<std::shared_ptr<DelayedOperation>> watching;
  {
    absl::MutexLock lock(&mu_);
    auto it = watchers_.find(key);
    if (it == watchers_.end() || it->second.empty()) return 0;
    watching = it->second;
  }
  return TryAll(watching, key);
}

int Purgatory::CheckAll() {
  std::vector<std::shared_ptr<DelayedOperation>> watching;
  {
    absl::MutexLock lock(&mu_);
    absl::erase_if(watchers_, [](const auto& entry) { return entry.second.empty(); });
    absl::flat_hash_map<const DelayedOperation*, bool> seen;
    for (const auto& [key, ops] : watchers_) {
      for (const std::shared_ptr<DelayedOperation>& op : ops) {
        if (seen.emplace(op.get(), true).second) watching.push_back(op);
      }
    }
  }
  return TryAll(watching);
}

int Purgatory::TryAll(const std::vector<std::shared_ptr<DelayedOperation>>& watching, Key key) {
  std::vector<std::shared_ptr<DelayedOperation>> completed;
  for (const std::shared_ptr<DelayedOperation>& op : watching) {
    if (!op->done() && (key == nullptr ? op->Ready() : op->ReadyAfter(key)) && op->Claim()) {
      completed.push_back(op);
    }
  }
  if (completed.empty()) return 0;
  {
    absl::MutexLock lock(&mu_);
    for (const std::shared_ptr<DelayedOperation>& op : completed) Unpark(*op);
  }
  for (const std::shared_ptr<DelayedOperation>& op : completed) {
    op->Complete(DelayedOperation::Outcome::kReady);
  }
  return static_cast<int>(completed.size());
}

void Purgatory::Advance(absl::Time now) {
  std::vector<std::shared_ptr<DelayedOperation>> expired;
  {
    absl::MutexLock lock(&mu_);
    const int64_t target = TickOf(now);
    if (target < current_tick_) return;
    // Each slot once, however long since the last call.
    const int64_t last =
        std::min<int64_t>(target, current_tick_ + static_cast<int64_t>(wheel_.size()) - 1);
    for (int64_t t = current_tick_; t <= last; ++t) {
      std::vector<std::shared_ptr<DelayedOperation>>& ops =
          wheel_[static_cast<size_t>(t) % wheel_.size()].ops;
      std::erase_if(
          ops, [&](const std::shared_ptr<DelayedOperation>& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
            if (op->deadline() > now) return false;  // a later turn
            op->parked_ = false;                     // leaves the slot here, its keys below
            --parked_;
            RemoveFromKeys(*op);
            expired.push_back(op);
            return true;
          });
    }
    current_tick_ = target + 1;
  }
  for (const std::shared_ptr<DelayedOperation>& op : expired) {
    Finish(*op, DelayedOperation::Outcome::kExpired);
  }
}

void Purgatory::Shutdown() {
  std::vector<std::shared_ptr<DelayedOperation>> all;
  {
    absl::MutexLock lock(&mu_);
    shutdown_ = true;
    for (Slot& slot : wheel_) {
      for (std::shared_ptr<DelayedOperation>& op : slot.ops) {
        if (!op->done()) all.push_back(std::move(op));
      }
      slot.ops.clear();
    }
    watchers_.clear();
    for (const std::shared_ptr<DelayedOperation>& op : all) {
      op->parked_ = false;
      op->keys_.clear();
    }
    parked_ = 0;
  }
  for (const std::shared_ptr<DelayedOperation>& op : all) {
    Finish(*op, DelayedOperation::Outcome::kShutdown);
  }
}

absl::Time Purgatory::NextDeadline() {
  absl::MutexLock lock(&mu_);
  absl::Time best = absl::InfiniteFuture();
  if (!shutdown_) {
    // Slots in the order their ticks come; a slot holds deadlines from its
    // start on (or past ones, in the next slot looked at).
    const int64_t turn = static_cast<int64_t>(wheel_.size());
    for (int64_t t = current_tick_; t < current_tick_ + turn; ++t) {
      if (origin_ + tick_ * t >= best) break;
      for (const auto& op : wheel_[static_cast<size_t>(t) % wheel_.size()].ops) {
        best = std::min(best, op->deadline());
      }
    }
  }
  promised_ = best;
  return best;
}

size_t Purgatory::size() const {
  absl::MutexLock lock(&mu_);
  return parked_;
}

void Purgatory::Unpark(DelayedOperation& op) {
  if (!op.parked_) return;
  op.parked_ = false;
  --parked_;
  std::erase_if(wheel_[op.slot_].ops, [&](const auto& w) { return w.get() == &op; });
  RemoveFromKeys(op);
}

void Purgatory::RemoveFromKeys(DelayedOperation& op) {
  // A key's list stays, empty, for the next operation parked under it (a
  // follower's fetch parks under every partition it follows, again and
  // again); CheckAll, run when keys come and go, drops the empty ones.
  for (Key k : op.keys_) {
    auto it = watchers_.find(k);
    if (it != watchers_.end()) {
      std::erase_if(it->second, [&](const auto& w) { return w.get() == &op; });
    }
  }
  op.keys_.clear();
}

}  // namespace samsa::broker
