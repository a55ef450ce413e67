// LogManager: every partition log of a broker, across its data directories.
//
// Layout. Each data directory holds one directory per partition replica,
// `<topic>-<partition>` (partition_log.h), plus:
//   .clean-shutdown   empty; written (atomically) by Close() after every
//                     partition in the directory was sealed; read and
//                     deleted by Open(). Present: no partition in the
//                     directory needs a recovery scan.
//   <topic>-<partition>.<nonce>-delete
//                     a deleted partition waiting for removal, which the
//                     LogDeleter does in the background in small steps
//                     (log_deleter.h); Open() hands leftovers to it again.
//                     The rename is the commit point: a crash after it never
//                     brings the partition back.
//
// Start-up. Open() reads every directory and opens all partitions with a
// small pool of threads. A directory that cannot be read, or holds a
// partition that cannot be opened (an I/O error or data it cannot trust),
// goes offline as a whole, with the error kept for operators; the others
// serve. Open fails only when every directory is offline.
//
// Descriptors. Segment files are opened through one FileCache of
// `max_open_files` handles, so the number of partitions does not bound
// anything but memory.
//
// Flushing. Each directory has a Flusher (flusher.h); WaitDurable routes to
// it. Retention runs when the owner calls ApplyRetention (the broker does it
// every log.retention.check.interval.ms). Compaction runs on the manager's
// LogCleaner threads (log_cleaner.h), over every log it holds.
//
// Thread-safe. Logs handed out by GetOrCreate stay valid until Delete() or
// Close(); those from Acquire as long as their holders keep them.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "common/clock.h"
#include "common/ids.h"
#include "storage/env.h"
#include "storage/file_cache.h"
#include "storage/flusher.h"
#include "storage/log_cleaner.h"
#include "storage/log_config.h"
#include "storage/log_deleter.h"
#include "storage/log_dir.h"
#include "storage/partition_log.h"

namespace samsa::storage {

struct TopicPartitionName {
  std::string topic;
  PartitionId partition;
  auto operator<=>(const TopicPartitionName&) const = default;
  template <typename H>
  friend H AbslHashValue(H h, const TopicPartitionName& tp) {
    return H::combine(std::move(h), tp.topic, tp.partition);
  }
};

// "<topic>-<partition>" and back; nullopt for names that are not partition
// directories.
std::string PartitionDirName(const TopicPartitionName& tp);
std::optional<TopicPartitionName> ParsePartitionDirName(std::string_view name);

struct LogManagerOptions {
  std::vector<std::string> dirs;
  LogConfig default_config;
  size_t max_open_files = 1024;
  int open_threads = 2;
  Env* env = nullptr;      // must outlive the manager
  Clock* clock = nullptr;  // must outlive the manager
  // Each log's fsync durations (PartitionLog::Options::on_sync).
  std::function<void(absl::Duration)> on_sync = nullptr;
  // The log cleaner's threads start with the manager (if enabled).
  LogCleanerOptions cleaner;
};

class LogManager {
 public:
  static absl::StatusOr<std::unique_ptr<LogManager>> Open(LogManagerOptions options);
  // Without Close(), nothing is written (as in a crash).
  ~LogManager();

  // The log of `tp`, or nullptr.
  PartitionLog* Get(const TopicPartitionName& tp) const;
  // The log of `tp`, created in the online directory with the fewest
  // partitions when absent.
  absl::StatusOr<PartitionLog*> GetOrCreate(const TopicPartitionName& tp, const LogConfig& config);
  // As GetOrCreate, sharing ownership: after Delete() the object stays
  // alive for its holders, every call on it failing (FAILED_PRECONDITION),
  // so a request or a fetcher still holding the partition never touches
  // freed memory.
  absl::StatusOr<std::shared_ptr<PartitionLog>> Acquire(const TopicPartitionName& tp,
                                                        const LogConfig& config);
  // Removes `tp`'s log; its files go in the background (crash-safe, see
  // above).
  absl::Status Delete(const TopicPartitionName& tp);

  std::vector<TopicPartitionName> partitions() const;

  // Calls `done` once `log` is durable through `end` (flusher.h).
  void WaitDurable(PartitionLog* log, Offset end, Flusher::Callback done);

  // Applies retention to every partition; returns segments deleted.
  int ApplyRetention(absl::Time now);

  // The log cleaner of the compacted partitions (log_cleaner.h).
  LogCleaner& cleaner() { return *cleaner_; }

  // Directories that are offline, with their errors.
  std::vector<std::pair<std::string, absl::Status>> offline_dirs() const;
  const FileCache& files() const { return *files_; }

  // Seals every partition and marks each online directory clean.
  absl::Status Close();

 private:
  struct Dir {
    std::string path;
    std::unique_ptr<LogDirHealth> health;
    std::unique_ptr<Flusher> flusher;
    size_t partitions = 0;
  };
  struct Entry {
    std::shared_ptr<PartitionLog> log;
    Dir* dir;
  };

  explicit LogManager(LogManagerOptions options);
  absl::Status LoadDir(Dir& dir);
  // Options of a log in `dir` (clean_shutdown left false).
  PartitionLog::Options LogOptions(Dir& dir, const LogConfig& config) const;

  const LogManagerOptions options_;
  std::unique_ptr<FileCache> files_;
  std::vector<std::unique_ptr<Dir>> dirs_;
  std::unique_ptr<LogCleaner> cleaner_;
  std::unique_ptr<LogDeleter> deleter_;
  mutable absl::Mutex mu_;
  std::map<TopicPartitionName, Entry> logs_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<const PartitionLog*, Dir*> dir_of_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace samsa::storage
