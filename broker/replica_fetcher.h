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
// One thread per fetcher; partitions come from `partitions` each round, so
// image changes apply at the next round. Requests go over a ReplicaChannel
// (gRPC in production).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

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
  // The partitions this broker currently follows on `leader`.
  std::function<std::vector<std::shared_ptr<Partition>>()> partitions = nullptr;
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

 private:
  void Loop();
  // Applies one partition's answer; false if the partition must wait.
  void Apply(Partition& partition, const v1::ReplicaFetchResponse::Partition& in);

  bool stopping() const;

  const ReplicaFetcherOptions options_;
  const std::unique_ptr<ReplicaChannel> channel_;
  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  Wakeup wakeup_;  // notified when stop_ is set
  std::thread thread_;
};

}  // namespace samsa::broker
