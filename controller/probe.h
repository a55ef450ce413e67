// ControllerProbe: the controller's Prometheus metrics (style rule 12 in docs/development.md). The
// Raft ones (term, commit and applied index, elections) come from
// raft::RaftProbe in the same registry.
//
//   samsa_controller_active                   1 on the active controller
//   samsa_controller_metadata_offset          offset of the applied image
//   samsa_controller_brokers_active           unfenced, not shutting down
//   samsa_controller_brokers_fenced           fenced
//   samsa_controller_brokers_shutting_down    in controlled shutdown
//   samsa_controller_topics                   topics
//   samsa_controller_partitions               partitions
//   samsa_controller_offline_partitions       partitions without a leader
//   samsa_controller_leader_changes_total     committed partition leader changes
//   samsa_controller_session_expiries_total   brokers fenced for a missed session
//   samsa_controller_preferred_leader_elections_total  partitions moved back
//                                             to their preferred leader
//   samsa_controller_partitions_moving        partitions being reassigned
//   samsa_controller_brokers_decommissioning  brokers being drained
//   samsa_controller_reassignments_started_total, _completed_total,
//   _cancelled_total                          committed reassignment steps
//   samsa_controller_reassignment_bytes_left  bytes the moving replicas still
//                                             have to copy (active controller,
//                                             from heartbeats)
#pragma once

#include "common/metadata_image.h"
#include "controller/reassignment.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace samsa::controller {

class ControllerProbe {
 public:
  explicit ControllerProbe(prometheus::Registry& registry);

  void OnActive(bool active) { active_.Set(active ? 1 : 0); }
  // After each applied batch, with the new image and the leader changes
  // and reassignment steps in it.
  void OnImage(const MetadataImage& image, int64_t leader_changes, const MoveCounts& moves = {});
  void OnBytesLeftToMove(int64_t bytes) { bytes_left_.Set(static_cast<double>(bytes)); }
  void OnSessionExpired() { session_expiries_.Increment(); }
  void OnPreferredLeaders(int64_t moved) {
    preferred_elections_.Increment(static_cast<double>(moved));
  }

 private:
  prometheus::Gauge& active_;
  prometheus::Gauge& offset_;
  prometheus::Gauge& brokers_active_;
  prometheus::Gauge& brokers_fenced_;
  prometheus::Gauge& brokers_shutting_down_;
  prometheus::Gauge& topics_;
  prometheus::Gauge& partitions_;
  prometheus::Gauge& offline_;
  prometheus::Counter& leader_changes_;
  prometheus::Counter& session_expiries_;
  prometheus::Counter& preferred_elections_;
  prometheus::Gauge& moving_;
  prometheus::Gauge& decommissioning_;
  prometheus::Counter& moves_started_;
  prometheus::Counter& moves_completed_;
  prometheus::Counter& moves_cancelled_;
  prometheus::Gauge& bytes_left_;
};

}  // namespace samsa::controller
