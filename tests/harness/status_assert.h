// ASSERT_OK / EXPECT_OK: a failed absl::Status prints itself, so a red test
// says why a process did not start or a call failed, not just "false".
#pragma once

#include "absl/status/status.h"
#include "gtest/gtest.h"

// The switch keeps an `else` written after the macro from binding to its `if`.
#define SAMSA_STATUS_CHECK_(fail, expr)                                    \
  switch (0)                                                               \
  case 0:                                                                  \
  default:                                                                 \
    if (const ::absl::Status samsa_status_ = (expr); samsa_status_.ok()) { \
    } else                                                                 \
      fail << #expr << " failed: " << samsa_status_

#define ASSERT_OK(expr) SAMSA_STATUS_CHECK_(GTEST_FAIL(), expr)
#define EXPECT_OK(expr) SAMSA_STATUS_CHECK_(ADD_FAILURE(), expr)
