#include "storage/log_dir.h"

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace samsa::storage {

absl::Status LogDirHealth::status() const {
  if (!offline()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  return error_;
}

absl::Status LogDirHealth::Fail(const absl::Status& cause) {
  absl::MutexLock lock(&mu_);
  if (!offline_.load(std::memory_order_relaxed)) {
    error_ = absl::UnavailableError(
        absl::StrCat("log directory ", dir_, " is offline after an I/O error: ", cause.ToString()));
    SAMSA_LOG(ERROR) << error_.message();
    offline_.store(true, std::memory_order_release);
  }
  return error_;
}

}  // namespace samsa::storage
