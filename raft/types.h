// The vocabulary of the Raft core: log entries, persistent state, messages
// and the Ready batch (raft.h). Plain values, no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/ids.h"
#include "common/strong_int.h"

namespace samsa::raft {

using samsa::NodeId;
using samsa::Term;
// Position in the Raft log; the first entry is 1, 0 means "none".
using Index = StrongInt<struct RaftIndexTag, int64_t>;

enum class EntryType : uint8_t {
  kNormal = 0,      // state machine data (may be empty: a leader's no-op)
  kConfChange = 1,  // membership change, data = EncodeConfChange()
};

struct Entry {
  Term term;
  Index index;
  EntryType type = EntryType::kNormal;
  std::string data;
  bool operator==(const Entry&) const = default;
};

// What must be on disk before any message that depends on it is sent
// (Raft paper §5.1, Figure 2 "persistent state").
struct HardState {
  Term term;
  NodeId vote = kNoNode;
  Index commit;
  bool operator==(const HardState&) const = default;
};

// The membership: voters count toward quorums; learners only replicate.
struct ConfState {
  std::vector<NodeId> voters;
  std::vector<NodeId> learners;
  bool operator==(const ConfState&) const = default;
};

enum class ConfChangeType : uint8_t { kAddVoter = 0, kRemoveVoter = 1, kAddLearner = 2 };

struct ConfChange {
  ConfChangeType type;
  NodeId node;
};
std::string EncodeConfChange(const ConfChange& cc);
std::optional<ConfChange> DecodeConfChange(const std::string& data);

struct SnapshotMeta {
  Index index;
  Term term;
  ConfState conf;
  bool operator==(const SnapshotMeta&) const = default;
};

struct Snapshot {
  SnapshotMeta meta;
  std::string data;  // the state machine's bytes
};

enum class MessageType : uint8_t {
  kPreVote,  // Ongaro thesis §9.6: would you vote for me at `term`?
  kPreVoteResponse,
  kVote,  // RequestVote (§5.2)
  kVoteResponse,
  kAppend,  // AppendEntries (§5.3); heartbeats carry no entries
  kAppendResponse,
  kSnapshot,  // InstallSnapshot (§7), one chunk
  kSnapshotResponse,
  kTimeoutNow,  // leadership transfer (thesis §3.10)
};

const char* MessageTypeName(MessageType type);

struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term;
  // Vote: candidate's last log index/term. Append: index/term of the entry
  // preceding `entries`. AppendResponse: the follower's match (success) or
  // the index it rejected.
  Index log_index;
  Term log_term;
  std::vector<Entry> entries;
  Index commit;  // leader's commit index (Append)
  bool reject = false;
  // AppendResponse rejection hint (thesis §5.3 fast backup): the term of the
  // follower's entry at log_index (0: it has none) and the first index it
  // holds with that term (or its last index + 1).
  Term hint_term;
  Index hint_index;
  // Vote: a leadership transfer, which may interrupt a live leader.
  bool transfer = false;
  // Heartbeats and their responses: an empty Append that only asserts
  // leadership (and carries the ReadIndex round being confirmed).
  bool heartbeat = false;
  uint64_t read_context = 0;
  // Snapshot chunk: the snapshot's meta, this chunk's position and bytes.
  // SnapshotResponse: the bytes the follower holds (chunk_offset) of which
  // snapshot, or, with last_chunk, that it is done at log_index.
  SnapshotMeta snapshot;
  uint64_t chunk_offset = 0;
  std::string chunk;
  bool last_chunk = false;
};

// A linearizable read is safe once the state machine applied `index`
// (thesis §6.4, ReadIndex).
struct ReadState {
  uint64_t context = 0;
  Index index;
};

}  // namespace samsa::raft
