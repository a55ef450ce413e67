#include "broker/move_throttle.h"

#include <algorithm>

namespace samsa::broker {

MoveThrottle::MoveThrottle(int64_t bytes_per_second, const Clock* clock)
    : clock_(clock),
      rate_(static_cast<double>(bytes_per_second)),
      tokens_(std::max(0.0, rate_) * absl::ToDoubleSeconds(kBurst)),
      last_(clock->Monotonic()) {}

void MoveThrottle::SetRate(int64_t bytes_per_second) {
  absl::MutexLock lock(&mu_);
  Refill();
  // From no limit, a limit starts as a new throttle would; otherwise the
  // debt carries over, and credit stays within kBurst at the new rate.
  const bool was_unlimited = rate_ < 0;
  rate_ = static_cast<double>(bytes_per_second);
  const double capacity = std::max(0.0, rate_) * absl::ToDoubleSeconds(kBurst);
  tokens_ = was_unlimited ? capacity : std::min(tokens_, capacity);
}

void MoveThrottle::Refill() {
  const absl::Duration now = clock_->Monotonic();
  if (rate_ < 0) {
    last_ = now;
    return;
  }
  tokens_ = std::min(rate_ * absl::ToDoubleSeconds(kBurst),
                     tokens_ + rate_ * absl::ToDoubleSeconds(now - last_));
  last_ = now;
}

bool MoveThrottle::Admit() {
  absl::MutexLock lock(&mu_);
  Refill();
  return rate_ < 0 || tokens_ > 0;
}

void MoveThrottle::Charge(int64_t bytes) {
  absl::MutexLock lock(&mu_);
  if (rate_ < 0) return;
  Refill();
  tokens_ -= static_cast<double>(bytes);
}

int32_t MoveThrottle::ChunkBytes(int32_t max_bytes) {
  absl::MutexLock lock(&mu_);
  if (rate_ < 0) return max_bytes;
  const double chunk = std::clamp(rate_ / 50, static_cast<double>(kMinChunkBytes),
                                  static_cast<double>(std::max(max_bytes, kMinChunkBytes)));
  return static_cast<int32_t>(chunk);
}

absl::Duration MoveThrottle::Wait() {
  absl::MutexLock lock(&mu_);
  Refill();
  if (rate_ <= 0 || tokens_ > 0) return absl::ZeroDuration();
  return absl::Seconds((1.0 - tokens_) / rate_);
}

}  // namespace samsa::broker
