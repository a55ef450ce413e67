#include "storage/env.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/fault_env.h"
#include "storage/mem_env.h"
#include "storage/temp_dir.h"

namespace samsa::storage {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::span<const uint8_t> Bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string ReadAll(File& f) {
  std::string out(f.Size(), '\0');
  auto n = f.ReadAt(0, {reinterpret_cast<uint8_t*>(out.data()), out.size()});
  EXPECT_TRUE(n.ok()) << n.status();
  out.resize(n.ok() ? *n : 0);
  return out;
}

// One fixture for every Env: the same contract, three implementations.
enum class Kind { kPosix, kMem, kFaultOverMem };

class EnvContractTest : public ::testing::TestWithParam<Kind> {
 protected:
  void SetUp() override {
    switch (GetParam()) {
      case Kind::kPosix:
        tmp_ = std::make_unique<TempDir>("env-test");
        root_ = tmp_->path();
        env_ = Env::Default();
        break;
      case Kind::kMem:
        mem_ = NewMemEnv();
        env_ = mem_.get();
        root_ = "/data";
        break;
      case Kind::kFaultOverMem:
        mem_ = NewMemEnv();
        fault_ = std::make_unique<FaultEnv>(mem_.get());
        env_ = fault_.get();
        root_ = "/data";
        break;
    }
    ASSERT_TRUE(env_->CreateDirs(root_).ok());
  }
  void TearDown() override {
    if (GetParam() == Kind::kPosix) {
      EXPECT_TRUE(env_->DeleteTree(root_).ok());
    }
  }
  std::string Path(std::string_view name) { return JoinPath(root_, name); }

