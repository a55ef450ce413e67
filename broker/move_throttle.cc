#include "broker/move_throttle.h"

#include <algorithm>

namespace samsa::broker {

MoveThrottle::MoveThrottle(int64_t bytes_per_second, const Clock* clock)
    : rate_(static_cast<double>(bytes_per_second)),
      clock_(clock),
      tokens_(std::max(0.0, rate_)),
      last_(clock->Monotonic()) {}

void MoveThrottle::Refill() {
  const absl::Duration now = clock_->Monotonic();
  tokens_ = std::min(rate_, tokens_ + rate_ * absl::ToDoubleSeconds(now - last_));
  last_ = now;
}

bool MoveThrottle::Admit() {
  if (rate_ < 0) return true;
  absl::MutexLock lock(&mu_);
  Refill();
  return tokens_ > 0;
}

void MoveThrottle::Charge(int64_t bytes) {
  if (rate_ < 0) return;
  absl::MutexLock lock(&mu_);
  Refill();
  tokens_ -= static_cast<double>(bytes);
}

absl::Duration MoveThrottle::Wait() {
  if (rate_ <= 0) return absl::ZeroDuration();
  absl::MutexLock lock(&mu_);
  Refill();
  return tokens_ > 0 ? absl::ZeroDuration() : absl::Seconds((1.0 - tokens_) / rate_);
}

}  // namespace samsa::broker
