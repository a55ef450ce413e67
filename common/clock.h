// Clock: the only source of time for Samsa code, so tests can control it.
//
// Monotonic time drives timeouts, sessions and intervals; it never goes back.
// Wall time is for record timestamps and human output only: it may jump.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace samsa {

class Clock {
 public:
  virtual ~Clock() = default;

  // Time since an arbitrary fixed origin; non-decreasing.
  virtual absl::Duration Monotonic() const = 0;
  // Wall-clock time.
  virtual absl::Time Now() const = 0;

  // The process-wide real clock (CLOCK_MONOTONIC and CLOCK_REALTIME).
  // Never destroyed.
  static Clock& Real();
};

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(absl::Time start = absl::FromUnixSeconds(1'700'000'000))
      : wall_nanos_(absl::ToUnixNanos(start)) {}

  absl::Duration Monotonic() const override {
    return absl::Nanoseconds(mono_nanos_.load(std::memory_order_acquire));
  }
  absl::Time Now() const override {
    return absl::FromUnixNanos(wall_nanos_.load(std::memory_order_acquire));
  }

  // Moves both clocks forward by `d` (which must not be negative).
  void Advance(absl::Duration d);
  // Sets only the wall clock, as an NTP step would; monotonic time is untouched.
  void SetWallTime(absl::Time t) {
    wall_nanos_.store(absl::ToUnixNanos(t), std::memory_order_release);
  }

 private:
  std::atomic<int64_t> mono_nanos_{0};
  std::atomic<int64_t> wall_nanos_;
};

// CLOCK_MONOTONIC as an absl::Time, for deadlines, ages and intervals that a
// stepped wall clock must not move (NTP stepping, a VM resumed, an operator's
// `date -s`). Only comparisons and differences of two such values mean
// anything: it is not a date, so never print one or mix it with Now().
absl::Time MonotonicNow();

// Timed waits measured on CLOCK_MONOTONIC.
//
// abseil's timed waits (Mutex::AwaitWithTimeout/AwaitWithDeadline,
// CondVar::WaitWithTimeout, Notification::WaitForNotificationWithTimeout)
// turn every timeout into a CLOCK_REALTIME deadline (abseil 20220623, Debian
// 12's), so a wall clock stepped back stretches a wait by the step and one
// stepped forward cuts it short. A loop that waits for "work or a deadline"
// uses a Wakeup instead: it sleeps on a condition variable timed against
// steady_clock, and whoever changes what the loop waits for calls Notify().
class Wakeup {
 public:
  // With `mu` held: waits until `done()` holds or `timeout` has passed, and
  // returns done(). `mu` is released while sleeping and held when
  // `done` is called.
  bool Wait(absl::Mutex& mu, absl::FunctionRef<bool()> done, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);
  // As Wait, until a MonotonicNow() deadline.
  bool WaitUntil(absl::Mutex& mu, absl::FunctionRef<bool()> done, absl::Time deadline)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu);

  // Wakes every waiter to look at its condition again.
  void Notify();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t generation_ = 0;  // guarded by mu_
};

// Holds `mu` for a change a Wakeup's waiters may be waiting for, and
// notifies them as it releases `mu`: for classes where most sections under
// `mu` change something some wait looks at. The notification comes before
// the release, so a waiter that sees the change (under `mu`) and then
// destroys the object cannot free the Wakeup under the notifier.
class ABSL_SCOPED_LOCKABLE NotifyingLock {
 public:
  NotifyingLock(absl::Mutex* mu, Wakeup* wakeup) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu)
      : mu_(mu), wakeup_(wakeup) {
    mu_->Lock();
  }
  ~NotifyingLock() ABSL_UNLOCK_FUNCTION() {
    wakeup_->Notify();
    mu_->Unlock();
  }
  NotifyingLock(const NotifyingLock&) = delete;
  NotifyingLock& operator=(const NotifyingLock&) = delete;

 private:
  absl::Mutex* const mu_;
  Wakeup* const wakeup_;
};

}  // namespace samsa