  Env* env_ = nullptr;
  std::unique_ptr<Env> mem_;
  std::unique_ptr<FaultEnv> fault_;
  std::unique_ptr<TempDir> tmp_;
  std::string root_;
};

TEST_P(EnvContractTest, AppendReadSizeTruncate) {
  auto f = env_->OpenFile(Path("a.log"), OpenMode::kCreateNew);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(0u, (*f)->Size());
  ASSERT_TRUE((*f)->Append(Bytes("hello ")).ok());
  ASSERT_TRUE((*f)->Append(Bytes("world")).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  EXPECT_EQ(11u, (*f)->Size());
  EXPECT_EQ("hello world", ReadAll(**f));

  uint8_t buf[16];
  auto n = (*f)->ReadAt(6, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(5u, *n);  // short read at end of file
  EXPECT_EQ("world", std::string(reinterpret_cast<char*>(buf), 5));
  n = (*f)->ReadAt(100, buf);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(0u, *n);

  ASSERT_TRUE((*f)->Truncate(5).ok());
  EXPECT_EQ(5u, (*f)->Size());
  ASSERT_TRUE((*f)->Append(Bytes("!")).ok());
  EXPECT_EQ("hello!", ReadAll(**f));
}

TEST_P(EnvContractTest, DroppingTheCacheKeepsTheBytes) {
  auto f = env_->OpenFile(Path("a.log"), OpenMode::kCreateNew);
  ASSERT_TRUE(f.ok()) << f.status();
  ASSERT_TRUE((*f)->Append(Bytes("synced ")).ok());
  ASSERT_TRUE((*f)->Sync().ok());
  ASSERT_TRUE((*f)->Append(Bytes("and not")).ok());
  ASSERT_TRUE((*f)->DropCache().ok());
  EXPECT_EQ("synced and not", ReadAll(**f));
  ASSERT_TRUE((*f)->Append(Bytes(" yet")).ok());
  EXPECT_EQ("synced and not yet", ReadAll(**f));
}

TEST_P(EnvContractTest, OpenModes) {
  EXPECT_EQ(absl::StatusCode::kNotFound,
            env_->OpenFile(Path("missing"), OpenMode::kOpenExisting).status().code());
  ASSERT_TRUE(env_->OpenFile(Path("x"), OpenMode::kOpenOrCreate).ok());
  EXPECT_EQ(absl::StatusCode::kAlreadyExists,
            env_->OpenFile(Path("x"), OpenMode::kCreateNew).status().code());
  {
    auto f = env_->OpenFile(Path("x"), OpenMode::kOpenExisting);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(Bytes("abc")).ok());
  }
  auto again = env_->OpenFile(Path("x"), OpenMode::kOpenOrCreate);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(3u, (*again)->Size());
  EXPECT_EQ(absl::StatusCode::kNotFound,
            env_->OpenFile(Path("nodir/y"), OpenMode::kCreateNew).status().code());
}

TEST_P(EnvContractTest, DirectoryOperations) {
  ASSERT_TRUE(env_->CreateDirs(Path("t-0/sub")).ok());
  ASSERT_TRUE(env_->CreateDirs(Path("t-0")).ok());  // exists: fine
  ASSERT_TRUE(env_->OpenFile(Path("t-0/b"), OpenMode::kCreateNew).ok());
  ASSERT_TRUE(env_->OpenFile(Path("t-0/a"), OpenMode::kCreateNew).ok());
  auto names = env_->ListDir(Path("t-0"));
  ASSERT_TRUE(names.ok());
  EXPECT_THAT(*names, ElementsAre("a", "b", "sub"));
  EXPECT_TRUE(env_->SyncDir(Path("t-0")).ok());

  ASSERT_TRUE(env_->RenameFile(Path("t-0/a"), Path("t-0/c")).ok());
  EXPECT_FALSE(*env_->FileExists(Path("t-0/a")));
  EXPECT_TRUE(*env_->FileExists(Path("t-0/c")));
  ASSERT_TRUE(env_->DeleteFile(Path("t-0/c")).ok());
  EXPECT_EQ(absl::StatusCode::kNotFound, env_->DeleteFile(Path("t-0/c")).code());
  EXPECT_FALSE(env_->DeleteDir(Path("t-0")).ok());  // not empty

  ASSERT_TRUE(env_->DeleteTree(Path("t-0")).ok());
  EXPECT_FALSE(*env_->FileExists(Path("t-0")));
  EXPECT_EQ(absl::StatusCode::kNotFound, env_->ListDir(Path("t-0")).status().code());
}

TEST_P(EnvContractTest, AtomicWriteReplacesWholeFile) {
  ASSERT_TRUE(env_->WriteFileAtomically(Path("cp"), "version 1, long contents").ok());
  ASSERT_TRUE(env_->WriteFileAtomically(Path("cp"), "v2").ok());
  auto data = env_->ReadFile(Path("cp"));
  ASSERT_TRUE(data.ok());
  EXPECT_EQ("v2", *data);
  EXPECT_FALSE(*env_->FileExists(Path("cp.tmp")));
}

TEST_P(EnvContractTest, DiskSpaceOfADirectory) {
  ASSERT_TRUE(env_->WriteFileAtomically(Path("f"), std::string(4096, 'x')).ok());
  absl::StatusOr<DiskSpace> space = env_->GetDiskSpace(root_);
  ASSERT_TRUE(space.ok()) << space.status();
  EXPECT_GT(space->capacity_bytes, 0u);
  EXPECT_LE(space->free_bytes, space->capacity_bytes);
  absl::StatusOr<DiskSpace> missing = env_->GetDiskSpace(Path("nope"));
  EXPECT_EQ(absl::StatusCode::kNotFound, missing.status().code());
  EXPECT_THAT(missing.status().message(), HasSubstr(Path("nope")));
}

TEST_P(EnvContractTest, ErrorsNameThePath) {
  auto st = env_->OpenFile(Path("nope"), OpenMode::kOpenExisting).status();
  EXPECT_THAT(st.message(), HasSubstr(Path("nope")));
}

INSTANTIATE_TEST_SUITE_P(AllEnvs, EnvContractTest,
                         ::testing::Values(Kind::kPosix, Kind::kMem, Kind::kFaultOverMem),
                         [](const auto& info) {
                           switch (info.param) {
                             case Kind::kPosix:
                               return "Posix";
                             case Kind::kMem:
                               return "Mem";
                             case Kind::kFaultOverMem:
                               return "Fault";
                           }
                           return "Unknown";
                         });

class FaultEnvTest : public ::testing::Test {
 protected:
  FaultEnvTest() : mem_(NewMemEnv()), env_(mem_.get()) { EXPECT_TRUE(env_.CreateDirs("/d").ok()); }
  std::unique_ptr<Env> mem_;
  FaultEnv env_;
};

TEST_F(FaultEnvTest, InjectedErrorsMapLikePosix) {
  auto f = env_.OpenFile("/d/f", OpenMode::kCreateNew);
  ASSERT_TRUE(f.ok());
  env_.InjectError(FaultOp::kSync, EIO, "/d/f");
  absl::Status st = (*f)->Sync();
  EXPECT_EQ(absl::StatusCode::kInternal, st.code());
  EXPECT_THAT(st.message(), HasSubstr("Input/output error"));
  EXPECT_TRUE((*f)->Sync().ok()) << "one-shot rule";

  env_.InjectError(FaultOp::kAppend, ENOSPC, "", 2);
  EXPECT_EQ(absl::StatusCode::kResourceExhausted, (*f)->Append(Bytes("x")).code());
  EXPECT_EQ(absl::StatusCode::kResourceExhausted, (*f)->Append(Bytes("x")).code());
  EXPECT_TRUE((*f)->Append(Bytes("x")).ok());
  EXPECT_EQ(1u, (*f)->Size()) << "failed appends wrote nothing";

  env_.InjectError(FaultOp::kAppend, EIO, "/other");
  EXPECT_TRUE((*f)->Append(Bytes("y")).ok()) << "rule is for another path";
}

TEST_F(FaultEnvTest, CrashDropsUnsyncedBytes) {
  {
    auto f = env_.OpenFile("/d/f", OpenMode::kCreateNew);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE(env_.SyncDir("/d").ok());
    ASSERT_TRUE((*f)->Append(Bytes("durable")).ok());
    ASSERT_TRUE((*f)->Sync().ok());
    ASSERT_TRUE((*f)->Append(Bytes("-lost")).ok());
  }
  ASSERT_TRUE(env_.Crash(CrashMode::kDropUnsynced).ok());
  auto data = env_.ReadFile("/d/f");
  ASSERT_TRUE(data.ok());
  EXPECT_EQ("durable", *data);
}

TEST_F(FaultEnvTest, CrashForgetsFilesWhoseDirectoryWasNotSynced) {
  {
    auto f = env_.OpenFile("/d/new", OpenMode::kCreateNew);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(Bytes("data")).ok());
    ASSERT_TRUE((*f)->Sync().ok());  // the data, but not the name
  }
  ASSERT_TRUE(env_.Crash(CrashMode::kDropUnsynced).ok());
  EXPECT_FALSE(*env_.FileExists("/d/new"));
}

TEST_F(FaultEnvTest, RenameIsDurableOnlyAfterDirectorySync) {
  ASSERT_TRUE(env_.WriteFileAtomically("/d/cp", "one").ok());
  {
    auto f = env_.OpenFile("/d/x.tmp", OpenMode::kCreateNew);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->Append(Bytes("two")).ok());
    ASSERT_TRUE((*f)->Sync().ok());
  }
  ASSERT_TRUE(env_.RenameFile("/d/x.tmp", "/d/renamed").ok());
  ASSERT_TRUE(env_.Crash(CrashMode::kDropUnsynced).ok());
  EXPECT_FALSE(*env_.FileExists("/d/renamed"));
  EXPECT_EQ("one", *env_.ReadFile("/d/cp")) << "atomic write survived";
}

