// The example configurations in deploy/config/ (one host) and
// deploy/three-hosts/ load as the processes load them, and each set agrees
// with itself (one quorum, distinct ids and addresses), so the examples
// cannot rot.
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "broker/broker_config.h"
#include "controller/controller_config.h"
#include "gtest/gtest.h"
#include "storage/config_file.h"

namespace samsa {
namespace {

template <typename Settings>
absl::StatusOr<Settings> LoadFile(const ConfigDef& def, const std::string& dir,
                                  const std::string& name,
                                  absl::StatusOr<Settings> (*to_settings)(const Config&)) {
  const std::string path = std::string(SAMSA_DEPLOY_DIR) + "/" + dir + "/" + name;
  const char* argv[] = {"test", "--config", path.c_str()};
  absl::StatusOr<std::optional<Config>> config =
      storage::LoadProcessConfig(def, 3, argv, storage::Env::Default());
  if (!config.ok()) return config.status();
  return to_settings(**config);
}

// Loads the 3 controllers and 3 brokers of deploy/`dir`; their listeners.
std::set<std::string> CheckCluster(const std::string& dir) {
  std::set<std::string> listeners;
  std::map<NodeId, std::string> voters;
  for (int i = 1; i <= 3; ++i) {
    absl::StatusOr<controller::ControllerSettings> c =
        LoadFile(controller::ControllerConfigDef(), dir,
                 "controller-" + std::to_string(i) + ".properties", &controller::ToSettings);
    EXPECT_TRUE(c.ok()) << dir << ": " << c.status();
    if (!c.ok()) return listeners;
    EXPECT_EQ(NodeId(i), c->node_id);
    EXPECT_EQ(c->voters.at(c->node_id), c->listener) << "its own voter address is where it listens";
    if (i == 1) voters = c->voters;
    EXPECT_EQ(voters, c->voters) << "one quorum";
    EXPECT_TRUE(listeners.insert(c->listener).second);
    EXPECT_TRUE(listeners.insert(c->metrics_listener).second);
  }
  std::set<std::string> voter_addresses;
  for (const auto& [id, address] : voters) voter_addresses.insert(address);
  for (int i = 101; i <= 103; ++i) {
    absl::StatusOr<broker::BrokerSettings> b =
        LoadFile(broker::BrokerConfigDef(), dir, "broker-" + std::to_string(i) + ".properties",
                 &broker::ToSettings);
    EXPECT_TRUE(b.ok()) << dir << ": " << b.status();
    if (!b.ok()) return listeners;
    EXPECT_EQ(NodeId(i), b->node_id);
    EXPECT_EQ(voter_addresses, std::set<std::string>(b->controllers.begin(), b->controllers.end()));
    EXPECT_TRUE(listeners.insert(b->listener).second);
    EXPECT_TRUE(listeners.insert(b->metrics_listener).second);
  }
  return listeners;
}

TEST(DeployConfigTest, OneHostClusterConfigsLoadAndAgree) {
  EXPECT_TRUE(CheckCluster("config").contains("127.0.0.1:9092"))
      << "where the CLI looks by default";
}

TEST(DeployConfigTest, ThreeHostClusterConfigsLoadAndAgree) {
  const std::set<std::string> listeners = CheckCluster("three-hosts");
  // Host samsa-N runs controller N and broker 10N, on the same ports as the
  // others (what deploy/prometheus/prometheus.yml scrapes).
  for (int i = 1; i <= 3; ++i) {
    for (const char* port : {":9092", ":9093", ":9192", ":9193"}) {
      EXPECT_TRUE(listeners.contains(absl::StrCat("samsa-", i, port))) << i << port;
    }
  }
}

}  // namespace
}  // namespace samsa
