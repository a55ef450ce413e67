// LogDirHealth: the sticky offline state of one data directory.
//
// A failed write or fsync means the kernel may have dropped dirty pages: what
// is on disk is unknown, and retrying an fsync can report success for data
// that is gone (the 2018 "fsyncgate"). So the first I/O failure takes the
// whole directory offline, for good, until an operator restarts the process
// (which then recovers from what is really on disk). Every later operation
// on any partition in the directory fails with the same error. Thread-safe.
#pragma once

#include <atomic>
#include <string>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace samsa::storage {

class LogDirHealth {
 public:
  explicit LogDirHealth(std::string dir) : dir_(std::move(dir)) {}

  bool offline() const { return offline_.load(std::memory_order_acquire); }

  // OK while online; afterwards the UNAVAILABLE error naming the first cause.
  absl::Status status() const;

  // Takes the directory offline because of `cause` (the first cause is kept)
  // and returns the error callers report.
  absl::Status Fail(const absl::Status& cause);

  const std::string& dir() const { return dir_; }

 private:
  const std::string dir_;
  std::atomic<bool> offline_{false};
  mutable absl::Mutex mu_;
  absl::Status error_ ABSL_GUARDED_BY(mu_);
};

}  // namespace samsa::storage
