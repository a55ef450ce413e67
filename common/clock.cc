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

void FakeClock::Advance(absl::Duration d) {
  SAMSA_CHECK(d >= absl::ZeroDuration()) << "a clock cannot go back: " << d;
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  mono_nanos_.fetch_add(nanos, std::memory_order_acq_rel);
  wall_nanos_.fetch_add(nanos, std::memory_order_acq_rel);
}

}  // namespace samsa
