#include "common/cluster_config.h"

#include "absl/strings/numbers.h"

namespace samsa {

const ConfigDef& ClusterConfigDef() {
  static const ConfigDef* def = [] {
    auto* d = new ConfigDef();
    d->Define({.name = kReplicaMoveMaxBytesPerSecond,
               .type = ConfigType::kInt,
               .default_value = "104857600",
               .doc = "How fast a broker copies data into replicas a reassignment gives it (the "
                      "balancer's moves, decommissions, samsa topic reassign); its other "
                      "replication is never slowed. -1: no limit. Dynamic: samsa cluster "
                      "alter-config sets it for every broker at once.",
               .min = -1,
               .validator = [](std::string_view v) {
                 return v == "0" ? absl::InvalidArgumentError(
                                       "0 would stop every move; -1 means no limit")
                                 : absl::OkStatus();
               }});
    return d;
  }();
  return *def;
}

int64_t ClusterInt(const absl::btree_map<std::string, std::string>& cluster, const std::string& key,
                   int64_t fallback) {
  auto it = cluster.find(key);
  int64_t value = 0;
  return it != cluster.end() && absl::SimpleAtoi(it->second, &value) ? value : fallback;
}

}  // namespace samsa
