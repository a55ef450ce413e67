#include "common/status.h"

#include <cerrno>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace samsa {
namespace {

TEST(StatusTest, ErrnoMapsToWhatTheCallerShouldDo) {
  EXPECT_EQ(absl::StatusCode::kResourceExhausted, ErrnoToStatus(ENOSPC, "x").code());
  EXPECT_EQ(absl::StatusCode::kNotFound, ErrnoToStatus(ENOENT, "x").code());
  EXPECT_EQ(absl::StatusCode::kAlreadyExists, ErrnoToStatus(EEXIST, "x").code());
  EXPECT_EQ(absl::StatusCode::kPermissionDenied, ErrnoToStatus(EACCES, "x").code());
  EXPECT_EQ(absl::StatusCode::kInvalidArgument, ErrnoToStatus(EINVAL, "x").code());
  EXPECT_EQ(absl::StatusCode::kInternal, ErrnoToStatus(EIO, "x").code());
}

TEST(StatusTest, ErrnoMessageNamesContextAndReason) {
  EXPECT_EQ("fsync /data/t-0/00000000000000000000.log: Input/output error",
            ErrnoToStatus(EIO, "fsync /data/t-0/00000000000000000000.log").message());
}

absl::Status FailsWhen(bool fail) {
  return fail ? absl::UnavailableError("down") : absl::OkStatus();
}

absl::StatusOr<int> Half(int v) {
  if (v % 2 != 0) return absl::InvalidArgumentError("odd");
  return v / 2;
}

absl::Status Chain(bool fail, int v, int* out) {
  RETURN_IF_ERROR(FailsWhen(fail));
  ASSIGN_OR_RETURN(int h, Half(v));
  ASSIGN_OR_RETURN(*out, Half(h));
  return absl::OkStatus();
}

TEST(StatusTest, MacrosPropagateFirstError) {
  int out = 0;
  EXPECT_TRUE(Chain(false, 8, &out).ok());
  EXPECT_EQ(2, out);
  EXPECT_EQ(absl::StatusCode::kUnavailable, Chain(true, 8, &out).code());
  EXPECT_EQ("odd", Chain(false, 3, &out).message());
  out = 0;
  EXPECT_EQ("odd", Chain(false, 6, &out).message());
  EXPECT_EQ(0, out);
}

}  // namespace
}  // namespace samsa
