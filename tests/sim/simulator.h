// A deterministic simulator for the Raft core (style rule 3 in docs/development.md, after Kafka's
// RaftEventSimulationTest and TigerBeetle's VOPR).
//
// One thread, one seeded scheduler, virtual time. Each node is a raft::Raft
// with a simulated disk and a state machine (the list of applied entries).
// The network delays, drops, duplicates and reorders messages and can be
// partitioned, symmetrically or one way. Nodes tick at different rates
// (clock skew), crash, possibly in the middle of persisting a Ready (losing
// every write not yet synced and every message not yet sent), and restart
// from their disk. Leaders propose entries, snapshot, change membership and
// transfer leadership while all this goes on, and mostly sync their own log
// in the background while they go on replicating (raft::Ready::
// may_sync_later): a crash keeps only a prefix of what they wrote since
// their last sync.
//
// After every event the invariants are checked:
//   * election safety: at most one leader per term (paper §5.2);
//   * log matching: two logs with an entry of the same index and term agree
//     on everything before it (§5.3);
//   * leader completeness: a new leader holds every committed entry (§5.4);
//   * state machine safety: every node applies the same entry at an index;
//   * a node's durable commit index never decreases;
//   * a node never durably votes for two candidates in one term;
//   * ReadIndex is linearizable: a read is answered at an index no lower
//     than any commit that happened before it was asked (reads go to stale
//     leaders too).
// Then faults stop, and within a bounded time a leader must be elected and a
// new proposal applied by a majority (liveness).
//
// A run is a pure function of its seed: the seed replays it exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace samsa::raft::sim {

struct SimOptions {
  uint64_t seed = 1;
  int nodes = 3;
  int64_t fault_time = 20000;     // virtual time units with faults on
  int64_t liveness_time = 20000;  // after faults stop: bound for recovery
  bool membership = true;         // membership changes (needs nodes >= 3)
  bool verbose = false;           // print the trace as it happens
};

struct SimResult {
  std::vector<std::string> violations;
  bool liveness_failure = false;
  std::string liveness_detail;
  std::vector<std::string> trace;  // the last events, for a failure report
  int64_t committed = 0;           // entries committed cluster-wide
  int64_t elections = 0;           // distinct leader terms seen
  int64_t reads = 0;               // ReadIndex requests answered
};

SimResult RunSimulation(const SimOptions& options);

}  // namespace samsa::raft::sim
