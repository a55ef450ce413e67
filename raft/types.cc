#include "raft/types.h"

#include "common/endian.h"

namespace samsa::raft {

std::string EncodeConfChange(const ConfChange& cc) {
  std::string out(5, '\0');
  out[0] = static_cast<char>(cc.type);
  StoreBE<int32_t>(reinterpret_cast<uint8_t*>(out.data()) + 1, cc.node.value());
  return out;
}

std::optional<ConfChange> DecodeConfChange(const std::string& data) {
  if (data.size() != 5 || static_cast<uint8_t>(data[0]) > 2) return std::nullopt;
  return ConfChange{static_cast<ConfChangeType>(data[0]),
                    NodeId(LoadBE<int32_t>(reinterpret_cast<const uint8_t*>(data.data()) + 1))};
}

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kPreVote:
      return "PreVote";
    case MessageType::kPreVoteResponse:
      return "PreVoteResp";
    case MessageType::kVote:
      return "Vote";
    case MessageType::kVoteResponse:
      return "VoteResp";
    case MessageType::kAppend:
      return "App";
    case MessageType::kAppendResponse:
      return "AppResp";
    case MessageType::kSnapshot:
      return "Snap";
    case MessageType::kSnapshotResponse:
      return "SnapResp";
    case MessageType::kTimeoutNow:
      return "TimeoutNow";
  }
  return "?";
}

}  // namespace samsa::raft
