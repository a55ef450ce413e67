// Env: every file operation Samsa performs goes through this interface
// (style rule 5 in docs/development.md, after leveldb's Env). Three implementations:
//
//   * PosixEnv (Env::Default()): the real file system.
//   * MemEnv (mem_env.h): in memory, for fast unit tests.
//   * FaultEnv (fault_env.h): wraps another Env and can fail chosen calls with
//     EIO/ENOSPC and simulate a crash that forgets unsynced data.
//
// Durability contract (what a caller may rely on after a crash or power
// loss): bytes appended to a File are durable once File::Sync() returns OK; a
// new or renamed directory entry is durable once SyncDir() on its parent
// returns OK. Nothing else is promised.
//
// Errors: NOT_FOUND for a missing file; ALREADY_EXISTS when creating one that
// exists; RESOURCE_EXHAUSTED for ENOSPC; INTERNAL for EIO and anything else
// (see common/status.h ErrnoToStatus). Messages name the operation and path.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace samsa::storage {

// An open file that is appended at its end and read at any position.
// Thread-safety: ReadAt and Size may run concurrently with each other and
// with one writer calling Append/Sync/Truncate; writers must be serialized by
// the caller (a segment is appended under its partition's lock).
class File {
 public:
  virtual ~File() = default;

  // Appends all of `data` at the end of the file. On error some prefix of
  // `data` may have been written.
  virtual absl::Status Append(std::span<const uint8_t> data) = 0;

  // Reads up to out.size() bytes starting at `offset`; returns the number
  // read, which is less than out.size() only at end of file.
  virtual absl::StatusOr<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const = 0;

  // Makes every appended byte durable (fdatasync).
  virtual absl::Status Sync() = 0;

  // Asks the OS to drop the file's synced bytes from its page cache; they
  // are read from disk when next read. For data written once and not read
  // soon (a replica catching up): the pages are free for the next writes
  // at once instead of the cache growing (on a VM, fresh guest memory is
  // slow to fill).
  virtual absl::Status DropCache() = 0;

  // Cuts the file to `size` bytes (size must not exceed Size()).
  virtual absl::Status Truncate(uint64_t size) = 0;

  // Current length, including bytes not yet synced.
  virtual uint64_t Size() const = 0;
};

enum class OpenMode {
  kCreateNew,     // create; ALREADY_EXISTS if present
  kOpenOrCreate,  // create if absent, else open as is
  kOpenExisting,  // NOT_FOUND if absent
};

struct DiskSpace {
  uint64_t capacity_bytes = 0;
  uint64_t free_bytes = 0;  // what an unprivileged writer may still use
};

class Env {
 public:
  virtual ~Env() = default;

  // The POSIX file system. Never destroyed.
  static Env* Default();

  virtual absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path,
                                                         OpenMode mode) = 0;
  virtual absl::Status RenameFile(const std::string& from, const std::string& to) = 0;
  virtual absl::Status DeleteFile(const std::string& path) = 0;
  virtual absl::StatusOr<bool> FileExists(const std::string& path) = 0;

  // Creates `path` and any missing parents (mkdir -p). OK if it exists.
  virtual absl::Status CreateDirs(const std::string& path) = 0;
  // Removes an empty directory.
  virtual absl::Status DeleteDir(const std::string& path) = 0;
  // Names (not paths) of the entries of `path`, without "." and "..", sorted.
  virtual absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) = 0;
  // Makes the directory's entries (creations, renames, deletions) durable.
  virtual absl::Status SyncDir(const std::string& path) = 0;
  // The size and free space of the file system holding `path`.
  virtual absl::StatusOr<DiskSpace> GetDiskSpace(const std::string& path) = 0;

  // Helpers built on the primitives above.

  // Reads a whole file.
  absl::StatusOr<std::string> ReadFile(const std::string& path);
  // Replaces `path` with `data` so that a crash leaves either the old or the
  // new contents, never a mix: write `path`.tmp, sync it, rename over `path`,
  // sync the directory.
  absl::Status WriteFileAtomically(const std::string& path, std::string_view data);
  // Deletes a directory and everything below it.
  absl::Status DeleteTree(const std::string& path);
};

// "a/b" + "c" -> "a/b/c".
std::string JoinPath(std::string_view dir, std::string_view name);
// "a/b/c" -> "a/b"; "c" -> ".".
std::string DirName(std::string_view path);

}  // namespace samsa::storage
