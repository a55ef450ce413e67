// MoveThrottle: the rate at which this broker copies data into replicas it
// is being given by a reassignment (replica.move.max.bytes.per.second), so a
// move does not starve producers and consumers of disk and network.
//
// A token bucket shared by every replica fetcher: bytes fetched for a
// moving-in replica are charged after they arrive, and while the bucket is
// in debt the fetchers leave those replicas out of their requests (the
// other partitions, ISR members among them, fetch as usual: the throttle
// never slows ordinary replication). The bucket holds at most a tenth of a
// second of credit (kBurst), so an idle period, or the start of a move,
// earns no burst beyond that; and a moving-in replica fetches at most a
// fiftieth of a second of the rate per round (ChunkBytes). Both keep its
// writes and fsyncs in small steps between those of the producers sharing
// its disk rather than in bursts they queue behind.
#pragma once

#include <cstdint>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace samsa::broker {

class MoveThrottle {
 public:
  // `bytes_per_second` < 0: no limit.
  MoveThrottle(int64_t bytes_per_second, const Clock* clock);

  // A new rate (the cluster's dynamic config changed), from now on.
  void SetRate(int64_t bytes_per_second);

  // Whether moving-in replicas may fetch now.
  bool Admit();
  // Counts `bytes` fetched for moving-in replicas.
  void Charge(int64_t bytes);
  // How long until Admit() holds again (zero when it does).
  absl::Duration Wait();
  // The most a moving-in replica fetches in one round: rate / 50, within
  // [kMinChunkBytes, max_bytes]; max_bytes without a limit.
  int32_t ChunkBytes(int32_t max_bytes);

  static constexpr absl::Duration kBurst = absl::Milliseconds(100);
  static constexpr int32_t kMinChunkBytes = 256 << 10;

 private:
  void Refill() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const Clock* const clock_;
  absl::Mutex mu_;
  double rate_ ABSL_GUARDED_BY(mu_);  // bytes per second; < 0: no limit
  double tokens_ ABSL_GUARDED_BY(mu_);
  absl::Duration last_ ABSL_GUARDED_BY(mu_);
};

}  // namespace samsa::broker
