#include "storage/mem_env.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"

namespace samsa::storage {
namespace {

// A file's contents; shared by every open handle, like an inode.
struct MemFileData {
  mutable absl::Mutex mu;
  std::string bytes ABSL_GUARDED_BY(mu);
};

class MemFile final : public File {
 public:
  explicit MemFile(std::shared_ptr<MemFileData> data) : data_(std::move(data)) {}

  absl::Status Append(std::span<const uint8_t> d) override {
    absl::MutexLock lock(&data_->mu);
    data_->bytes.append(reinterpret_cast<const char*>(d.data()), d.size());
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const override {
    absl::MutexLock lock(&data_->mu);
    if (offset >= data_->bytes.size()) return size_t{0};
    const size_t n = std::min<size_t>(out.size(), data_->bytes.size() - offset);
    std::copy_n(data_->bytes.data() + offset, n, reinterpret_cast<char*>(out.data()));
    return n;
  }

  absl::Status Sync() override { return absl::OkStatus(); }
  // The bytes are the cache: nothing to drop.
  absl::Status DropCache() override { return absl::OkStatus(); }

  absl::Status Truncate(uint64_t size) override {
    absl::MutexLock lock(&data_->mu);
    if (size > data_->bytes.size()) return absl::InvalidArgumentError("truncate beyond end");
    data_->bytes.resize(size);
    return absl::OkStatus();
  }

  uint64_t Size() const override {
    absl::MutexLock lock(&data_->mu);
    return data_->bytes.size();
  }

 private:
  std::shared_ptr<MemFileData> data_;
};

class MemEnv final : public Env {
 public:
  MemEnv() { dirs_.insert("/"); }

  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    absl::MutexLock lock(&mu_);
    auto it = files_.find(path);
    if (it != files_.end()) {
      if (mode == OpenMode::kCreateNew) {
        return absl::AlreadyExistsError(absl::StrCat("open ", path, ": File exists"));
      }
      return std::make_unique<MemFile>(it->second);
    }
    if (mode == OpenMode::kOpenExisting || dirs_.contains(path)) {
      return absl::NotFoundError(absl::StrCat("open ", path, ": No such file or directory"));
    }
    if (!dirs_.contains(DirName(path))) {
      return absl::NotFoundError(absl::StrCat("open ", path, ": No such directory"));
    }
    auto data = std::make_shared<MemFileData>();
    files_.emplace(path, data);
    return std::make_unique<MemFile>(std::move(data));
  }

  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    absl::MutexLock lock(&mu_);
    if (dirs_.contains(from)) return RenameDirLocked(from, to);
    auto it = files_.find(from);
    if (it == files_.end()) {
      return absl::NotFoundError(absl::StrCat("rename ", from, ": No such file or directory"));
    }
    if (!dirs_.contains(DirName(to))) {
      return absl::NotFoundError(absl::StrCat("rename to ", to, ": No such directory"));
    }
    auto data = it->second;
    files_.erase(it);
    files_[to] = std::move(data);
    return absl::OkStatus();
  }

  absl::Status DeleteFile(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    if (files_.erase(path) == 0) {
      return absl::NotFoundError(absl::StrCat("unlink ", path, ": No such file or directory"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> FileExists(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    return files_.contains(path) || dirs_.contains(path);
  }

  absl::Status CreateDirs(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    for (std::string p = path; !p.empty() && p != "." && !dirs_.contains(p); p = DirName(p)) {
      if (files_.contains(p)) {
        return absl::AlreadyExistsError(absl::StrCat("mkdir ", p, ": a file is in the way"));
      }
      dirs_.insert(p);
    }
    return absl::OkStatus();
  }

  absl::Status DeleteDir(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    if (!dirs_.contains(path)) {
      return absl::NotFoundError(absl::StrCat("rmdir ", path, ": No such file or directory"));
    }
    if (!ChildrenLocked(path).empty()) {
      return absl::FailedPreconditionError(absl::StrCat("rmdir ", path, ": Directory not empty"));
    }
    dirs_.erase(path);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    if (!dirs_.contains(path)) {
      return absl::NotFoundError(absl::StrCat("opendir ", path, ": No such file or directory"));
    }
    return ChildrenLocked(path);
  }

  // Memory has no disk: the bytes held, and as many again free.
  absl::StatusOr<DiskSpace> GetDiskSpace(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    if (!dirs_.contains(path) && !files_.contains(path)) {
      return absl::NotFoundError(absl::StrCat("statvfs ", path, ": No such file or directory"));
    }
    uint64_t used = 0;
    for (const auto& [name, file] : files_) {
      absl::MutexLock file_lock(&file->mu);
      used += file->bytes.size();
    }
    return DiskSpace{.capacity_bytes = 2 * used, .free_bytes = used};
  }

  absl::Status SyncDir(const std::string& path) override {
    absl::MutexLock lock(&mu_);
    if (!dirs_.contains(path)) {
      return absl::NotFoundError(absl::StrCat("open ", path, ": No such file or directory"));
    }
    return absl::OkStatus();
  }

 private:
  // Moves a directory and everything below it.
  absl::Status RenameDirLocked(const std::string& from, const std::string& to)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (dirs_.contains(to) || files_.contains(to)) {
      return absl::AlreadyExistsError(absl::StrCat("rename to ", to, ": exists"));
    }
    const std::string prefix = from + "/";
    auto moved = [&](const std::string& p) { return to + p.substr(from.size()); };
    std::map<std::string, std::shared_ptr<MemFileData>> files;
    for (auto& [p, data] : files_) files[p.starts_with(prefix) ? moved(p) : p] = data;
    std::set<std::string> dirs;
    for (const std::string& p : dirs_)
      dirs.insert(p == from || p.starts_with(prefix) ? moved(p) : p);
    files_ = std::move(files);
    dirs_ = std::move(dirs);
    return absl::OkStatus();
  }

  std::vector<std::string> ChildrenLocked(const std::string& dir) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::set<std::string> names;
    auto collect = [&](const std::string& p) {
      if (p != dir && DirName(p) == dir) names.insert(p.substr(p.rfind('/') + 1));
    };
    for (const auto& [p, unused] : files_) collect(p);
    for (const std::string& p : dirs_) collect(p);
    return {names.begin(), names.end()};
  }

  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<MemFileData>> files_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> dirs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Env> NewMemEnv() { return std::make_unique<MemEnv>(); }

}  // namespace samsa::storage
