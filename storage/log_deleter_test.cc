#include "storage/log_deleter.h"

#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/log_test_util.h"
#include "storage/mem_env.h"

namespace samsa::storage {
namespace {

using testing::Eventually;

class LogDeleterTest : public ::testing::Test {
 protected:
  LogDeleterTest() : env_(NewMemEnv()) {
    EXPECT_TRUE(env_->CreateDirs("/d/t-0.1-delete").ok());
    WriteFile("/d/t-0.1-delete/00000000000000000000.log", 10 << 10);
    WriteFile("/d/t-0.1-delete/00000000000000000000.index", 100);
  }

  void WriteFile(const std::string& path, size_t size) {
    auto f = env_->OpenFile(path, OpenMode::kCreateNew);
    ASSERT_TRUE(f.ok()) << f.status();
    ASSERT_TRUE((*f)->Append(std::vector<uint8_t>(size, 'x')).ok());
  }

  // The size of `path`; -1 if it is gone.
  int64_t SizeOf(const std::string& path) {
    auto f = env_->OpenFile(path, OpenMode::kOpenExisting);
    return f.ok() ? static_cast<int64_t>((*f)->Size()) : -1;
  }

  std::unique_ptr<Env> env_;
};

TEST_F(LogDeleterTest, RemovesTheDirectoryInTheBackground) {
  LogDeleter deleter({.env = env_.get(), .chunk_bytes = 1 << 10, .pause = absl::Milliseconds(1)});
  deleter.Remove("/d/t-0.1-delete");
  EXPECT_TRUE(Eventually([&] { return env_->ListDir("/d")->empty(); }));
}

// A large file shrinks a chunk at a time; a deleter stopped half-way
// leaves the rest, which the next one removes.
TEST_F(LogDeleterTest, ShrinksFilesStepByStepAndResumesAfterAStop) {
  const std::string log = "/d/t-0.1-delete/00000000000000000000.log";
  {
    LogDeleter deleter({.env = env_.get(), .chunk_bytes = 1 << 10, .pause = absl::Hours(1)});
    deleter.Remove("/d/t-0.1-delete");
    ASSERT_TRUE(Eventually([&] { return SizeOf(log) == 9 << 10; }));
    absl::SleepFor(absl::Milliseconds(20));
    EXPECT_EQ(9 << 10, SizeOf(log)) << "one chunk, then the pause";
  }
  EXPECT_EQ(9 << 10, SizeOf(log)) << "stopped mid-pause: the rest stays";
  LogDeleter deleter({.env = env_.get(), .chunk_bytes = 1 << 10, .pause = absl::Milliseconds(1)});
  deleter.Remove("/d/t-0.1-delete");
  EXPECT_TRUE(Eventually([&] { return env_->ListDir("/d")->empty(); }));
}

}  // namespace
}  // namespace samsa::storage
