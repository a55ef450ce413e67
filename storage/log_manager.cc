#include "storage/log_manager.h"

#include <atomic>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/logging.h"
#include "common/status.h"
#include "common/string_view.h"

namespace samsa::storage {
namespace {

constexpr char kCleanShutdownFile[] = ".clean-shutdown";
constexpr std::string_view kDeleteSuffix = "-delete";

}  // namespace

std::string PartitionDirName(const TopicPartitionName& tp) {
  return absl::StrCat(tp.topic, "-", tp.partition.value());
}

std::optional<TopicPartitionName> ParsePartitionDirName(std::string_view name) {
  const size_t dash = name.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 == name.size()) return std::nullopt;
  const std::string_view digits = name.substr(dash + 1);
  int32_t partition = 0;
  if (!std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      !absl::SimpleAtoi(ToAbsl(digits), &partition)) {
    return std::nullopt;
  }
  return TopicPartitionName{std::string(name.substr(0, dash)), PartitionId(partition)};
}

LogManager::LogManager(LogManagerOptions options)
    : options_(std::move(options)),
      files_(std::make_unique<FileCache>(options_.env, options_.max_open_files)) {}

LogManager::~LogManager() {
  // Cleaner and flusher threads call into logs: stop them first.
  if (cleaner_ != nullptr) cleaner_->Stop();
  for (auto& dir : dirs_) dir->flusher.reset();
}

PartitionLog::Options LogManager::LogOptions(Dir& dir, const LogConfig& config) const {
  return {config, files_.get(), dir.health.get(), options_.clock, false, options_.on_sync};
}

absl::StatusOr<std::unique_ptr<LogManager>> LogManager::Open(LogManagerOptions options) {
  SAMSA_CHECK(options.env != nullptr && options.clock != nullptr)
      << "LogManager needs env and clock";
  if (options.dirs.empty()) return absl::InvalidArgumentError("no data directories configured");
  std::unique_ptr<LogManager> mgr(new LogManager(std::move(options)));
  mgr->deleter_ = std::make_unique<LogDeleter>(LogDeleterOptions{.env = mgr->options_.env});
  const FlushPolicy& policy = mgr->options_.default_config.flush_policy;
  const absl::Duration interval =
      policy.kind == FlushPolicy::Kind::kInterval ? policy.interval : absl::Seconds(1);
  std::vector<std::string> errors;
  for (const std::string& path : mgr->options_.dirs) {
    auto dir = std::make_unique<Dir>();
    dir->path = path;
    dir->health = std::make_unique<LogDirHealth>(path);
    dir->flusher = std::make_unique<Flusher>(interval);
    if (absl::Status st = mgr->LoadDir(*dir); !st.ok()) {
      errors.push_back(dir->health->Fail(st).ToString());
    }
    mgr->dirs_.push_back(std::move(dir));
  }
  if (errors.size() == mgr->dirs_.size()) {
    return absl::UnavailableError(
        absl::StrCat("every data directory is offline: ", absl::StrJoin(errors, "; ")));
  }
  LogManager* m = mgr.get();
  mgr->cleaner_ = std::make_unique<LogCleaner>(mgr->options_.cleaner, mgr->options_.clock, [m] {
    std::vector<std::pair<std::string, std::shared_ptr<PartitionLog>>> logs;
    absl::MutexLock lock(&m->mu_);
    for (const auto& [tp, entry] : m->logs_) logs.emplace_back(PartitionDirName(tp), entry.log);
    return logs;
  });
  mgr->cleaner_->Start();
  return mgr;
}

absl::Status LogManager::LoadDir(Dir& dir) {
  Env* env = options_.env;
  RETURN_IF_ERROR(env->CreateDirs(dir.path));
  ASSIGN_OR_RETURN(std::vector<std::string> names, env->ListDir(dir.path));
  bool clean = false;
  std::vector<std::pair<TopicPartitionName, std::string>> todo;
  for (const std::string& name : names) {
    if (name == kCleanShutdownFile) {
      clean = true;
    } else if (name.ends_with(kDeleteSuffix)) {
      deleter_->Remove(JoinPath(dir.path, name));
    } else if (auto tp = ParsePartitionDirName(name)) {
      todo.emplace_back(std::move(*tp), JoinPath(dir.path, name));
    }
  }

  // Open in parallel; the first failure takes the whole directory down.
  std::vector<absl::StatusOr<std::unique_ptr<PartitionLog>>> opened(todo.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < todo.size(); i = next++) {
      PartitionLog::Options o = LogOptions(dir, options_.default_config);
      o.clean_shutdown = clean;
      opened[i] = PartitionLog::Open(todo[i].second, std::move(o));
    }
  };
  std::vector<std::thread> threads;
  const int n = std::max(1, std::min<int>(options_.open_threads, static_cast<int>(todo.size())));
  for (int i = 1; i < n; ++i) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  for (size_t i = 0; i < todo.size(); ++i) {
    if (!opened[i].ok()) {
      return absl::Status(opened[i].status().code(), absl::StrCat("opening ", todo[i].second, ": ",
                                                                  opened[i].status().message()));
    }
  }

  if (clean) {
    RETURN_IF_ERROR(env->DeleteFile(JoinPath(dir.path, kCleanShutdownFile)));
    RETURN_IF_ERROR(env->SyncDir(dir.path));
  }
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < todo.size(); ++i) {
    PartitionLog* log = opened[i]->get();
    if (log->config().flush_policy.kind == FlushPolicy::Kind::kInterval) dir.flusher->Register(log);
    dir_of_[log] = &dir;
    logs_[todo[i].first] = Entry{std::move(*opened[i]), &dir};
    ++dir.partitions;
  }
  SAMSA_LOG(INFO) << "opened " << todo.size() << " partition(s) in " << dir.path
                  << (clean ? " after a clean shutdown" : " after recovery");
  return absl::OkStatus();
}

