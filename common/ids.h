// The strong id and position types every module shares (style rule 11 in docs/development.md).
#pragma once

#include <cstdint>

#include "common/strong_int.h"

namespace samsa {

// Position of a record in a partition log (Kafka's 64-bit offset).
using Offset = StrongInt<struct OffsetTag, int64_t>;
// A partition's leader epoch, stamped in every RecordBatch (int32 on the wire).
using Epoch = StrongInt<struct EpochTag, int32_t>;
// A Raft term (Raft paper §5.1).
using Term = StrongInt<struct TermTag, int64_t>;
// A process in the cluster: a controller or a broker (`node.id`).
using NodeId = StrongInt<struct NodeIdTag, int32_t>;
// A partition's index within its topic.
using PartitionId = StrongInt<struct PartitionIdTag, int32_t>;

// Kafka uses -1 for "no leader" / "unknown epoch" on the wire.
inline constexpr NodeId kNoNode{-1};
inline constexpr Epoch kNoEpoch{-1};

}  // namespace samsa
