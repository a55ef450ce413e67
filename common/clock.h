// Clock: the only source of time for Samsa code, so tests can control it.
//
// Monotonic time drives timeouts, sessions and intervals; it never goes back.
// Wall time is for record timestamps and human output only: it may jump.
#pragma once

#include <atomic>
#include <cstdint>

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

}  // namespace samsa
