#include "common/status.h"

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"
#include "common/string_view.h"

namespace samsa {

absl::Status ErrnoToStatus(int err, std::string_view context) {
  char buf[128];
  // GNU strerror_r: thread-safe, returns a pointer to the message.
  const char* reason = strerror_r(err, buf, sizeof(buf));
  std::string message = absl::StrCat(ToAbsl(context), ": ", reason);
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    case ENOENT:
      return absl::NotFoundError(message);
    case EEXIST:
      return absl::AlreadyExistsError(message);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(message);
    case EINVAL:
      return absl::InvalidArgumentError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace samsa
