// Scheduler: one thread that runs a process's timed work — periodic chores
// (retention, checkpoints) and wake-ups at deadlines that move (a
// purgatory's next expiry) — each when it is due, sleeping in between.
//
// A task runs, then says when it is due next (a MonotonicNow() time;
// InfiniteFuture: only when RunSoon asks). RunSoon makes a task due at
// once, for an event that moved its work earlier: a RunSoon that comes
// while the task runs makes it run once more after, so no event is lost.
//
// Tasks run one at a time, on the scheduler's thread; a task must not
// block for long (the others wait behind it): one that runs longer than
// kSlowTask is logged with its name.
// Add before Start; RunSoon and Stop from any thread.
#pragma once

#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace samsa {

class Scheduler {
 public:
  // Runs at `now`; returns when it is due next.
  using Task = absl::AnyInvocable<absl::Time(absl::Time now)>;
  using TaskId = size_t;
  static constexpr absl::Duration kSlowTask = absl::Seconds(1);

  Scheduler() = default;
  ~Scheduler() { Stop(); }
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // A task first due at `first`.
  TaskId Add(std::string name, absl::Time first, Task task);
  // `work` every `interval`, first one interval from now.
  TaskId Every(std::string name, absl::Duration interval, absl::AnyInvocable<void()> work);
  void Start();
  // Makes task `id` due now.
  void RunSoon(TaskId id);
  // Waits for a running task to end and runs no more; idempotent.
  void Stop();

 private:
  struct When {
    absl::Time next;
    bool soon = false;  // RunSoon asked
  };
  void Loop();

  // Filled by Add before Start, then only read (by the thread).
  std::vector<std::string> names_;
  std::vector<Task> tasks_;
  absl::Mutex mu_;
  std::vector<When> when_ ABSL_GUARDED_BY(mu_);  // per task
  bool poked_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  Wakeup wakeup_;
  std::thread thread_;
};

}  // namespace samsa
