// RaftProbe: the Raft node's Prometheus metrics (style rule 12 in docs/development.md). The Node
// reports events; the probe owns the metric families in the registry it is
// given (which must outlive it).
//
//   samsa_raft_term                    current term
//   samsa_raft_commit_index            highest index known committed
//   samsa_raft_applied_index           highest index applied to the state machine
//   samsa_raft_leader                  1 while this node leads, else 0
//   samsa_raft_leader_id               the node id of the known leader (-1: none)
//   samsa_raft_elections_started_total campaigns this node started
//   samsa_raft_elections_won_total     campaigns it won
//   samsa_raft_persist_seconds         time to persist one Ready (fsync included), or
//                                      one background sync of a leader's log
#pragma once

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"
#include "raft/raft.h"

namespace samsa::raft {

class RaftProbe {
 public:
  explicit RaftProbe(prometheus::Registry& registry);

  // After every loop iteration, with the node's status.
  void OnStatus(const Status& s);
  void OnPersist(double seconds) { persist_.Observe(seconds); }

 private:
  prometheus::Gauge& term_;
  prometheus::Gauge& commit_;
  prometheus::Gauge& applied_;
  prometheus::Gauge& leader_;
  prometheus::Gauge& leader_id_;
  prometheus::Counter& elections_started_;
  prometheus::Counter& elections_won_;
  prometheus::Histogram& persist_;
  Role last_role_ = Role::kFollower;
  Term last_term_;
};

}  // namespace samsa::raft
