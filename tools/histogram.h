// LatencyHistogram: a log-linear histogram of durations in microseconds
// (HdrHistogram's layout): exact below 256 us, then 128 buckets per power of
// two, so any value is reported within 1/128 (0.8%) of itself, in constant
// memory, for values up to about 2^40 us (12 days). Not thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace samsa::tools {

class LatencyHistogram {
 public:
  LatencyHistogram();

  void Record(int64_t micros);
  // The smallest recorded value v such that a fraction `q` (0..1] of the
  // values are <= v, as the upper edge of its bucket; 0 when empty.
  int64_t Quantile(double q) const;
  int64_t max() const { return max_; }
  int64_t count() const { return count_; }

  // The bucket of `micros` and the largest value in a bucket (exposed for
  // tests).
  static int Index(int64_t micros);
  static int64_t UpperEdge(int index);

 private:
  std::vector<int64_t> counts_;
  int64_t count_ = 0;
  int64_t max_ = 0;
};

}  // namespace samsa::tools
