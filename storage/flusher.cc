#include "storage/flusher.h"

#include <algorithm>

namespace samsa::storage {

Flusher::Flusher(absl::Duration interval) : interval_(interval), thread_([this] { Run(); }) {}

Flusher::~Flusher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  wakeup_.Notify();
  thread_.join();
  for (auto& [log, waiters] : waiting_) {
    for (Waiter& w : waiters) w.done(absl::UnavailableError("flusher is shutting down"));
  }
}

void Flusher::WaitDurable(PartitionLog* log, Offset end, Callback done) {
  {
    absl::MutexLock lock(&mu_);
    std::vector<Waiter>& waiters = waiting_[log];
    if (!waiters.empty()) return waiters.push_back({end, std::move(done)});
    ready_.push_back(log);
    waiters.push_back({end, std::move(done)});
  }
  wakeup_.Notify();
}

void Flusher::Register(PartitionLog* log) {
  absl::MutexLock lock(&mu_);
  periodic_.insert(log);
}

void Flusher::Unregister(PartitionLog* log) {
  std::vector<Waiter> orphans;
  {
    absl::MutexLock lock(&mu_);
    periodic_.erase(log);
    if (auto it = waiting_.find(log); it != waiting_.end()) {
      orphans = std::move(it->second);
      waiting_.erase(it);
      ready_.erase(std::find(ready_.begin(), ready_.end(), log));
    }
    auto idle = [this, log]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return busy_ != log; };
    mu_.Await(absl::Condition(&idle));
  }
  for (Waiter& w : orphans) w.done(absl::AbortedError("the log was closed before it was flushed"));
}

int64_t Flusher::flushes() const {
  absl::MutexLock lock(&mu_);
  return flushes_;
}

void Flusher::Run() {
  absl::Time next_periodic = MonotonicNow() + interval_;
  std::vector<PartitionLog*> due;  // periodic logs left to flush this round
  while (true) {
    PartitionLog* log = nullptr;
    std::vector<Waiter> waiters;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this, &due]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stop_ || !ready_.empty() || !due.empty();
      };
      wakeup_.WaitUntil(mu_, has_work, next_periodic);
      if (stop_) return;
      if (due.empty() && MonotonicNow() >= next_periodic) {
        due.assign(periodic_.begin(), periodic_.end());
        next_periodic = MonotonicNow() + interval_;
      }
      if (!ready_.empty()) {
        log = ready_.front();
        ready_.pop_front();
        auto it = waiting_.find(log);
        waiters = std::move(it->second);
        waiting_.erase(it);
      } else {
        while (log == nullptr && !due.empty()) {
          PartitionLog* candidate = due.back();
          due.pop_back();
          if (periodic_.contains(candidate)) log = candidate;  // not unregistered meanwhile
        }
      }
      if (log == nullptr) continue;
      busy_ = log;
      ++flushes_;
    }
    // One fsync for every append made before this point (group commit). An
    // error has taken the directory offline; waiters get it, appenders too.
    const absl::Status st = log->Flush();
    const Offset flushed = log->flushed_offset();
    for (Waiter& w : waiters) {
      if (!st.ok()) {
        w.done(st);
      } else if (flushed >= w.end) {
        w.done(absl::OkStatus());
      } else {
        // Truncated below the waiter's end before it became durable: that
        // data is gone and will never be flushed.
        w.done(absl::AbortedError("log was truncated before the append became durable"));
      }
    }
    absl::MutexLock lock(&mu_);
    busy_ = nullptr;
  }
}

}  // namespace samsa::storage
