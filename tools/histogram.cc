#include "tools/histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace samsa::tools {
namespace {
constexpr int kSubBits = 8;
constexpr int64_t kExact = int64_t{1} << kSubBits;  // 256 exact buckets
constexpr int64_t kHalf = kExact / 2;               // 128 buckets per power of two
constexpr int kMaxShift = 32;
constexpr int kBuckets = static_cast<int>(kExact + kMaxShift * kHalf);
}  // namespace

LatencyHistogram::LatencyHistogram() : counts_(kBuckets, 0) {}

int LatencyHistogram::Index(int64_t micros) {
  const auto v = static_cast<uint64_t>(std::max<int64_t>(micros, 0));
  if (v < static_cast<uint64_t>(kExact)) return static_cast<int>(v);
  const int shift = std::min(static_cast<int>(std::bit_width(v)) - kSubBits, kMaxShift);
  const int64_t top = std::min<int64_t>(static_cast<int64_t>(v >> shift), kExact - 1);
  return static_cast<int>(kExact + (shift - 1) * kHalf + (top - kHalf));
}

int64_t LatencyHistogram::UpperEdge(int index) {
  if (index < kExact) return index;
  const int shift = static_cast<int>((index - kExact) / kHalf) + 1;
  const int64_t top = (index - kExact) % kHalf + kHalf;
  return ((top + 1) << shift) - 1;
}

void LatencyHistogram::Record(int64_t micros) {
  ++counts_[static_cast<size_t>(Index(micros))];
  ++count_;
  max_ = std::max(max_, micros);
}

int64_t LatencyHistogram::Quantile(double q) const {
  if (count_ == 0) return 0;
  const auto rank =
      static_cast<int64_t>(std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_)));
  int64_t seen = 0;
  for (int i = 0; i < kBuckets; ++i) {
    seen += counts_[static_cast<size_t>(i)];
    if (seen >= std::max<int64_t>(rank, 1)) return std::min(UpperEdge(i), max_);
  }
  return max_;
}

}  // namespace samsa::tools
