#include "broker/broker_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace samsa::broker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

absl::StatusOr<BrokerSettings> Load(std::vector<std::string> overrides) {
  std::vector<std::string> all = {"node.id=101", "listener=0.0.0.0:9092",
                                  "controller.quorum.bootstrap=10.0.0.1:9093, 10.0.0.2:9093",
                                  "data.dir=/var/lib/samsa/broker"};
  all.insert(all.end(), overrides.begin(), overrides.end());
  absl::StatusOr<Config> config = Config::Load(BrokerConfigDef(), "", "", all);
  if (!config.ok()) return config.status();
  return ToSettings(*config);
}

TEST(BrokerConfigTest, LoadsKeysAndDefaults) {
  absl::StatusOr<BrokerSettings> s = Load({"broker.rack=r1"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(NodeId(101), s->node_id);
  EXPECT_THAT(s->controllers, ElementsAre("10.0.0.1:9093", "10.0.0.2:9093"));
  EXPECT_EQ("r1", s->rack);
  EXPECT_EQ("", s->advertised_listener);
  EXPECT_EQ(absl::Seconds(2), s->heartbeat_interval);
  EXPECT_EQ(absl::Seconds(9), s->session_timeout);
  EXPECT_EQ(1000u, s->fetch_session_slots);
  s = Load({"max.incremental.fetch.session.cache.slots=0"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(0u, s->fetch_session_slots) << "no fetch sessions";
}

TEST(BrokerConfigTest, BadInputNamesTheKey) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"controller.quorum.bootstrap=", "controller.quorum.bootstrap"},
      {"controller.quorum.bootstrap=a:1,b", "'b' is not host:port"},
      {"broker.heartbeat.interval.ms=9000", "must be below broker.session.timeout.ms"},
      {"advertised.listener=host", "advertised.listener"},
      {"node.id=-1", "node.id"},
      {"log.dir=/x", "unknown config key 'log.dir'"},
      {"max.incremental.fetch.session.cache.slots=-1", "max.incremental.fetch.session.cache.slots"},
  };
  for (const auto& [override_arg, message] : cases) {
    absl::StatusOr<BrokerSettings> s = Load({override_arg});
    ASSERT_FALSE(s.ok()) << override_arg;
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(message)) << override_arg;
  }
}

}  // namespace
}  // namespace samsa::broker
