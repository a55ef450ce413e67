#include "controller/controller_config.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace samsa::controller {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<ControllerSettings> Load(std::string_view text,
                                        std::vector<std::string> overrides = {}) {
  absl::StatusOr<Config> config =
      Config::Load(ControllerConfigDef(), "controller.properties", text, overrides);
  if (!config.ok()) return config.status();
  return ToSettings(*config);
}

constexpr char kGood[] = R"(
node.id=2
listener=127.0.0.1:9094
controller.quorum.voters=1@127.0.0.1:9093,2@127.0.0.1:9094,3@127.0.0.1:9095
data.dir=/var/lib/samsa/controller
)";

TEST(ControllerConfigTest, LoadsKeysAndDefaults) {
  absl::StatusOr<ControllerSettings> s = Load(kGood, {"num.partitions=6"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(NodeId(2), s->node_id);
  EXPECT_EQ(3u, s->voters.size());
  EXPECT_EQ("127.0.0.1:9095", s->voters.at(NodeId(3)));
  EXPECT_EQ(6, s->topic_defaults.partitions);
  EXPECT_EQ(1, s->topic_defaults.replication_factor);
  EXPECT_EQ(absl::Seconds(9), s->session_timeout);
  EXPECT_EQ(absl::Seconds(1), s->election_timeout);
  EXPECT_FALSE(s->topic_defaults.auto_create);
}

TEST(ControllerConfigTest, BadInputNamesTheKey) {
  struct Case {
    std::vector<std::string> overrides;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"node.id=4"}, "node.id 4 is not among controller.quorum.voters (1, 2, 3)"},
      {{"controller.quorum.voters=1@h:1,2@h:2,2@h:3"}, "node id 2 is listed twice"},
      {{"controller.quorum.voters=1@h:1,2@h:2"}, "a quorum has 1, 3 or 5"},
      {{"controller.quorum.voters=one@h:1"}, "is not id@host:port"},
      {{"controller.quorum.voters=1@nohost"}, "is not host:port"},
      {{"broker.heartbeat.interval.ms=9000"}, "must be below broker.session.timeout.ms"},
      {{"listener=127.0.0.1:0"}, "port 0 works only for a single-voter quorum"},
      {{"num.partitions=0"}, "num.partitions"},
      {{"colour=blue"}, "unknown config key 'colour'"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<ControllerSettings> s = Load(kGood, c.overrides);
    ASSERT_FALSE(s.ok()) << c.overrides[0];
    EXPECT_THAT(std::string(s.status().message()), HasSubstr(c.message)) << c.overrides[0];
  }
  absl::StatusOr<ControllerSettings> missing = Load("node.id=1\n");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("missing required config key"));
}

TEST(ControllerConfigTest, SingleVoterMayListenOnPortZero) {
  absl::StatusOr<ControllerSettings> s =
      Load("", {"node.id=1", "listener=127.0.0.1:0", "controller.quorum.voters=1@127.0.0.1:0",
                "data.dir=/tmp/x"});
  EXPECT_TRUE(s.ok()) << s.status();
}

}  // namespace
}  // namespace samsa::controller
