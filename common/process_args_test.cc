#include "common/process_args.h"

#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace samsa {
namespace {

absl::StatusOr<ProcessArgs> Parse(std::vector<const char*> args) { return ParseProcessArgs(args); }

TEST(ProcessArgsTest, ConfigAndOverridesInBothSpellings) {
  auto a =
      Parse({"--config", "b.properties", "--override", "node.id=1", "--override=listener=h:1"});
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ("b.properties", a->config_file);
  EXPECT_THAT(a->overrides, ::testing::ElementsAre("node.id=1", "listener=h:1"));
  EXPECT_FALSE(a->help);

  auto b = Parse({"--config=x.properties"});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ("x.properties", b->config_file);
}

TEST(ProcessArgsTest, NoArguments) {
  auto a = Parse({});
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->config_file.has_value());
  EXPECT_TRUE(a->overrides.empty());
}

TEST(ProcessArgsTest, Help) {
  auto a = Parse({"--help"});
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->help);
  EXPECT_EQ("usage: samsa-broker [--config FILE] [--override key=value ...]\n",
            ProcessUsage("samsa-broker"));
}

TEST(ProcessArgsTest, Errors) {
  EXPECT_EQ("unknown argument '--confg'", Parse({"--confg", "x"}).status().message());
  EXPECT_EQ("unknown argument 'stray'", Parse({"stray"}).status().message());
  EXPECT_EQ("--config needs a value", Parse({"--config"}).status().message());
  EXPECT_EQ("--override needs a value", Parse({"--override"}).status().message());
  EXPECT_EQ("--config given more than once",
            Parse({"--config", "a", "--config", "b"}).status().message());
  EXPECT_EQ("--config needs a file name", Parse({"--config="}).status().message());
  EXPECT_EQ("--override novalue: expected key=value",
            Parse({"--override", "novalue"}).status().message());
}

}  // namespace
}  // namespace samsa
