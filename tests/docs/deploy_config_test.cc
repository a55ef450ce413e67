// The example configuration in deploy/config/ loads as the processes load
// it, and the files agree with each other (one quorum, distinct ids and
// ports), so the examples cannot rot.
#include <set>
#include <string>

#include "broker/broker_config.h"
#include "controller/controller_config.h"
#include "gtest/gtest.h"
#include "storage/config_file.h"

namespace samsa {
namespace {

template <typename Settings>
absl::StatusOr<Settings> LoadFile(const ConfigDef& def, const std::string& name,
                                  absl::StatusOr<Settings> (*to_settings)(const Config&)) {
  const std::string path = std::string(SAMSA_DEPLOY_DIR) + "/config/" + name;
  const char* argv[] = {"test", "--config", path.c_str()};
  absl::StatusOr<std::optional<Config>> config =
      storage::LoadProcessConfig(def, 3, argv, storage::Env::Default());
  if (!config.ok()) return config.status();
  return to_settings(**config);
}

TEST(DeployConfigTest, ExampleClusterConfigsLoadAndAgree) {
  std::set<std::string> listeners;
  std::map<NodeId, std::string> voters;
  for (int i = 1; i <= 3; ++i) {
    absl::StatusOr<controller::ControllerSettings> c =
        LoadFile(controller::ControllerConfigDef(),
                 "controller-" + std::to_string(i) + ".properties", &controller::ToSettings);
    ASSERT_TRUE(c.ok()) << c.status();
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
        LoadFile(broker::BrokerConfigDef(), "broker-" + std::to_string(i) + ".properties",
                 &broker::ToSettings);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_EQ(NodeId(i), b->node_id);
    EXPECT_EQ(voter_addresses, std::set<std::string>(b->controllers.begin(), b->controllers.end()));
    EXPECT_TRUE(listeners.insert(b->listener).second);
    EXPECT_TRUE(listeners.insert(b->metrics_listener).second);
  }
  EXPECT_TRUE(listeners.contains("127.0.0.1:9092")) << "where the CLI looks by default";
}

}  // namespace
}  // namespace samsa
