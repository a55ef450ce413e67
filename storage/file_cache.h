// FileCache: bounds how many segment files are open at once, so a broker
// with tens of thousands of partitions stays under its descriptor limit.
//
// Segments ask the cache for a handle by path whenever they read or append.
// The cache keeps at most `capacity` handles, least recently used first out;
// a handle still in use by a caller stays valid (shared ownership) and is
// closed when the caller drops it. Thread-safe.
#pragma once

#include <list>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "storage/env.h"

namespace samsa::storage {

class FileCache {
 public:
  // `env` must outlive the cache.
  FileCache(Env* env, size_t capacity);

  // An open handle for an existing file (opened on a miss).
  absl::StatusOr<std::shared_ptr<File>> Get(const std::string& path);
  // Forgets `path` (before it is renamed or deleted, and after another file
  // is renamed to it). A Get that was opening any path meanwhile hands out
  // its handle without keeping it, so no handle to a file that has since
  // been renamed away stays cached under the old name.
  void Evict(const std::string& path);

  size_t cached() const;
  Env* env() const { return env_; }

 private:
  struct Entry {
    std::shared_ptr<File> file;
    std::list<std::string>::iterator lru_pos;
  };

  Env* const env_;
  const size_t capacity_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::list<std::string> lru_ ABSL_GUARDED_BY(mu_);  // front: most recent
  uint64_t evictions_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace samsa::storage
