#include "storage/fault_env.h"

#include <random>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status.h"

namespace samsa::storage {

class FaultFile final : public File {
 public:
  FaultFile(FaultEnv* env, std::string path, std::unique_ptr<File> base,
            std::shared_ptr<FaultEnv::FileState> state)
      : env_(env), path_(std::move(path)), base_(std::move(base)), state_(std::move(state)) {}

  absl::Status Append(std::span<const uint8_t> data) override {
    RETURN_IF_ERROR(env_->Check(FaultOp::kAppend, path_, FaultEnv::Effect::kChanges));
    {
      absl::MutexLock lock(&env_->mu_);
      env_->last_appended_ = path_;
    }
    return base_->Append(data);
  }

  absl::StatusOr<size_t> ReadAt(uint64_t offset, std::span<uint8_t> out) const override {
    RETURN_IF_ERROR(env_->Check(FaultOp::kRead, path_, FaultEnv::Effect::kReads));
    return base_->ReadAt(offset, out);
  }

  absl::Status Sync() override {
    RETURN_IF_ERROR(env_->Check(FaultOp::kSync, path_, FaultEnv::Effect::kChanges));
    absl::Duration delay;
    {
      absl::MutexLock lock(&env_->mu_);
      delay = env_->sync_delay_;
    }
    absl::SleepFor(delay);
    RETURN_IF_ERROR(base_->Sync());
    absl::MutexLock lock(&env_->mu_);
    state_->synced_size = base_->Size();
    return absl::OkStatus();
  }

  absl::Status DropCache() override { return base_->DropCache(); }

  absl::Status Truncate(uint64_t size) override {
    RETURN_IF_ERROR(env_->Check(FaultOp::kTruncate, path_, FaultEnv::Effect::kChanges));
    RETURN_IF_ERROR(base_->Truncate(size));
    absl::MutexLock lock(&env_->mu_);
    state_->synced_size = std::min(state_->synced_size, size);
    return absl::OkStatus();
  }

  uint64_t Size() const override { return base_->Size(); }

 private:
  FaultEnv* const env_;
  const std::string path_;
  std::unique_ptr<File> base_;
  std::shared_ptr<FaultEnv::FileState> state_;
};

FaultEnv::FaultEnv(Env* base) : base_(base) {}
FaultEnv::~FaultEnv() = default;

void FaultEnv::InjectError(FaultOp op, int err, std::string path_substring, int count) {
  absl::MutexLock lock(&mu_);
  rules_.push_back({op, err, std::move(path_substring), count});
}

void FaultEnv::ClearErrors() {
  absl::MutexLock lock(&mu_);
  rules_.clear();
}

void FaultEnv::SetSyncDelay(absl::Duration delay) {
  absl::MutexLock lock(&mu_);
  sync_delay_ = delay;
}

void FaultEnv::Freeze() {
  absl::MutexLock lock(&mu_);
  frozen_ = true;
}

void FaultEnv::SetCrashAfter(int64_t ops) {
  absl::MutexLock lock(&mu_);
  crash_after_ = ops < 0 ? -1 : mutating_ops_ + ops;
  if (crash_after_ == mutating_ops_) frozen_ = true;
}

int64_t FaultEnv::mutating_ops() const {
  absl::MutexLock lock(&mu_);
  return mutating_ops_;
}

bool FaultEnv::frozen() const {
  absl::MutexLock lock(&mu_);
  return frozen_;
}

absl::Status FaultEnv::Check(FaultOp op, const std::string& path, Effect effect) {
  absl::MutexLock lock(&mu_);
  if (frozen_) return absl::UnavailableError(absl::StrCat("crashed before touching ", path));
  for (auto it = rules_.begin(); it != rules_.end(); ++it) {
    if (it->op != op || path.find(it->path_substring) == std::string::npos) continue;
    const int err = it->err;
    if (--it->remaining == 0) rules_.erase(it);
    return ErrnoToStatus(err, absl::StrCat("injected fault on ", path));
  }
  if (effect == Effect::kChanges) {
    ++mutating_ops_;
    if (crash_after_ >= 0 && mutating_ops_ >= crash_after_) frozen_ = true;
  }
  return absl::OkStatus();
}

std::shared_ptr<FaultEnv::FileState> FaultEnv::StateFor(const std::string& path, uint64_t size) {
  auto& state = files_[path];
  if (state == nullptr) {
    // First sight of a file that existed before: all of it is durable.
    state = std::make_shared<FileState>();
    state->synced_size = size;
  }
  return state;
}

absl::StatusOr<std::unique_ptr<File>> FaultEnv::OpenFile(const std::string& path, OpenMode mode) {
  ASSIGN_OR_RETURN(bool existed, base_->FileExists(path));
  RETURN_IF_ERROR(
      Check(FaultOp::kOpen, path,
            !existed && mode != OpenMode::kOpenExisting ? Effect::kChanges : Effect::kReads));
  ASSIGN_OR_RETURN(std::unique_ptr<File> file, base_->OpenFile(path, mode));
  absl::MutexLock lock(&mu_);
  std::shared_ptr<FileState> state;
  if (existed) {
    state = StateFor(path, file->Size());
  } else {
    state = std::make_shared<FileState>();
    state->entry_durable = false;
    files_[path] = state;
  }
  return std::make_unique<FaultFile>(this, path, std::move(file), std::move(state));
}

absl::Status FaultEnv::RenameFile(const std::string& from, const std::string& to) {
  RETURN_IF_ERROR(Check(FaultOp::kRename, from, Effect::kChanges));
  ASSIGN_OR_RETURN(bool is_dir, IsDir(from));
  RETURN_IF_ERROR(base_->RenameFile(from, to));
  absl::MutexLock lock(&mu_);
  if (is_dir) {
    // Files below a renamed directory keep their state under the new path.
    const std::string prefix = from + "/";
    std::map<std::string, std::shared_ptr<FileState>> moved;
    for (auto& [p, state] : files_) {
      moved[p.starts_with(prefix) ? to + p.substr(from.size()) : p] = std::move(state);
    }
    files_ = std::move(moved);
    return absl::OkStatus();
  }
  auto it = files_.find(from);
  std::shared_ptr<FileState> state;
  if (it != files_.end()) {
    state = it->second;
    files_.erase(it);
  } else {
    state = std::make_shared<FileState>();
    ASSIGN_OR_RETURN(std::unique_ptr<File> f, base_->OpenFile(to, OpenMode::kOpenExisting));
    state->synced_size = f->Size();
  }
  // The new name is not durable until its directory is synced.
  state->entry_durable = false;
  files_[to] = std::move(state);
  return absl::OkStatus();
}

absl::StatusOr<bool> FaultEnv::IsDir(const std::string& path) {
  // A directory is what lists; a file fails to.
  return base_->ListDir(path).ok();
}

absl::Status FaultEnv::DeleteFile(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kDelete, path, Effect::kChanges));
  RETURN_IF_ERROR(base_->DeleteFile(path));
  absl::MutexLock lock(&mu_);
  files_.erase(path);
  return absl::OkStatus();
}

