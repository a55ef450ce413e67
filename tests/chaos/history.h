// A Jepsen-style history of a workload against a cluster, and the checker
// that turns it into anomaly counts (issue: fault tolerance proven).
//
// Writers record each send (a value unique across the run) and its outcome:
// ok with its partition and offset, a definite error, or unknown (the
// client gave up without knowing). Readers record every poll, per
// partition. After the faults stop, a final full read of every partition
// is the ground truth the checker compares the history with.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace samsa::chaos {

struct Write {
  enum class Outcome { kPending, kOk, kError, kUnknown };
  std::string value;
  absl::Time invoked;
  absl::Time completed = absl::InfinitePast();
  Outcome outcome = Outcome::kPending;
  int32_t partition = -1;  // with kOk
  int64_t offset = -1;     // with kOk
  std::string error = {};  // with kError / kUnknown
};

struct Poll {
  int reader = 0;
  bool group = false;  // a group member's: it may re-read after a rebalance
  int32_t partition = 0;
  absl::Time at;
  std::vector<std::pair<int64_t, std::string>> records;  // (offset, value), as returned
};

// A group's committed offset of a partition, as OffsetFetch saw it.
struct CommitRead {
  int32_t partition = 0;
  absl::Time at;
  int64_t offset = 0;
};

// Thread-safe: writers and readers append concurrently.
class History {
 public:
  // Returns the write's index, for Complete.
  size_t Invoke(std::string value, absl::Time now);
  void Complete(size_t index, Write::Outcome outcome, int32_t partition, int64_t offset,
                std::string error, absl::Time now);
  void AddPoll(Poll poll);
  void AddCommitRead(CommitRead read);

  std::vector<Write> writes() const;
  std::vector<Poll> polls() const;
  std::vector<CommitRead> commit_reads() const;
  // One JSON object per line (writes, then polls, then commit reads), for
  // reading a failed run.
  std::string ToJsonLines() const;

 private:
  mutable absl::Mutex mu_;
  std::vector<Write> writes_ ABSL_GUARDED_BY(mu_);
  std::vector<Poll> polls_ ABSL_GUARDED_BY(mu_);
  std::vector<CommitRead> commit_reads_ ABSL_GUARDED_BY(mu_);
};

// Per partition, every (offset, value) of the final full read.
using FinalRead = std::map<int32_t, std::vector<std::pair<int64_t, std::string>>>;

struct Report {
  int64_t acked = 0;               // writes answered ok
  int64_t failed = 0;              // definite errors (may or may not be absent)
  int64_t unknown = 0;             // outcome unknown
  int64_t lost = 0;                // acked but not in the final read
  int64_t duplicated = 0;          // values at more than one offset in the final read
  int64_t inconsistent = 0;        // an offset seen with two values (polls, acks, final read)
  int64_t non_monotonic = 0;       // a reader's poll of a partition going backwards or skipping
  int64_t commit_regressions = 0;  // a committed offset read lower than before
  absl::Duration max_unavailable = absl::ZeroDuration();  // longest time without an ack
  std::vector<std::string> examples;                      // the first few anomalies, readable

  int64_t anomalies() const {
    return lost + duplicated + inconsistent + non_monotonic + commit_regressions;
  }
  std::string ToString() const;
};

// `start`..`end`: the workload's span, for the unavailability window.
Report Check(const History& history, const FinalRead& final_read, absl::Time start, absl::Time end);

}  // namespace samsa::chaos
