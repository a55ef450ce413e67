// Status helpers: propagation macros and conversion of errno to absl::Status.
//
// Errors are values (style rule 8 in docs/development.md). The code says what the caller should do:
// UNAVAILABLE retry, FAILED_PRECONDITION fix state first, DATA_LOSS corruption,
// INVALID_ARGUMENT the input was wrong.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace samsa {

// Maps an errno value to the absl code a caller should act on, with
// `context` (what was being done, to which file) and strerror in the message.
// ENOSPC and EDQUOT map to RESOURCE_EXHAUSTED; ENOENT to NOT_FOUND; EEXIST to
// ALREADY_EXISTS; EACCES/EPERM to PERMISSION_DENIED; EINVAL to
// INVALID_ARGUMENT; everything else, EIO included, to INTERNAL.
absl::Status ErrnoToStatus(int err, std::string_view context);

}  // namespace samsa

#define SAMSA_STATUS_CONCAT_INNER_(a, b) a##b
#define SAMSA_STATUS_CONCAT_(a, b) SAMSA_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function if `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                   \
  do {                                          \
    if (absl::Status _st = (expr); !_st.ok()) { \
      return _st;                               \
    }                                           \
  } while (0)

// ASSIGN_OR_RETURN(lhs, expr): evaluates `expr` (an absl::StatusOr<T>); on
// error returns its status, otherwise move-assigns the value to `lhs`, which
// may be a declaration (`auto x`).
#define ASSIGN_OR_RETURN(lhs, expr) \
  SAMSA_ASSIGN_OR_RETURN_IMPL_(SAMSA_STATUS_CONCAT_(_statusor_, __LINE__), lhs, expr)

#define SAMSA_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) {                                   \
    return std::move(tmp).status();                  \
  }                                                  \
  lhs = std::move(tmp).value()