absl::StatusOr<bool> FaultEnv::FileExists(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kOpen, path, Effect::kReads));
  return base_->FileExists(path);
}

absl::Status FaultEnv::CreateDirs(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kOpen, path, Effect::kChanges));
  return base_->CreateDirs(path);
}

absl::Status FaultEnv::DeleteDir(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kDelete, path, Effect::kChanges));
  return base_->DeleteDir(path);
}

absl::StatusOr<std::vector<std::string>> FaultEnv::ListDir(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kListDir, path, Effect::kReads));
  return base_->ListDir(path);
}

absl::Status FaultEnv::SyncDir(const std::string& path) {
  RETURN_IF_ERROR(Check(FaultOp::kSyncDir, path, Effect::kChanges));
  RETURN_IF_ERROR(base_->SyncDir(path));
  absl::MutexLock lock(&mu_);
  for (auto& [p, state] : files_) {
    if (DirName(p) == path) state->entry_durable = true;
  }
  return absl::OkStatus();
}

absl::Status FaultEnv::Crash(CrashMode mode, uint64_t seed) {
  absl::MutexLock lock(&mu_);
  std::mt19937_64 rng(seed);
  for (auto it = files_.begin(); it != files_.end();) {
    const std::string& path = it->first;
    const FileState& state = *it->second;
    if (!state.entry_durable) {
      RETURN_IF_ERROR(base_->DeleteFile(path));
      it = files_.erase(it);
      continue;
    }
    ASSIGN_OR_RETURN(std::unique_ptr<File> f, base_->OpenFile(path, OpenMode::kOpenExisting));
    uint64_t keep = state.synced_size;
    if (mode == CrashMode::kTearLastWrite && path == last_appended_ && f->Size() > keep) {
      keep += rng() % (f->Size() - keep + 1);
    }
    if (keep < f->Size()) RETURN_IF_ERROR(f->Truncate(keep));
    it->second->synced_size = keep;
    ++it;
  }
  last_appended_.clear();
  frozen_ = false;
  crash_after_ = -1;
  rules_.clear();
  return absl::OkStatus();
}

}  // namespace samsa::storage
