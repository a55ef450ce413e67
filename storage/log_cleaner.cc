#include "storage/log_cleaner.h"

#include <algorithm>

#include "common/logging.h"

namespace samsa::storage {

LogCleaner::LogCleaner(LogCleanerOptions options, Clock* clock, LogSource logs)
    : options_(options),
      clock_(clock),
      logs_(std::move(logs)),
      throttle_(options.io_max_bytes_per_second) {}

LogCleaner::~LogCleaner() { Stop(); }

void LogCleaner::Start() {
  if (!options_.enable) return;
  for (int i = 0; i < std::max(options_.threads, 1); ++i) threads_.emplace_back([this] { Run(); });
}

void LogCleaner::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void LogCleaner::Run() {
  while (true) {
    if (CleanOnce().has_value()) {
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
      continue;
    }
    absl::MutexLock lock(&mu_);
    // Sleep out the backoff unless told to stop.
    mu_.AwaitWithTimeout(absl::Condition(&stopping_), options_.backoff);
    if (stopping_) return;
  }
}

std::optional<LogCleaner::Candidate> LogCleaner::Pick(absl::Time now) {
  std::vector<std::pair<std::string, std::shared_ptr<PartitionLog>>> logs = logs_();
  std::optional<Candidate> best;
  absl::Duration best_overdue = absl::ZeroDuration();
  double best_ratio = -1;
  double max_ratio = 0;
  absl::Duration max_since = absl::ZeroDuration();
  absl::MutexLock lock(&mu_);
  for (auto& [name, log] : logs) {
    const LogConfig config = log->config();
    if (!config.cleanup_policy.compact) continue;
    auto [seen, inserted] = last_cleaned_.try_emplace(name, now);
    max_since = std::max(max_since, now - seen->second);
    if (uncleanable_.contains(name) || in_progress_.contains(name)) continue;
    absl::StatusOr<PartitionLog::CleanerView> view = log->ViewForCleaning();
    if (!view.ok()) continue;  // closed, deleted or offline: not ours to report
    absl::StatusOr<CleanableRange> range = ComputeCleanable(*view, now);
    if (!range.ok() || range->dirty_bytes == 0) continue;
    const double ratio = range->dirty_ratio();
    max_ratio = std::max(max_ratio, ratio);
    absl::Duration overdue = absl::ZeroDuration();
    if (range->first_dirty_timestamp.has_value() &&
        config.max_compaction_lag != absl::InfiniteDuration()) {
      overdue =
          now - absl::FromUnixMillis(*range->first_dirty_timestamp) - config.max_compaction_lag;
    }
    const bool due = overdue > absl::ZeroDuration() || ratio >= config.min_cleanable_dirty_ratio;
    if (!due) continue;
    const bool better = overdue > absl::ZeroDuration()
                            ? overdue > best_overdue
                            : best_overdue == absl::ZeroDuration() && ratio > best_ratio;
    if (!best.has_value() || better) {
      best = Candidate{name, log};
      best_overdue = std::max(overdue, absl::ZeroDuration());
      best_ratio = ratio;
    }
  }
  // Forget logs that are gone (deleted, or moved off this broker).
  absl::flat_hash_set<std::string> names;
  for (const auto& [name, log] : logs) names.insert(name);
  absl::erase_if(last_cleaned_, [&](const auto& e) { return !names.contains(e.first); });
  metrics_.max_dirty_ratio = max_ratio;
  metrics_.max_time_since_last_clean = max_since;
  if (best.has_value()) in_progress_.insert(best->name);
  return best;
}

std::optional<std::string> LogCleaner::CleanOnce() {
  const absl::Time now = clock_->Now();
  std::optional<Candidate> picked = Pick(now);
  if (!picked.has_value()) return std::nullopt;
  const size_t threads = static_cast<size_t>(std::max(options_.threads, 1));
  LogCompactor compactor(options_.dedupe_buffer_bytes / threads, &throttle_);
  const absl::Time start = MonotonicNow();
  absl::StatusOr<CleanStats> stats = compactor.Clean(*picked->log, now);
  const absl::Duration took = MonotonicNow() - start;

  absl::MutexLock lock(&mu_);
  in_progress_.erase(picked->name);
  metrics_.throttled = throttle_.throttled();
  if (stats.ok()) {
    ++metrics_.passes;
    metrics_.bytes_read += stats->bytes_read;
    metrics_.bytes_written += stats->bytes_written;
    metrics_.records_removed += stats->records_removed;
    if (!stats->aborted) last_cleaned_[picked->name] = now;
    SAMSA_LOG(INFO) << "cleaned " << picked->name << " up to offset " << stats->clean_end.value()
                    << ": " << stats->bytes_read << " bytes read, " << stats->bytes_written
                    << " written, " << stats->records_removed << " records removed, "
                    << stats->segments_replaced << " segment(s) replaced, " << stats->map_keys
                    << " keys, in " << took << (stats->aborted ? " (stopped early)" : "");
    return picked->name;
  }
  const absl::StatusCode code = stats.status().code();
  if (code == absl::StatusCode::kFailedPrecondition || code == absl::StatusCode::kUnavailable) {
    return picked->name;  // the log was closed or deleted, or its directory went offline
  }
  ++metrics_.errors;
  uncleanable_[picked->name] = stats.status().ToString();
  metrics_.uncleanable_logs = uncleanable_.size();
  SAMSA_LOG(ERROR) << "log cleaner: " << picked->name
                   << " is marked uncleanable and will not be compacted until a restart: "
                   << stats.status();
  return picked->name;
}

CleanerMetrics LogCleaner::metrics() const {
  absl::MutexLock lock(&mu_);
  return metrics_;
}

std::map<std::string, std::string> LogCleaner::uncleanable() const {
  absl::MutexLock lock(&mu_);
  return uncleanable_;
}

}  // namespace samsa::storage
