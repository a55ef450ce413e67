#include "common/mutex_checks.h"

#include "absl/synchronization/mutex.h"

namespace samsa {

void SkipMutexDeadlockDetection() {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
}

}  // namespace samsa
