// BrokerProbe: the broker's Prometheus metrics (STYLE.md #12).
//
//   samsa_broker_fenced            1 while the controller has this broker fenced
//   samsa_broker_epoch             the broker epoch of this registration
//   samsa_broker_metadata_offset   offset of the applied metadata image
//   samsa_broker_leaderships       partitions this broker leads
#pragma once

#include "common/metadata_image.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace samsa::broker {

class BrokerProbe {
 public:
  BrokerProbe(prometheus::Registry& registry, NodeId self);

  void OnRegistered(int64_t epoch) { epoch_.Set(static_cast<double>(epoch)); }
  void OnFenced(bool fenced) { fenced_.Set(fenced ? 1 : 0); }
  void OnImage(const MetadataImage& image);

 private:
  const NodeId self_;
  prometheus::Gauge& fenced_;
  prometheus::Gauge& epoch_;
  prometheus::Gauge& offset_;
  prometheus::Gauge& leaderships_;
};

}  // namespace samsa::broker
