#include "tools/json_output.h"

#include <sstream>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"

namespace samsa::tools {
namespace {

TEST(JsonOutputTest, Utf8Validation) {
  for (const char* ok : {"", "plain ascii", "caf\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                         "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf"}) {
    EXPECT_TRUE(IsValidUtf8(ok)) << absl::CHexEscape(ok);
  }
  for (const char* bad : {"\xff", "\xc3", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                          "\xf4\x90\x80\x80", "\xf8\x88\x80\x80\x80", "\x80", "a\xe2\x82"}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << absl::CHexEscape(bad);
  }
  EXPECT_TRUE(IsValidUtf8(std::string("a\0b", 3))) << "NUL is a character";
}

TEST(JsonOutputTest, RecordBytesKeepBinaryDataWhole) {
  EXPECT_EQ(nlohmann::json(nullptr), RecordBytes(std::nullopt));
  EXPECT_EQ(nlohmann::json("John Doe"), RecordBytes("John Doe"));
  const std::string binary("\x08\x04\x10\xff\xff\x01", 6);
  const nlohmann::json j = RecordBytes(binary);
  ASSERT_TRUE(j.is_object());
  std::string decoded;
  ASSERT_TRUE(absl::Base64Unescape(j["base64"].get<std::string>(), &decoded));
  EXPECT_EQ(binary, decoded);
}

TEST(JsonOutputTest, PrintJsonReplacesWhatIsNotUtf8) {
  std::ostringstream out;
  PrintJson(out, {{"group", std::string("g\xff", 2)}});
  EXPECT_EQ("{\"group\":\"g\xef\xbf\xbd\"}\n", out.str());
}

}  // namespace
}  // namespace samsa::tools
