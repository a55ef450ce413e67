// Flusher: the fsync thread of one data directory, and the group commit of
// log.flush.policy=always (docs/architecture.md §4, §10).
//
// An appender that needs durability calls WaitDurable(log, end, done) after
// its append. The flusher thread takes every waiter queued so far, calls
// PartitionLog::Flush() once per log (one fdatasync covers all of that log's
// appends, however many producers made them), then completes each waiter
// whose data is now flushed. Waiters that arrive while an fsync runs share
// the next one: the more load, the more appends per fsync.
//
// Logs using interval:<ms> are registered with Register() and flushed that
// often; logs using `os` are never flushed here.
//
// `done` runs on the flusher thread with OK, or with the error that took the
// log directory offline; it must not block. Destroying the Flusher completes
// the remaining waiters with UNAVAILABLE. Thread-safe.
#pragma once

#include <deque>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "storage/partition_log.h"

namespace samsa::storage {

class Flusher {
 public:
  using Callback = absl::AnyInvocable<void(absl::Status)>;

  // `interval` is how often registered interval-policy logs are flushed.
  explicit Flusher(absl::Duration interval = absl::Seconds(1));
  ~Flusher();

  // `log` must stay alive until `done` has run or Unregister(log) returned.
  void WaitDurable(PartitionLog* log, Offset end, Callback done);

  // Periodic flushing for interval-policy logs.
  void Register(PartitionLog* log);
  // Stops every use of `log`: its pending waiters fail with ABORTED and a
  // flush of it in progress is waited for. Call before destroying a log that
  // was registered or waited on.
  void Unregister(PartitionLog* log);

  // PartitionLog::Flush calls made so far (for tests and metrics).
  int64_t flushes() const;

 private:
  struct Waiter {
    Offset end;
    Callback done;
  };

  void Run();

  const absl::Duration interval_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<PartitionLog*, std::vector<Waiter>> waiting_ ABSL_GUARDED_BY(mu_);
  // Logs with waiters, in arrival order, so a busy log cannot starve others.
  std::deque<PartitionLog*> ready_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<PartitionLog*> periodic_ ABSL_GUARDED_BY(mu_);
  // The log being flushed right now; Unregister waits until it is done.
  PartitionLog* busy_ ABSL_GUARDED_BY(mu_) = nullptr;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int64_t flushes_ ABSL_GUARDED_BY(mu_) = 0;
  Wakeup wakeup_;  // notified after each change to what Run waits for
  std::thread thread_;
};

}  // namespace samsa::storage
