// Eventually: the one way tests wait for something another thread or process
// does. Tests wait on conditions, not clocks: a sleep is right only where
// time itself is what is tested.
#pragma once

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace samsa::testing {

// Polls `done` every `poll` until it holds (true) or `timeout` passes
// (false, after one last look).
inline bool Eventually(const std::function<bool()>& done,
                       absl::Duration timeout = absl::Seconds(10),
                       absl::Duration poll = absl::Milliseconds(1)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() > deadline) return done();
    absl::SleepFor(poll);
  }
  return true;
}

}  // namespace samsa::testing
