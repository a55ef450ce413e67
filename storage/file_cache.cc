#include "storage/file_cache.h"

#include "common/logging.h"
#include "common/status.h"

namespace samsa::storage {

FileCache::FileCache(Env* env, size_t capacity) : env_(env), capacity_(capacity) {
  SAMSA_CHECK(capacity > 0) << "a file cache needs room for one file";
}

absl::StatusOr<std::shared_ptr<File>> FileCache::Get(const std::string& path) {
  {
    absl::MutexLock lock(&mu_);
    if (auto it = entries_.find(path); it != entries_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second.lru_pos);
      return it->second.file;
    }
  }
  uint64_t evictions;
  {
    absl::MutexLock lock(&mu_);
    evictions = evictions_;
  }
  // Open outside the lock: a slow open must not stall other partitions.
  ASSIGN_OR_RETURN(std::unique_ptr<File> opened, env_->OpenFile(path, OpenMode::kOpenExisting));
  std::shared_ptr<File> file(std::move(opened));
  std::shared_ptr<File> evicted;
  absl::MutexLock lock(&mu_);
  if (auto it = entries_.find(path); it != entries_.end()) {
    return it->second.file;  // another thread opened it meanwhile
  }
  // A path evicted while we opened it may name another file by now (a
  // cleaned segment renamed into place): this handle is not kept.
  if (evictions_ != evictions) return file;
  lru_.push_front(path);
  entries_.emplace(path, Entry{file, lru_.begin()});
  if (entries_.size() > capacity_) {
    auto victim = entries_.find(lru_.back());
    evicted = std::move(victim->second.file);  // closed after the lock is released
    entries_.erase(victim);
    lru_.pop_back();
  }
  return file;
}

void FileCache::Evict(const std::string& path) {
  std::shared_ptr<File> evicted;
  absl::MutexLock lock(&mu_);
  ++evictions_;
  auto it = entries_.find(path);
  if (it == entries_.end()) return;
  evicted = std::move(it->second.file);
  lru_.erase(it->second.lru_pos);
  entries_.erase(it);
}

size_t FileCache::cached() const {
  absl::MutexLock lock(&mu_);
  return entries_.size();
}

}  // namespace samsa::storage
