// Consumer: reads assigned partitions from their leaders (Kafka's
// KafkaConsumer with manual assignment; consumer groups build on Assign).
//
//   auto consumer = Consumer::Create({.bootstrap = "127.0.0.1:9092",
//                                     .auto_offset_reset = OffsetReset::kEarliest});
//   (*consumer)->Assign({{"clicks", 0}, {"clicks", 1}});
//   while (...) for (const ConsumerRecord& r : *(*consumer)->Poll(absl::Seconds(1))) ...
//
// Positions: each assigned partition has a position, the offset of the next
// record Poll returns. A new assignment has none until Seek sets it or it
// is reset by auto_offset_reset (ListOffsets: the log start for earliest,
// the high watermark for latest); a position outside the log
// (OFFSET_OUT_OF_RANGE) is reset the same way, or with kNone is an error
// Poll returns.
//
// Pipelining: a background thread keeps one fetch in flight per leader
// broker, long-polled (fetch_max_wait, fetch_min_bytes), for every assigned,
// unpaused partition whose buffered records are below
// max_partition_fetch_bytes; decoded records wait in per-partition buffers,
// so the next fetch is on the wire while the application handles the last.
// Seek, Pause and a new assignment discard what was buffered for the
// partitions they touch (answers to fetches sent before are dropped).
//
// Records are decoded and checked (CRC, framing, decompression) here; a
// corrupt batch is an error Poll returns. Thread-safe; Poll is meant for one
// thread at a time.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/metadata.h"
#include "client/transport.h"
#include "common/await.h"
#include "common/clock.h"

namespace samsa::client {

class GroupMember;

enum class OffsetReset { kEarliest, kLatest, kNone };

struct ConsumerConfig {
  std::string bootstrap = "127.0.0.1:9092";
  // Consumer groups (Subscribe): the group, and whether positions are
  // committed every auto_commit_interval (those that moved since the last
  // commit), when partitions are revoked (likewise) and on Close.
  std::string group_id = {};
  std::string client_id = "samsa";
  // group.instance.id: a static member keeps its partitions across a
  // restart within the session timeout (Close leaves for a restart). Two
  // running consumers must not share one.
  std::string group_instance_id = {};
  // How long Poll may go uncalled while partitions wait to be revoked
  // before the coordinator removes this member (max.poll.interval.ms).
  absl::Duration rebalance_timeout = absl::Minutes(5);
  bool enable_auto_commit = true;
  absl::Duration auto_commit_interval = absl::Seconds(5);
  OffsetReset auto_offset_reset = OffsetReset::kLatest;
  int32_t fetch_max_bytes = 50 << 20;           // per fetch request
  int32_t max_partition_fetch_bytes = 1 << 20;  // per partition per fetch
  int32_t fetch_min_bytes = 1;
  absl::Duration fetch_max_wait = absl::Milliseconds(500);
  int max_poll_records = 500;
  absl::Duration request_timeout = absl::Seconds(30);
  absl::Duration retry_backoff = absl::Milliseconds(100);
};

struct TopicPartition {
  std::string topic;
  int32_t partition = 0;

  friend bool operator==(const TopicPartition&, const TopicPartition&) = default;
  friend auto operator<=>(const TopicPartition&, const TopicPartition&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const TopicPartition& tp) {
    return H::combine(std::move(h), tp.topic, tp.partition);
  }
};

// What a group member is told when its partitions change. Called from Poll,
// on the polling thread: every record Poll returned for a partition was
// handled before the partition is revoked.
struct RebalanceListener {
  // Before revoked partitions are committed (with auto-commit) and released,
  // and in Close for all it holds; a consumer committing by hand commits
  // them here.
  std::function<void(const std::vector<TopicPartition>&)> on_revoked = nullptr;
  // After new partitions were added, at the group's committed offsets.
  std::function<void(const std::vector<TopicPartition>&)> on_assigned = nullptr;
  // Partitions taken away without a chance to commit: the member was fenced
  // (its session expired); they may already be another member's.
  std::function<void(const std::vector<TopicPartition>&)> on_lost = nullptr;
};

struct ConsumerRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;
  std::optional<std::string> key;
  std::optional<std::string> value;
  std::vector<std::pair<std::string, std::optional<std::string>>> headers;
};

class Consumer {
 public:
  static absl::StatusOr<std::unique_ptr<Consumer>> Create(
      ConsumerConfig config, std::shared_ptr<Transport> transport = nullptr);
  ~Consumer();

  // Replaces the assignment; partitions kept keep their positions.
  void Assign(std::vector<TopicPartition> partitions);
  // Joins config.group_id subscribed to `topics` (instead of Assign): the
  // group's coordinator assigns the partitions, which start at the group's
  // committed offsets (else auto_offset_reset). Assignment changes take
  // effect in Poll (see RebalanceListener): a partition taken away is
  // committed first (with auto-commit) and dropped. With auto-commit, Poll
  // commits what the polls before it returned every auto_commit_interval.
  absl::Status Subscribe(std::vector<std::string> topics, RebalanceListener listener = {});
  // Commits the positions of the partitions the group gave this consumer,
  // retrying while the coordinator moves or loads, for at most `timeout`.
  absl::Status Commit(absl::Duration timeout);
  std::vector<TopicPartition> assignment() const;

