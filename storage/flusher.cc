#include "storage/flusher.h"

namespace samsa::storage {

Flusher::Flusher(absl::Duration interval) : interval_(interval), thread_([this] { Run(); }) {}

Flusher::~Flusher() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
  for (auto& [log, waiters] : waiting_) {
    for (Waiter& w : waiters) w.done(absl::UnavailableError("flusher is shutting down"));
  }
}

void Flusher::WaitDurable(PartitionLog* log, Offset end, Callback done) {
  absl::MutexLock lock(&mu_);
  waiting_[log].push_back({end, std::move(done)});
}

void Flusher::Register(PartitionLog* log) {
  absl::MutexLock lock(&mu_);
  periodic_.insert(log);
}

void Flusher::Unregister(PartitionLog* log) {
  absl::MutexLock lock(&mu_);
  periodic_.erase(log);
  auto idle = [this, log]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return busy_ != log; };
  mu_.Await(absl::Condition(&idle));
}

int64_t Flusher::flushes() const {
  absl::MutexLock lock(&mu_);
  return flushes_;
}

void Flusher::Run() {
  absl::Time next_periodic = absl::Now() + interval_;
  while (true) {
    absl::flat_hash_map<PartitionLog*, std::vector<Waiter>> batch;
    std::vector<PartitionLog*> periodic;
    {
      absl::MutexLock lock(&mu_);
      auto has_work = [this]()
                          ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || !waiting_.empty(); };
      mu_.AwaitWithDeadline(absl::Condition(&has_work), next_periodic);
      if (stop_) return;
      batch.swap(waiting_);
      if (absl::Now() >= next_periodic) {
        periodic.assign(periodic_.begin(), periodic_.end());
        next_periodic = absl::Now() + interval_;
      }
    }
    for (auto& [log, waiters] : batch) {
      const absl::Status st = log->Flush();
      {
        absl::MutexLock lock(&mu_);
        ++flushes_;
      }
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
    }
    for (PartitionLog* log : periodic) {
      {
        absl::MutexLock lock(&mu_);
        if (!periodic_.contains(log)) continue;  // unregistered meanwhile
        busy_ = log;
      }
      // The error, if any, has taken the directory offline; appenders see it.
      (void)log->Flush();
      absl::MutexLock lock(&mu_);
      ++flushes_;
      busy_ = nullptr;
    }
  }
}

}  // namespace samsa::storage
