// LogDeleter: removes the directories of deleted partitions in the
// background, a file at a time, each shrunk by `chunk_bytes` per step with
// `pause` between steps.
//
// Freeing a large file's blocks at once holds the file system's journal:
// on ext4 (the project machine) one unlink of a 256 MiB segment took 62-77
// ms, and every fsync on the disk — producers' appends on other partitions —
// waited behind it. In small steps the journal commits between them.
//
// The directories come already renamed to "<name>.<nonce>-delete" (the
// commit point, see log_manager.h), so stopping half-way loses nothing: a
// directory not finished stays, and LogManager::Open hands it over again.
//
// Thread-safe; one thread of its own.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/env.h"

namespace samsa::storage {

struct LogDeleterOptions {
  Env* env = nullptr;  // must outlive the deleter
  uint64_t chunk_bytes = 16 << 20;
  absl::Duration pause = absl::Milliseconds(10);
};

class LogDeleter {
 public:
  explicit LogDeleter(LogDeleterOptions options);
  ~LogDeleter();  // stops after the current step; the rest waits for the next start

  // Queues directory `dir` (and everything in it) for removal.
  void Remove(std::string dir);

 private:
  void Loop();
  absl::Status RemoveTree(const std::string& path);
  absl::Status RemoveFile(const std::string& path);
  // Sleeps `pause`; false when stopping.
  bool Pause();

  const LogDeleterOptions options_;
  absl::Mutex mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace samsa::storage