  // The next Poll returns records of `tp` from `offset`.
  absl::Status Seek(const TopicPartition& tp, int64_t offset);
  // The offset of the next record Poll returns for `tp`, resolving a reset
  // first (waiting at most `timeout`).
  absl::StatusOr<int64_t> Position(const TopicPartition& tp, absl::Duration timeout);
  // The log start (earliest) or high watermark (latest) of `tp`.
  absl::StatusOr<int64_t> ListOffset(const TopicPartition& tp, bool earliest,
                                     absl::Duration timeout);

  // Records fetched since the last call, at most max_poll_records, waiting
  // up to `timeout` for some; empty when none came. An error (a partition
  // that cannot be read) is returned once.
  absl::StatusOr<std::vector<ConsumerRecord>> Poll(absl::Duration timeout);

  void Pause(const std::vector<TopicPartition>& partitions) { SetPaused(partitions, true); }
  void Resume(const std::vector<TopicPartition>& partitions) { SetPaused(partitions, false); }

  // Stops fetching and waits for fetches in flight; in a group, commits
  // (with auto-commit) the positions that moved since the last commit and
  // leaves it first (a static member leaves for a restart: its partitions
  // wait for it until its session expires). The commit and the leave give
  // up once `timeout` has passed since the call; Close() allows
  // request_timeout. Calls still in flight then (a fetch to a broker that
  // does not answer) are cancelled when the consumer made its own
  // transport; on a transport passed to Create they run to their deadline.
  void Close(absl::Duration timeout);
  void Close() { Close(config_.request_timeout); }

 private:
  struct Partition {
    std::optional<int64_t> position;  // the next record Poll returns
    int64_t fetch_offset = 0;         // the next record to fetch
    bool paused = false;
    bool in_flight = false;  // a fetch or offset lookup is out for it
    uint64_t epoch = 0;      // bumped by Seek: older answers are dropped
    std::deque<ConsumerRecord> buffer;
    int64_t buffered_bytes = 0;
    absl::Time retry_at = absl::InfinitePast();
  };

  // `own_transport`: `transport` when Create made it (Close may cancel its
  // calls), else null.
  Consumer(ConsumerConfig config, std::shared_ptr<Transport> transport,
           GrpcTransport* own_transport, std::vector<std::string> bootstrap);
  // In Poll: the group member adopts what changed (group_member.h).
  void ApplyGroupChanges();
  // The positions of `partitions` that have one.
  std::map<TopicPartition, int64_t> PositionsOf(const std::vector<TopicPartition>& partitions);
  void SetPaused(const std::vector<TopicPartition>& partitions, bool paused);
  void Loop();
  // What can be sent now (offset lookups, one fetch per broker), marked in
  // flight; the calls to make once mu_ is released.
  std::vector<absl::AnyInvocable<void()>> Dispatch(absl::Time now, bool* need_metadata)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void StartListOffset(const TopicPartition& tp, bool earliest,
                       absl::AnyInvocable<void(absl::StatusOr<int64_t>)> done);
  // A partition's fetch as sent: the Seek epoch and the offset asked for.
  struct Sent {
    uint64_t epoch = 0;
    int64_t offset = 0;
  };
  // One partition's records out of a fetch answer, decoded before mu_ is
  // taken (Poll hands out earlier records meanwhile).
  struct Decoded {
    std::deque<ConsumerRecord> records;
    int64_t bytes = 0;        // keys and values
    int64_t next_offset = 0;  // after the last whole batch decoded
    absl::Status status;      // why decoding stopped early
  };
  void OnFetch(const std::string& address, const std::map<TopicPartition, Sent>& sent,
               const absl::StatusOr<v1::FetchResponse>& response);
  // Decodes `records` (whole batches) from offset `from` on.
  static Decoded Decode(const TopicPartition& tp, int64_t from, const std::string& records);
  // The partition failed with `error`: retry later (or report it).
  void OnPartitionError(const TopicPartition& tp, Partition& p, const absl::Status& error,
                        bool* need_metadata) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ConsumerConfig config_;
  const std::shared_ptr<Transport> transport_;
  GrpcTransport* const own_transport_;
  Metadata metadata_;
  std::thread thread_;

  // Waits on mu_ (Poll's, Position's, the fetch loop's) are timed on the
  // monotonic clock: sections that change what they wait for hold mu_
  // through a NotifyingLock on changed_.
  mutable absl::Mutex mu_;
  Wakeup changed_;
  std::map<TopicPartition, Partition> parts_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> brokers_busy_ ABSL_GUARDED_BY(mu_);  // a fetch is out to each
  std::vector<absl::Status> errors_ ABSL_GUARDED_BY(mu_);
  bool need_metadata_ ABSL_GUARDED_BY(mu_) = true;
  bool group_changed_ ABSL_GUARDED_BY(mu_) = false;  // Poll has group changes to apply
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int outstanding_ ABSL_GUARDED_BY(mu_) = 0;  // calls whose answer has not come

  // The group membership (with a group_id; subscribed or not).
  std::unique_ptr<GroupMember> group_;
  // Cancelled by Close: the fetch thread's metadata refresh gives up at
  // once.
  Cancellation closing_;
  size_t next_partition_ ABSL_GUARDED_BY(mu_) = 0;  // where Poll starts, for fairness
};

}  // namespace samsa::client
