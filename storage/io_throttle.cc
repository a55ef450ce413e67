#include "storage/io_throttle.h"

#include <algorithm>
#include <cmath>

#include "absl/time/clock.h"
#include "common/clock.h"

namespace samsa::storage {

IoThrottle::IoThrottle(double bytes_per_second)
    : rate_(bytes_per_second > 0 && std::isfinite(bytes_per_second) ? bytes_per_second : 0),
      window_start_(MonotonicNow()) {}

void IoThrottle::Charge(uint64_t bytes) {
  if (rate_ == 0) return;
  absl::Duration wait;
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = MonotonicNow();
    if (now - window_start_ >= absl::Seconds(1)) {
      // A new window starts with what the old one still owes: time spent
      // idle earns no burst.
      window_bytes_ =
          std::max(0.0, window_bytes_ - rate_ * absl::ToDoubleSeconds(now - window_start_));
      window_start_ = now;
    }
    window_bytes_ += static_cast<double>(bytes);
    // When the window's bytes would be on time at this rate.
    const absl::Time due = window_start_ + absl::Seconds(window_bytes_ / rate_);
    if (due <= now) return;
    wait = due - now;
    throttled_ += wait;
  }
  absl::SleepFor(wait);
}

absl::Duration IoThrottle::throttled() const {
  absl::MutexLock lock(&mu_);
  return throttled_;
}

}  // namespace samsa::storage
