#include "common/clock.h"

#include <time.h>

#include "common/logging.h"

namespace samsa {
namespace {

class RealClock final : public Clock {
 public:
  absl::Duration Monotonic() const override {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return absl::DurationFromTimespec(ts);
  }
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace

Clock& Clock::Real() {
  static RealClock* clock = new RealClock();
  return *clock;
}

absl::Time MonotonicNow() { return absl::UnixEpoch() + Clock::Real().Monotonic(); }

bool Wakeup::Wait(absl::Mutex& mu, absl::FunctionRef<bool()> done, absl::Duration timeout) {
  return WaitUntil(
      mu, done,
      timeout == absl::InfiniteDuration() ? absl::InfiniteFuture() : MonotonicNow() + timeout);
}

bool Wakeup::WaitUntil(absl::Mutex& mu, absl::FunctionRef<bool()> done, absl::Time deadline) {
  while (!done()) {
    const absl::Time now = MonotonicNow();
    if (now >= deadline) return false;
    uint64_t seen;
    {
      // Read under `mu`: a change to what `done` reads is made under `mu`
      // and notified after it, so it bumps the generation after this read.
      std::lock_guard<std::mutex> lock(mu_);
      seen = generation_;
    }
    mu.Unlock();
    {
      std::unique_lock<std::mutex> lock(mu_);
      auto notified = [&] { return generation_ != seen; };
      if (deadline == absl::InfiniteFuture()) {
        cv_.wait(lock, notified);
      } else {
        cv_.wait_for(lock, absl::ToChronoNanoseconds(deadline - now), notified);
      }
    }
    mu.Lock();
  }
  return true;
}

void Wakeup::Notify() {
  // Under the lock: a waiter that wakes on the new generation may go on to
  // destroy this Wakeup, which must not happen while notify_all runs.
  std::lock_guard<std::mutex> lock(mu_);
  ++generation_;
  cv_.notify_all();
}

void FakeClock::Advance(absl::Duration d) {
  SAMSA_CHECK(d >= absl::ZeroDuration()) << "a clock cannot go back: " << d;
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  mono_nanos_.fetch_add(nanos, std::memory_order_acq_rel);
  wall_nanos_.fetch_add(nanos, std::memory_order_acq_rel);
}

}  // namespace samsa
