// LogCleaner: the threads that compact the logs of compacted topics
// (cleanup.policy=compact or compact,delete), after Kafka's LogCleaner.
//
// Each thread loops: it picks the log most in need of cleaning, runs one
// LogCompactor pass over it, and when no log needs one sleeps
// log.cleaner.backoff.ms. A log needs a pass when it has dirty (not yet
// cleaned) bytes in its cleanable range and either its dirty ratio has
// reached min.cleanable.dirty.ratio or its oldest dirty record is older
// than max.compaction.lag.ms; overdue logs go first, the most overdue
// first, then the dirtiest. A log is cleaned by one thread at a time.
// Every thread shares one I/O budget (log.cleaner.io.max.bytes.per.second)
// and gets an equal share of log.cleaner.dedupe.buffer.size for its key map.
//
// Failures. A pass that fails because the log's directory went offline or
// the log was closed or deleted is nobody's fault here: the log is skipped.
// Any other failure (a batch that does not decode, say) marks the log
// uncleanable, with the reason logged and kept for operators; the cleaner
// goes on with the others, and the log is retried only after a restart.
//
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "storage/io_throttle.h"
#include "storage/log_compactor.h"
#include "storage/partition_log.h"

namespace samsa::storage {

struct LogCleanerOptions {
  bool enable = true;                              // log.cleaner.enable
  int threads = 1;                                 // log.cleaner.threads
  double io_max_bytes_per_second = 0;              // <= 0: unlimited
  size_t dedupe_buffer_bytes = size_t{128} << 20;  // log.cleaner.dedupe.buffer.size
  absl::Duration backoff = absl::Seconds(15);      // log.cleaner.backoff.ms
};

// What the cleaner has done, for metrics. Counters are totals since start.
struct CleanerMetrics {
  uint64_t bytes_read = 0;
  uint64_t bytes_written = 0;
  int64_t records_removed = 0;
  int64_t passes = 0;
  int64_t errors = 0;
  size_t uncleanable_logs = 0;
  // Over the compacted logs, as of the last time a thread looked.
  double max_dirty_ratio = 0;
  absl::Duration max_time_since_last_clean;
  absl::Duration throttled;
};

class LogCleaner {
 public:
  // The logs to consider, by name; called once per pick.
  using LogSource =
      std::function<std::vector<std::pair<std::string, std::shared_ptr<PartitionLog>>>()>;

  // `clock` must outlive the cleaner. Threads start with Start().
  LogCleaner(LogCleanerOptions options, Clock* clock, LogSource logs);
  // Stops the threads.
  ~LogCleaner();

  void Start();
  // Waits for passes in progress to finish; idempotent.
  void Stop();

  // Picks and cleans one log on the calling thread: the log's name, or
  // nullopt when none needed a pass.
  std::optional<std::string> CleanOnce();

  CleanerMetrics metrics() const;
  // Logs marked uncleanable, with the reason.
  std::map<std::string, std::string> uncleanable() const;

 private:
  struct Candidate {
    std::string name;
    std::shared_ptr<PartitionLog> log;
  };
  // The log most in need of a pass, marked in progress.
  std::optional<Candidate> Pick(absl::Time now);
  void Run();

  const LogCleanerOptions options_;
  Clock* const clock_;
  const LogSource logs_;
  IoThrottle throttle_;

  mutable absl::Mutex mu_;
  absl::flat_hash_set<std::string> in_progress_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> uncleanable_ ABSL_GUARDED_BY(mu_);
  // When each log was last cleaned, or first seen.
  absl::flat_hash_map<std::string, absl::Time> last_cleaned_ ABSL_GUARDED_BY(mu_);
  CleanerMetrics metrics_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace samsa::storage
