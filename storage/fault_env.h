// FaultEnv: wraps an Env (usually a MemEnv) to test what the storage layer
// does when the disk fails or the machine loses power.
//
// Error injection: InjectError(op, errno, path_substring, count) makes the
// next `count` matching calls fail with that errno (as the POSIX Env would
// report it) without touching the underlying Env.
//
// Crashes: the env tracks, for every file it has seen, how many bytes are
// durable (synced) and whether its directory entry is durable (the parent
// was synced after the file was created or renamed into it). Freeze() cuts
// the process off from the disk: every later call fails with UNAVAILABLE and
// changes nothing, so the code under test can be destroyed without flushing
// anything more. Crash() then rewinds the underlying Env to what a power loss
// would leave: files whose entry was never made durable disappear, every
// other file is cut back to its synced length (with kTearLastWrite, a random
// prefix of the unsynced tail of the most recently appended file survives,
// as a torn write would), and calls work again.
// SetCrashAfter(n) freezes automatically after the n-th mutating call
// (Append, Sync, Truncate, create, Rename, Delete, SyncDir), which lets a
// test crash at every write and sync point of a workload in turn.
//
// Model limits, chosen to keep the simulation simple and on the side of
// reporting durability early rather than late: truncations, deletions and
// renames of already-durable entries take effect immediately, as if synced;
// directories are durable once created, and a renamed directory's files keep
// their state under the new name.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/env.h"

namespace samsa::storage {

enum class FaultOp {
  kOpen,
  kAppend,
  kRead,
  kSync,
  kTruncate,
  kRename,
  kDelete,
  kSyncDir,
  kListDir
};

enum class CrashMode { kDropUnsynced, kTearLastWrite };

class FaultEnv final : public Env {
 public:
  // `base` must outlive this env.
  explicit FaultEnv(Env* base);
  ~FaultEnv() override;

  // The next `count` calls of `op` on a path containing `path_substring`
  // (empty: any path) fail with `err` (e.g. EIO, ENOSPC).
  void InjectError(FaultOp op, int err, std::string path_substring = "", int count = 1);
  void ClearErrors();

  // Every File::Sync takes at least `delay` (a slow disk), so concurrent
  // work piles up behind an fsync as it would on real hardware.
  void SetSyncDelay(absl::Duration delay);

  void Freeze();
  // Freezes after `ops` more mutating calls; negative disables.
  void SetCrashAfter(int64_t ops);
  // Mutating calls performed so far (that were not failed by injection).
  int64_t mutating_ops() const;
  bool frozen() const;

  // Rewinds to the durable state as described above; `seed` drives the torn
  // length. Open File handles from before the crash must be destroyed first.
  absl::Status Crash(CrashMode mode, uint64_t seed = 0);

  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override;
  absl::Status RenameFile(const std::string& from, const std::string& to) override;
  absl::Status DeleteFile(const std::string& path) override;
  absl::StatusOr<bool> FileExists(const std::string& path) override;
  absl::Status CreateDirs(const std::string& path) override;
  absl::Status DeleteDir(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  absl::Status SyncDir(const std::string& path) override;
  absl::StatusOr<DiskSpace> GetDiskSpace(const std::string& path) override {
    return base_->GetDiskSpace(path);
  }

 private:
  friend class FaultFile;

  struct FileState {
    uint64_t synced_size = 0;
    bool entry_durable = true;
  };
  struct ErrorRule {
    FaultOp op;
    int err;
    std::string path_substring;
    int remaining;
  };

  // Checks freeze and injected errors for one call; counts the calls that
  // change the disk (crash_after counts those).
  enum class Effect { kReads, kChanges };
  absl::Status Check(FaultOp op, const std::string& path, Effect effect);
  absl::StatusOr<bool> IsDir(const std::string& path);
  std::shared_ptr<FileState> StateFor(const std::string& path, uint64_t size)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Env* const base_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<FileState>> files_ ABSL_GUARDED_BY(mu_);
  std::vector<ErrorRule> rules_ ABSL_GUARDED_BY(mu_);
  bool frozen_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration sync_delay_ ABSL_GUARDED_BY(mu_) = absl::ZeroDuration();
  int64_t crash_after_ ABSL_GUARDED_BY(mu_) = -1;
  int64_t mutating_ops_ ABSL_GUARDED_BY(mu_) = 0;
  std::string last_appended_ ABSL_GUARDED_BY(mu_);
};

}  // namespace samsa::storage
