// The POSIX Env: pread/write/fdatasync on file descriptors.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "storage/env.h"

namespace samsa::storage {
namespace {

absl::Status PosixError(std::string_view op, const std::string& path) {
  return ErrnoToStatus(errno, absl::StrCat(std::string(op), " ", path));
}

class PosixFile final : public File {
 public:
  PosixFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  ~PosixFile() override { ::close(fd_); }

  absl::Status Append(std::span<const uint8_t> data) override {
    const uint8_t* p = data.data();
    size_t left = data.size();
    while (left > 0) {
      const ssize_t n = ::write(fd_, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError("write", path_);
      }
      p += n;
      left -= static_cast<size_t>(n);
      size_.fetch_add(static_cast<uint64_t>(n), std::memory_order_release);
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const override {
    size_t done = 0;
    while (done < out.size()) {
      const ssize_t n =
          ::pread(fd_, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
      if (n < 0) {
        if (errno == EINTR) continue;
        return PosixError("read", path_);
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
    }
    return done;
  }

  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return PosixError("fdatasync", path_);
    return absl::OkStatus();
  }

  absl::Status DropCache() override {
    if (const int err = ::posix_fadvise(fd_, 0, 0, POSIX_FADV_DONTNEED); err != 0) {
      errno = err;  // posix_fadvise returns its error instead of setting errno
      return PosixError("posix_fadvise", path_);
    }
    return absl::OkStatus();
  }

  absl::Status Truncate(uint64_t size) override {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return PosixError("ftruncate", path_);
    size_.store(size, std::memory_order_release);
    return absl::OkStatus();
  }

  uint64_t Size() const override { return size_.load(std::memory_order_acquire); }

 private:
  const std::string path_;
  const int fd_;
  std::atomic<uint64_t> size_;
};

class PosixEnv final : public Env {
 public:
  absl::StatusOr<std::unique_ptr<File>> OpenFile(const std::string& path, OpenMode mode) override {
    int flags = O_RDWR | O_APPEND | O_CLOEXEC;
    if (mode == OpenMode::kCreateNew) flags |= O_CREAT | O_EXCL;
    if (mode == OpenMode::kOpenOrCreate) flags |= O_CREAT;
    const int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return PosixError("open", path);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      absl::Status err = PosixError("fstat", path);
      ::close(fd);
      return err;
    }
    return std::make_unique<PosixFile>(path, fd, static_cast<uint64_t>(st.st_size));
  }

  absl::Status RenameFile(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return PosixError("rename", absl::StrCat(from, " to ", to));
    }
    return absl::OkStatus();
  }

  absl::Status DeleteFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return PosixError("unlink", path);
    return absl::OkStatus();
  }

  absl::StatusOr<bool> FileExists(const std::string& path) override {
    if (::access(path.c_str(), F_OK) == 0) return true;
    if (errno == ENOENT) return false;
    return PosixError("access", path);
  }

  absl::Status CreateDirs(const std::string& path) override {
    if (path.empty()) return absl::OkStatus();
    if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return absl::OkStatus();
    if (errno != ENOENT) return PosixError("mkdir", path);
    RETURN_IF_ERROR(CreateDirs(DirName(path)));
    if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return absl::OkStatus();
    return PosixError("mkdir", path);
  }

  absl::Status DeleteDir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0) return PosixError("rmdir", path);
    return absl::OkStatus();
  }

  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* dir = ::opendir(path.c_str());
    if (dir == nullptr) return PosixError("opendir", path);
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = ::readdir(dir)) {
      const std::string_view name(e->d_name);
      if (name != "." && name != "..") names.emplace_back(name);
    }
    const int err = errno;
    ::closedir(dir);
    if (err != 0) return ErrnoToStatus(err, absl::StrCat("readdir ", path));
    std::sort(names.begin(), names.end());
    return names;
  }

  absl::StatusOr<DiskSpace> GetDiskSpace(const std::string& path) override {
    struct statvfs fs;
    if (::statvfs(path.c_str(), &fs) != 0) return PosixError("statvfs", path);
    return DiskSpace{.capacity_bytes = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize,
                     .free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize};
  }

  absl::Status SyncDir(const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return PosixError("open", path);
    const int rc = ::fsync(fd);
    absl::Status st = rc == 0 ? absl::OkStatus() : PosixError("fsync", path);
    ::close(fd);
    return st;
  }
};

}  // namespace

Env* Env::Default() {
  static PosixEnv* env = new PosixEnv();
  return env;
}

}  // namespace samsa::storage