TEST_F(FaultEnvTest, TornWriteKeepsAPrefixOfTheUnsyncedTail) {
  bool saw_partial = false;
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto mem = NewMemEnv();
    FaultEnv env(mem.get());
    ASSERT_TRUE(env.CreateDirs("/d").ok());
    {
      auto f = env.OpenFile("/d/f", OpenMode::kCreateNew);
      ASSERT_TRUE(env.SyncDir("/d").ok());
      ASSERT_TRUE((*f)->Append(Bytes("0123")).ok());
      ASSERT_TRUE((*f)->Sync().ok());
      ASSERT_TRUE((*f)->Append(Bytes("456789")).ok());
    }
    ASSERT_TRUE(env.Crash(CrashMode::kTearLastWrite, seed).ok());
    const std::string data = *env.ReadFile("/d/f");
    ASSERT_GE(data.size(), 4u);
    ASSERT_EQ(std::string("0123456789").substr(0, data.size()), data);
    saw_partial = saw_partial || (data.size() > 4 && data.size() < 10);
  }
  EXPECT_TRUE(saw_partial);
}

TEST_F(FaultEnvTest, CrashAfterFreezesAndCountsMutatingOps) {
  const int64_t before = env_.mutating_ops();
  auto f = env_.OpenFile("/d/f", OpenMode::kCreateNew);  // creating a file mutates
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(before + 1, env_.mutating_ops());
  env_.SetCrashAfter(2);
  EXPECT_TRUE((*f)->Append(Bytes("a")).ok());  // op 2
  EXPECT_TRUE((*f)->Sync().ok());              // op 3: freezes after this
  EXPECT_TRUE(env_.frozen());
  EXPECT_EQ(absl::StatusCode::kUnavailable, (*f)->Append(Bytes("b")).code());
  uint8_t buf[1];
  EXPECT_FALSE((*f)->ReadAt(0, buf).ok());
  f->reset();
  ASSERT_TRUE(env_.Crash(CrashMode::kDropUnsynced).ok());
  EXPECT_FALSE(env_.frozen());
  // The file's name was never made durable.
  EXPECT_FALSE(*env_.FileExists("/d/f"));
}

}  // namespace
}  // namespace samsa::storage
