#include "common/config.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace samsa {
namespace {

using ::testing::HasSubstr;

ConfigDef TestDef() {
  ConfigDef def;
  def.Define({.name = "node.id", .type = ConfigType::kInt, .doc = "unique id", .min = 0});
  def.Define({.name = "listener",
              .type = ConfigType::kString,
              .default_value = "127.0.0.1:9092",
              .doc = "gRPC address",
              .validator = ValidateHostPort});
  def.Define({.name = "num.partitions",
              .type = ConfigType::kInt,
              .default_value = "1",
              .doc = "default partition count",
              .min = 1,
              .max = 10000});
  def.Define({.name = "auto.create.topics.enable",
              .type = ConfigType::kBool,
              .default_value = "false",
              .doc = "create topics on first use"});
  def.Define({.name = "log.level",
              .type = ConfigType::kEnum,
              .default_value = "info",
              .doc = "log level",
              .choices = {"debug", "info", "warning", "error"}});
  def.Define({.name = "controller.quorum.bootstrap",
              .type = ConfigType::kList,
              .default_value = "",
              .doc = "controllers"});
  return def;
}

absl::StatusOr<Config> Load(std::string_view text, std::vector<std::string> overrides = {}) {
  static const ConfigDef* def = new ConfigDef(TestDef());
  return Config::Load(*def, "test.properties", text, overrides);
}

TEST(ConfigTest, DefaultsApplyWhenNotSet) {
  auto c = Load("node.id=3\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(3, c->GetInt("node.id"));
  EXPECT_TRUE(c->IsExplicit("node.id"));
  EXPECT_EQ("127.0.0.1:9092", c->GetString("listener"));
  EXPECT_FALSE(c->IsExplicit("listener"));
  EXPECT_EQ(1, c->GetInt("num.partitions"));
  EXPECT_FALSE(c->GetBool("auto.create.topics.enable"));
  EXPECT_EQ("info", c->GetString("log.level"));
  EXPECT_TRUE(c->GetList("controller.quorum.bootstrap").empty());
}

TEST(ConfigTest, FileSyntax) {
  auto c = Load(
      "# a comment\n"
      "! another comment\n"
      "\n"
      "  node.id = 7  \n"
      "listener: 0.0.0.0:1234\n"
      "controller.quorum.bootstrap=a:1,\\\n"
      "    b:2 , c:3\n"
      "auto.create.topics.enable=true");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(7, c->GetInt("node.id"));
  EXPECT_EQ("0.0.0.0:1234", c->GetString("listener"));
  EXPECT_THAT(c->GetList("controller.quorum.bootstrap"),
              ::testing::ElementsAre("a:1", "b:2", "c:3"));
  EXPECT_TRUE(c->GetBool("auto.create.topics.enable"));
}

TEST(ConfigTest, OverrideBeatsFileAndLastOverrideWins) {
  auto c =
      Load("node.id=1\nnum.partitions=4\n", {"num.partitions=8", "node.id=2", "num.partitions=12"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(2, c->GetInt("node.id"));
  EXPECT_EQ(12, c->GetInt("num.partitions"));
}

TEST(ConfigTest, OverridesAloneSufficeWithoutAFile) {
  const ConfigDef def = TestDef();
  std::vector<std::string> overrides = {"node.id=5"};
  auto c = Config::Load(def, "", "", overrides);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(5, c->GetInt("node.id"));
}

TEST(ConfigTest, UnknownKeyInFileNamesKeyAndLine) {
  auto c = Load("node.id=1\nlisener=1.2.3.4:5\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(absl::StatusCode::kInvalidArgument, c.status().code());
  EXPECT_EQ("test.properties:2: unknown config key 'lisener'", c.status().message());
}

TEST(ConfigTest, UnknownKeyInOverride) {
  auto c = Load("node.id=1", {"bogus=1"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ("--override bogus=1: unknown config key 'bogus'", c.status().message());
}

TEST(ConfigTest, MissingRequiredKey) {
  auto c = Load("listener=127.0.0.1:1\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("missing required config key 'node.id'"));
}

TEST(ConfigTest, NotAnInteger) {
  auto c = Load("node.id=abc\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ("test.properties:1: config key 'node.id': 'abc' is not an integer",
            c.status().message());
}

TEST(ConfigTest, IntegerOutOfRange) {
  auto below = Load("node.id=1\nnum.partitions=0\n");
  ASSERT_FALSE(below.ok());
  EXPECT_EQ("test.properties:2: config key 'num.partitions': value 0 is below the minimum 1",
            below.status().message());
  auto above = Load("node.id=1", {"num.partitions=10001"});
  ASSERT_FALSE(above.ok());
  EXPECT_EQ(
      "--override num.partitions=10001: config key 'num.partitions': value 10001 is above the "
      "maximum 10000",
      above.status().message());
  auto overflow = Load("node.id=99999999999999999999\n");
  ASSERT_FALSE(overflow.ok());
  EXPECT_THAT(overflow.status().message(), HasSubstr("is not an integer"));
}

TEST(ConfigTest, BadBoolean) {
  auto c = Load("node.id=1\nauto.create.topics.enable=yes\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(),
              HasSubstr("config key 'auto.create.topics.enable': 'yes' is not a boolean"));
}

TEST(ConfigTest, BadEnumListsChoices) {
  auto c = Load("node.id=1\nlog.level=loud\n");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("'loud' is not one of: debug, info, warning, error"));
}

TEST(ConfigTest, ValidatorRejectsBadHostPort) {
  for (const char* bad : {"listener=nohost", "listener=host:", "listener=host:70000",
                          "listener=:80", "listener=[::1:80"}) {
    auto c = Load(std::string("node.id=1\n") + bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_THAT(c.status().message(), HasSubstr("config key 'listener'")) << bad;
  }
  auto ok = Load("node.id=1\nlistener=[::1]:0\n");
  EXPECT_TRUE(ok.ok()) << ok.status();
}

TEST(ConfigTest, LineWithoutSeparator) {
  auto c = Load("node.id=1\njust-a-word\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ("test.properties:2: expected key=value, got 'just-a-word'", c.status().message());
}

TEST(ConfigTest, EmptyKey) {
  auto c = Load("=5\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ("test.properties:1: empty key", c.status().message());
}

TEST(ConfigTest, DuplicateKeyInFile) {
  auto c = Load("node.id=1\nnode.id=2\n");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ("test.properties:2: config key 'node.id' is also set on line 1", c.status().message());
}

TEST(ConfigTest, MalformedOverride) {
  auto c = Load("node.id=1", {"novalue"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ("--override novalue: expected key=value", c.status().message());
  auto empty_key = Load("node.id=1", {"=3"});
  ASSERT_FALSE(empty_key.ok());
}

TEST(ConfigTest, ValidateChecksSingleValues) {
  const ConfigDef def = TestDef();
  EXPECT_TRUE(def.Validate("num.partitions", "3").ok());
  EXPECT_EQ("config key 'num.partitions': value 0 is below the minimum 1",
            def.Validate("num.partitions", "0").message());
  EXPECT_EQ("unknown config key 'nope'", def.Validate("nope", "1").message());
}

TEST(ConfigTest, HostPortListValidator) {
  EXPECT_TRUE(ValidateHostPortList("a:1,b:2").ok());
  EXPECT_FALSE(ValidateHostPortList("").ok());
  EXPECT_FALSE(ValidateHostPortList("a:1,b").ok());
}

TEST(ConfigDeathTest, InvalidDefaultIsABug) {
  ConfigDef def;
  EXPECT_DEATH(def.Define({.name = "x", .type = ConfigType::kInt, .default_value = "abc"}),
               "invalid default for config key x");
}

TEST(ConfigDeathTest, DuplicateDefinitionIsABug) {
  ConfigDef def;
  def.Define({.name = "x", .default_value = ""});
  EXPECT_DEATH(def.Define({.name = "x", .default_value = ""}), "config key defined twice: x");
}

TEST(ConfigDeathTest, WrongTypeGetterIsABug) {
  auto c = Load("node.id=1");
  ASSERT_TRUE(c.ok());
  EXPECT_DEATH(c->GetBool("node.id"), "read with the wrong type");
  EXPECT_DEATH(c->GetInt("undeclared"), "undeclared config key undeclared");
}

}  // namespace
}  // namespace samsa
