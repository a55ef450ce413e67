#include "controller/probe.h"

#include "common/metrics.h"

namespace samsa::controller {

ControllerProbe::ControllerProbe(prometheus::Registry& r)
    : active_(NewGauge(r, "samsa_controller_active", "1 on the active controller")),
      offset_(NewGauge(r, "samsa_controller_metadata_offset", "Offset of the applied image")),
      brokers_active_(
          NewGauge(r, "samsa_controller_brokers_active", "Brokers unfenced and not shutting down")),
      brokers_fenced_(NewGauge(r, "samsa_controller_brokers_fenced", "Fenced brokers")),
      brokers_shutting_down_(
          NewGauge(r, "samsa_controller_brokers_shutting_down", "Brokers in controlled shutdown")),
      topics_(NewGauge(r, "samsa_controller_topics", "Topics")),
      partitions_(NewGauge(r, "samsa_controller_partitions", "Partitions")),
      offline_(NewGauge(r, "samsa_controller_offline_partitions", "Partitions without a leader")),
      leader_changes_(NewCounter(r, "samsa_controller_leader_changes_total",
                                 "Committed partition leader changes")),
      session_expiries_(NewCounter(r, "samsa_controller_session_expiries_total",
                                   "Brokers fenced for missing their session")),
      preferred_elections_(NewCounter(r, "samsa_controller_preferred_leader_elections_total",
                                      "Partitions moved back to their preferred leader")),
      moving_(NewGauge(r, "samsa_controller_partitions_moving", "Partitions being reassigned")),
      decommissioning_(
          NewGauge(r, "samsa_controller_brokers_decommissioning", "Brokers being decommissioned")),
      moves_started_(NewCounter(r, "samsa_controller_reassignments_started_total",
                                "Partition reassignments started (or retargeted)")),
      moves_completed_(NewCounter(r, "samsa_controller_reassignments_completed_total",
                                  "Partition reassignments that reached their target")),
      moves_cancelled_(NewCounter(r, "samsa_controller_reassignments_cancelled_total",
                                  "Partition reassignments rolled back")),
      bytes_left_(NewGauge(r, "samsa_controller_reassignment_bytes_left",
                           "Bytes the replicas being added still have to copy, as brokers "
                           "last reported (active controller)")) {}

void ControllerProbe::OnImage(const MetadataImage& image, int64_t leader_changes,
                              const MoveCounts& moves) {
  offset_.Set(static_cast<double>(image.offset()));
  int64_t active = 0, fenced = 0, shutting_down = 0, partitions = 0, offline = 0, moving = 0,
          decommissioning = 0;
  for (const auto& [id, b] : image.brokers()) {
    decommissioning += b.decommissioning ? 1 : 0;
    if (b.fenced) {
      ++fenced;
    } else if (b.shutting_down) {
      ++shutting_down;
    } else {
      ++active;
    }
  }
  for (const auto& [name, topic] : image.topics()) {
    partitions += static_cast<int64_t>(topic->partitions.size());
    for (const PartitionImage& p : topic->partitions) {
      offline += p.leader == kNoNode ? 1 : 0;
      moving += p.moving() ? 1 : 0;
    }
  }
  moving_.Set(static_cast<double>(moving));
  decommissioning_.Set(static_cast<double>(decommissioning));
  moves_started_.Increment(static_cast<double>(moves.started));
  moves_completed_.Increment(static_cast<double>(moves.completed));
  moves_cancelled_.Increment(static_cast<double>(moves.cancelled));
  brokers_active_.Set(static_cast<double>(active));
  brokers_fenced_.Set(static_cast<double>(fenced));
  brokers_shutting_down_.Set(static_cast<double>(shutting_down));
  topics_.Set(static_cast<double>(image.topics().size()));
  partitions_.Set(static_cast<double>(partitions));
  offline_.Set(static_cast<double>(offline));
  leader_changes_.Increment(static_cast<double>(leader_changes));
}

}  // namespace samsa::controller
