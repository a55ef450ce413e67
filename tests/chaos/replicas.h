// Replica comparison after quiescence: every replica of a partition must
// hold the same batches (base offset, last offset, CRC) below the high
// watermark. Reads the stopped brokers' segment files directly.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace samsa::chaos {

struct BatchId {
  int64_t base_offset = 0;
  int64_t last_offset = 0;
  uint32_t crc = 0;
  friend bool operator==(const BatchId&, const BatchId&) = default;
};

// The batches of the partition log in `dir` (its *.log segments in order)
// that start below `high_watermark`; a torn or corrupt tail ends the list.
absl::StatusOr<std::vector<BatchId>> BatchesBelow(const std::string& dir, int64_t high_watermark);

// "" when every directory in `replica_dirs` holds the same batches below
// `high_watermark`, else what differs.
std::string CompareReplicas(const std::vector<std::string>& replica_dirs, int64_t high_watermark);

}  // namespace samsa::chaos
