#include "common/scheduler.h"

#include <algorithm>
#include <utility>

#include "common/logging.h"

namespace samsa {

Scheduler::TaskId Scheduler::Add(std::string name, absl::Time first, Task task) {
  names_.push_back(std::move(name));
  tasks_.push_back(std::move(task));
  absl::MutexLock lock(&mu_);
  when_.push_back(When{.next = first});
  return tasks_.size() - 1;
}

Scheduler::TaskId Scheduler::Every(std::string name, absl::Duration interval,
                                   absl::AnyInvocable<void()> work) {
  return Add(std::move(name), MonotonicNow() + interval,
             [interval, work = std::move(work)](absl::Time now) mutable {
               work();
               return now + interval;
             });
}

void Scheduler::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void Scheduler::RunSoon(TaskId id) {
  NotifyingLock lock(&mu_, &wakeup_);
  when_[id].soon = true;
  poked_ = true;
}

void Scheduler::Stop() {
  {
    NotifyingLock lock(&mu_, &wakeup_);
    stop_ = true;
  }
  if (thread_.joinable()) thread_.join();
}

void Scheduler::Loop() {
  std::vector<TaskId> due_now;
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      absl::Time due = absl::InfiniteFuture();
      for (const When& w : when_) due = std::min(due, w.soon ? absl::InfinitePast() : w.next);
      poked_ = false;  // what RunSoon asks from here on wakes the wait below
      wakeup_.WaitUntil(
          mu_, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_ || poked_; }, due);
      if (stop_) return;
      const absl::Time now = MonotonicNow();
      due_now.clear();
      for (TaskId id = 0; id < when_.size(); ++id) {
        if (!when_[id].soon && when_[id].next > now) continue;
        when_[id].soon = false;
        due_now.push_back(id);
      }
    }
    for (TaskId id : due_now) {
      const absl::Time start = MonotonicNow();
      const absl::Time next = tasks_[id](start);
      if (const absl::Duration took = MonotonicNow() - start; took > kSlowTask) {
        SAMSA_LOG(WARNING) << "scheduled task " << names_[id] << " ran for " << took;
      }
      absl::MutexLock lock(&mu_);
      when_[id].next = next;
      if (stop_) return;
    }
  }
}

}  // namespace samsa
