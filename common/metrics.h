// Helpers for the modules' Prometheus probes (style rule 12 in docs/development.md): a new family
// (or its one unlabelled metric), registered in the probe's registry.
#pragma once

#include <string>

#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace samsa {

inline prometheus::Gauge& NewGauge(prometheus::Registry& r, const std::string& name,
                                   const std::string& help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

inline prometheus::Family<prometheus::Counter>& NewCounterFamily(prometheus::Registry& r,
                                                                 const std::string& name,
                                                                 const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}

inline prometheus::Counter& NewCounter(prometheus::Registry& r, const std::string& name,
                                       const std::string& help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}

}  // namespace samsa
