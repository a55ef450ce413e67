// ReplicaFetcher: a follower's pull from one leader broker (docs/architecture.md §6),
// for every partition this broker follows there, in one Replica.Fetch per
// round, long-polled by the leader while nothing is new.
//
// Per partition, each answer is acted on as Kafka's fetcher does:
//   * records: appended as they are (AppendAsFollower), then flushed when
//     the topic's flush.policy is always, so the next fetch can report them
//     durable. A follower outside the ISR (catching up: a new replica of a
//     move, or one back from a long absence) then drops what it flushed from
//     the page cache: it writes a log nobody reads soon, and the freed pages
//     take its next writes (on this project's VM, growing the cache fills
//     at about 280 MB/s, reusing freed pages at over 1.2 GB/s);
//   * diverging epoch: the log is truncated to the smaller of the leader's
//     end for that epoch and this log's own end for it (KIP-320), then
//     fetched again; a truncation below the high watermark means committed
//     data was lost and is logged as an error;
//   * OFFSET_OUT_OF_RANGE below the leader's log start: the log restarts
//     empty at the leader's log start;
//   * leadership errors: left for the next metadata image to resolve.
// The leader's high watermark is kept (capped at this log's end) for the
// day this replica leads.
//
// Replicas being added by a reassignment (moving in) are left out of a
// round while the move throttle is in debt, and their bytes charged to it.
//
// Fetch sessions (fetch_session.h): the fetcher opens one with a request
// listing every partition, then lists only the partitions whose fields
// (fetch offset, durable offset, known high watermark, epochs, byte cap)
// changed since it last sent them, and those that leave. Its own work per
// round follows what changed too: the partitions it applied an answer to
// and those a new partition set brought. A refused or failed request, or
// an answer without the session, opens a new one.
//
// One thread per fetcher; SetPartitions (the metadata thread, after each
// image) gives the partitions to fetch, applied at the next round. Requests
// go over a ReplicaChannel (gRPC in production).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "broker/move_throttle.h"
#include "broker/partition.h"
#include "broker/probe.h"
#include "broker/replica_channel.h"
#include "common/clock.h"

namespace samsa::broker {

struct ReplicaFetcherOptions {
  NodeId self = kNoNode;
  NodeId leader = kNoNode;
  std::string address;  // the leader's host:port
  std::function<int64_t()> broker_epoch = nullptr;
  absl::Duration max_wait = absl::Milliseconds(500);
  int32_t max_bytes = 8 << 20;
  BrokerProbe* probe = nullptr;  // metrics, if any; must outlive the fetcher
  // Paces the replicas a reassignment is adding here; null: none.
  MoveThrottle* move_throttle = nullptr;
};

class ReplicaFetcher {
 public:
  ReplicaFetcher(ReplicaFetcherOptions options, std::unique_ptr<ReplicaChannel> channel);
  ~ReplicaFetcher();  // cancels the fetch in flight, stops and joins

  const std::string& address() const { return options_.address; }

  // The partitions this broker follows on the leader from now on.
  void SetPartitions(std::vector<std::shared_ptr<Partition>> partitions);

 private:
  using Position = v1::ReplicaFetchRequest::Partition;
  struct Followed {
    std::shared_ptr<Partition> partition;
    std::shared_ptr<const PartitionState> state;  // as of the last SetPartitions
    std::optional<Position> sent;                 // what the session holds; nullopt: nothing
    // Its leadership or replica set changed: said again even if its
    // position did not, so the leader hears it in the new one.
    bool say_again = false;
    uint64_t set = 0;  // the last partition set that held it
  };

  void Loop();
  // Takes a new partition set, if one came: partitions new or changed in it
  // are to be looked at, those gone to be forgotten. False when stopping.
  bool TakePartitions();
  // The request of this round: every partition when opening a session,
  // else what changed; `said` gets the partitions listed. `throttled`:
  // moving-in replicas sit this round out.
  v1::ReplicaFetchRequest BuildRequest(bool throttled, std::vector<Followed*>* said);
  // Where `f`'s replica stands, as a request says it.
  Position PositionOf(const Followed& f) const;
  // Forgets the session: the next request opens another.
  void DropSession();
  // Applies one partition's answer.
  void Apply(Partition& partition, const v1::ReplicaFetchResponse::Partition& in);

  const ReplicaFetcherOptions options_;
  const std::unique_ptr<ReplicaChannel> channel_;
  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::optional<std::vector<std::shared_ptr<Partition>>> incoming_ ABSL_GUARDED_BY(mu_);
  Wakeup wakeup_;  // notified when stop_ or incoming_ is set
  std::thread thread_;

  // The fetch thread's.
  absl::flat_hash_map<storage::TopicPartitionName, Followed> followed_;
  absl::flat_hash_set<storage::TopicPartitionName> moving_in_;   // of followed_
  absl::flat_hash_set<storage::TopicPartitionName> to_look_at_;  // may have changed
  std::vector<storage::TopicPartitionName> to_forget_;
  uint64_t sets_ = 0;  // partition sets taken
  int32_t session_id_ = 0;
  int32_t session_epoch_ = 0;
};

}  // namespace samsa::broker
