#include "storage/log_deleter.h"

#include <utility>

#include "common/logging.h"
#include "common/status.h"

namespace samsa::storage {

LogDeleter::LogDeleter(LogDeleterOptions options) : options_(std::move(options)) {
  thread_ = std::thread([this] { Loop(); });
}

LogDeleter::~LogDeleter() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  thread_.join();
}

void LogDeleter::Remove(std::string dir) {
  absl::MutexLock lock(&mu_);
  queue_.push_back(std::move(dir));
}

void LogDeleter::Loop() {
  while (true) {
    std::string dir;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](LogDeleter* d)
               ABSL_EXCLUSIVE_LOCKS_REQUIRED(d->mu_) { return d->stop_ || !d->queue_.empty(); },
          this));
      if (stop_) return;
      dir = std::move(queue_.front());
      queue_.pop_front();
    }
    if (absl::Status st = RemoveTree(dir); !st.ok() && !absl::IsCancelled(st)) {
      SAMSA_LOG(WARNING) << "removing " << dir << ": " << st
                         << "; what is left goes at the next start";
    }
  }
}

absl::Status LogDeleter::RemoveTree(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, options_.env->ListDir(path));
  for (const std::string& name : names) {
    const std::string child = JoinPath(path, name);
    absl::Status st = RemoveFile(child);
    if (absl::IsCancelled(st)) return st;
    // Not a file: a directory, then.
    if (!st.ok()) RETURN_IF_ERROR(RemoveTree(child));
  }
  return options_.env->DeleteDir(path);
}

absl::Status LogDeleter::RemoveFile(const std::string& path) {
  {
    ASSIGN_OR_RETURN(std::unique_ptr<File> file,
                     options_.env->OpenFile(path, OpenMode::kOpenExisting));
    for (uint64_t size = file->Size(); size > options_.chunk_bytes;) {
      size -= options_.chunk_bytes;
      RETURN_IF_ERROR(file->Truncate(size));
      if (!Pause()) return absl::CancelledError("stopping");
    }
  }
  return options_.env->DeleteFile(path);
}

bool LogDeleter::Pause() {
  absl::MutexLock lock(&mu_);
  mu_.AwaitWithTimeout(absl::Condition(&stop_), options_.pause);
  return !stop_;
}

}  // namespace samsa::storage
