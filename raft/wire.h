// Conversion between the Raft core's messages and their protobuf form
// (proto/samsa/v1/raft.proto).
#pragma once

#include "absl/status/statusor.h"
#include "raft/types.h"
#include "samsa/v1/raft.pb.h"

namespace samsa::raft {

void ToProto(const Message& m, samsa::v1::RaftMessage* out);
// INVALID_ARGUMENT for values the core could never have sent (an unknown
// type, negative indexes, an entry type out of range).
absl::StatusOr<Message> FromProto(const samsa::v1::RaftMessage& p);

}  // namespace samsa::raft
