#include "broker/probe.h"

#include "common/metrics.h"

namespace samsa::broker {

BrokerProbe::BrokerProbe(prometheus::Registry& r, NodeId self)
    : self_(self),
      fenced_(NewGauge(r, "samsa_broker_fenced", "1 while the controller has this broker fenced")),
      epoch_(NewGauge(r, "samsa_broker_epoch", "Broker epoch of this registration")),
      offset_(NewGauge(r, "samsa_broker_metadata_offset", "Offset of the applied metadata image")),
      leaderships_(NewGauge(r, "samsa_broker_leaderships", "Partitions this broker leads")) {
  fenced_.Set(1);
}

void BrokerProbe::OnImage(const MetadataImage& image) {
  offset_.Set(static_cast<double>(image.offset()));
  int64_t leads = 0;
  for (const auto& [name, topic] : image.topics()) {
    for (const PartitionImage& p : topic->partitions) leads += p.leader == self_ ? 1 : 0;
  }
  leaderships_.Set(static_cast<double>(leads));
}

}  // namespace samsa::broker
