// IoThrottle: caps the bytes per second a background job (the log cleaner)
// reads and writes, so it leaves the disk to producers and consumers
// (log.cleaner.io.max.bytes.per.second, shared by every cleaner thread).
//
// Callers report bytes after moving them; when the total since the window
// began runs ahead of the rate, the caller sleeps until it is back within
// it. A window restarts once a second old, carrying only what it still
// owes, so an idle spell earns no burst. Thread-safe.
#pragma once

#include <cstdint>
#include <limits>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace samsa::storage {

class IoThrottle {
 public:
  // `bytes_per_second` <= 0 or infinite: no limit.
  explicit IoThrottle(double bytes_per_second);

  // Counts `bytes` and sleeps as long as the rate requires.
  void Charge(uint64_t bytes);
  // Total time spent sleeping (a metric).
  absl::Duration throttled() const;

 private:
  const double rate_;
  mutable absl::Mutex mu_;
  absl::Time window_start_ ABSL_GUARDED_BY(mu_);
  double window_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration throttled_ ABSL_GUARDED_BY(mu_);
};

}  // namespace samsa::storage
