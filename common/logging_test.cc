#include "common/logging.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace samsa {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

class CapturingSink final : public LogSink {
 public:
  void Write(LogLevel level, std::string_view line) override {
    levels.push_back(level);
    lines.emplace_back(line);
  }
  std::vector<LogLevel> levels;
  std::vector<std::string> lines;
};

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_ = MinLogLevel();
    SetLogSink(&sink_);
  }
  void TearDown() override {
    SetLogSink(nullptr);
    SetMinLogLevel(saved_);
  }
  CapturingSink sink_;
  LogLevel saved_ = LogLevel::kInfo;
};

TEST_F(LoggingTest, LineFormatCarriesTimeLevelIdentityAndLocation) {
  SetLogIdentity("broker", 3);
  SAMSA_LOG(INFO) << "opened " << 12 << " partitions";
  ASSERT_EQ(1u, sink_.lines.size());
  EXPECT_THAT(sink_.lines[0],
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z INFO \\[broker 3\\] "
                           "logging_test\\.cc:[0-9]+\\] opened 12 partitions\n"));
  EXPECT_EQ(LogLevel::kInfo, sink_.levels[0]);
}

TEST_F(LoggingTest, DisabledLevelDoesNotEvaluateItsArguments) {
  SetMinLogLevel(LogLevel::kWarning);
  int evaluated = 0;
  auto expensive = [&] {
    ++evaluated;
    return "x";
  };
  SAMSA_LOG(INFO) << expensive();
  SAMSA_LOG(DEBUG) << expensive();
  EXPECT_EQ(0, evaluated);
  EXPECT_TRUE(sink_.lines.empty());

  SAMSA_LOG(WARNING) << expensive();
  SAMSA_LOG(ERROR) << expensive();
  EXPECT_EQ(2, evaluated);
  ASSERT_EQ(2u, sink_.lines.size());
  EXPECT_THAT(sink_.lines[0], HasSubstr(" WARN "));
  EXPECT_THAT(sink_.lines[1], HasSubstr(" ERROR "));
}

TEST_F(LoggingTest, UsableAsStatementInIfElse) {
  SetMinLogLevel(LogLevel::kDebug);
  const bool flag = false;
  if (flag)
    SAMSA_LOG(INFO) << "then";
  else
    SAMSA_LOG(DEBUG) << "else";
  ASSERT_EQ(1u, sink_.lines.size());
  EXPECT_THAT(sink_.lines[0], HasSubstr("] else\n"));
}

TEST(LogLevelTest, Parse) {
  EXPECT_EQ(LogLevel::kDebug, *ParseLogLevel("debug"));
  EXPECT_EQ(LogLevel::kWarning, *ParseLogLevel("WARNING"));
  EXPECT_EQ(LogLevel::kError, *ParseLogLevel("error"));
  EXPECT_EQ("unknown log level 'loud' (expected debug, info, warning or error)",
            ParseLogLevel("loud").status().message());
}

TEST(CheckDeathTest, FailedCheckAbortsWithConditionAndMessage) {
  const int offset = 5;
  EXPECT_DEATH(SAMSA_CHECK(offset < 3) << "offsets are dense",
               "Check failed: offset < 3 offsets are dense");
}

TEST(CheckDeathTest, PassingCheckDoesNotEvaluateMessage) {
  int evaluated = 0;
  SAMSA_CHECK(true) << ++evaluated;
  EXPECT_EQ(0, evaluated);
}

}  // namespace
}  // namespace samsa