PartitionLog* LogManager::Get(const TopicPartitionName& tp) const {
  absl::MutexLock lock(&mu_);
  auto it = logs_.find(tp);
  return it == logs_.end() ? nullptr : it->second.log.get();
}

absl::StatusOr<PartitionLog*> LogManager::GetOrCreate(const TopicPartitionName& tp,
                                                      const LogConfig& config) {
  absl::StatusOr<std::shared_ptr<PartitionLog>> log = Acquire(tp, config);
  if (!log.ok()) return log.status();
  return log->get();
}

absl::StatusOr<std::shared_ptr<PartitionLog>> LogManager::Acquire(const TopicPartitionName& tp,
                                                                  const LogConfig& config) {
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::FailedPreconditionError("log manager is closed");
  if (auto it = logs_.find(tp); it != logs_.end()) return it->second.log;
  Dir* best = nullptr;
  for (auto& d : dirs_) {
    if (!d->health->offline() && (best == nullptr || d->partitions < best->partitions))
      best = d.get();
  }
  if (best == nullptr) return absl::UnavailableError("every data directory is offline");
  auto log =
      PartitionLog::Open(JoinPath(best->path, PartitionDirName(tp)), LogOptions(*best, config));
  if (!log.ok()) return best->health->Fail(log.status());
  std::shared_ptr<PartitionLog> shared = *std::move(log);
  if (config.flush_policy.kind == FlushPolicy::Kind::kInterval) {
    best->flusher->Register(shared.get());
  }
  dir_of_[shared.get()] = best;
  logs_[tp] = Entry{shared, best};
  ++best->partitions;
  return shared;
}

absl::Status LogManager::Delete(const TopicPartitionName& tp) {
  Entry entry;
  {
    absl::MutexLock lock(&mu_);
    auto it = logs_.find(tp);
    if (it == logs_.end()) {
      return absl::NotFoundError(absl::StrCat("no log for ", PartitionDirName(tp)));
    }
    entry = std::move(it->second);
    logs_.erase(it);
    dir_of_.erase(entry.log.get());
    --entry.dir->partitions;
  }
  const std::string path = entry.log->dir();
  entry.dir->flusher->Unregister(entry.log.get());
  entry.log->Abandon();  // holders of the object get errors from now on
  entry.log.reset();     // its files close with the last holder
  const std::string doomed =
      absl::StrCat(path, ".", absl::ToUnixNanos(options_.clock->Now()), ToAbsl(kDeleteSuffix));
  Env* env = options_.env;
  if (absl::Status st = env->RenameFile(path, doomed); !st.ok()) return entry.dir->health->Fail(st);
  if (absl::Status st = env->SyncDir(entry.dir->path); !st.ok()) {
    return entry.dir->health->Fail(st);
  }
  deleter_->Remove(doomed);
  return absl::OkStatus();
}

std::vector<TopicPartitionName> LogManager::partitions() const {
  absl::MutexLock lock(&mu_);
  std::vector<TopicPartitionName> out;
  out.reserve(logs_.size());
  for (const auto& [tp, entry] : logs_) out.push_back(tp);
  return out;
}

void LogManager::WaitDurable(PartitionLog* log, Offset end, Flusher::Callback done) {
  Flusher* flusher = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (auto it = dir_of_.find(log); it != dir_of_.end()) flusher = it->second->flusher.get();
  }
  if (flusher == nullptr) {
    done(absl::NotFoundError("log is not managed here"));
    return;
  }
  flusher->WaitDurable(log, end, std::move(done));
}

int LogManager::ApplyRetention(absl::Time now) {
  std::vector<std::shared_ptr<PartitionLog>> logs;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [tp, entry] : logs_) logs.push_back(entry.log);
  }
  int deleted = 0;
  for (const std::shared_ptr<PartitionLog>& log : logs) {
    // A failure has taken the log's directory offline; its partitions report it.
    if (absl::StatusOr<int> n = log->ApplyRetention(now); n.ok()) deleted += *n;
  }
  return deleted;
}

std::vector<std::pair<std::string, absl::Status>> LogManager::offline_dirs() const {
  std::vector<std::pair<std::string, absl::Status>> out;
  for (const auto& d : dirs_) {
    if (d->health->offline()) out.emplace_back(d->path, d->health->status());
  }
  return out;
}

absl::Status LogManager::Close() {
  cleaner_->Stop();
  absl::MutexLock lock(&mu_);
  if (closed_) return absl::OkStatus();
  closed_ = true;
  for (auto& d : dirs_) d->flusher.reset();
  for (auto& [tp, entry] : logs_) {
    // A failure takes the directory offline, which keeps it from being
    // marked clean below.
    (void)entry.log->Close();
  }
  absl::Status result;
  for (auto& d : dirs_) {
    if (d->health->offline()) continue;
    if (absl::Status st =
            options_.env->WriteFileAtomically(JoinPath(d->path, kCleanShutdownFile), "");
        !st.ok()) {
      result.Update(d->health->Fail(st));
    }
  }
  return result;
}

}  // namespace samsa::storage
