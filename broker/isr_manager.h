// IsrManager: asks the active controller for the ISR changes the
// partitions led here want (AlterPartition), looking at a partition only
// when it can want one — not at every partition every round.
//
// A partition can want a change when an event says so — its state changed
// (a new image), a follower outside its ISR fetched (it may rejoin) — and
// when time runs out for an ISR follower not heard from (it leaves after
// replica.lag.time.max.ms). The first kind comes through CheckSoon; the
// second is a deadline each partition gives (Partition::NextIsrCheck),
// kept on a schedule and looked at again when it passes. A partition
// with a proposal awaiting its answer, or with a replica outside its ISR,
// is looked at every `retry` until that ends. Cost per second therefore
// follows what changes, not how many partitions are led: an idle one is
// looked at about once per replica.lag.time.max.ms (fetch sessions keep
// its followers' reports fresh).
//
// Threads: one of its own, which calls Partition::ProposeIsr and sends
// the requests; CheckSoon from any thread, cheap and non-blocking.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <queue>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/partition.h"
#include "broker/probe.h"
#include "common/clock.h"
#include "samsa/v1/controller.pb.h"

namespace samsa::broker {

struct IsrManagerOptions {
  NodeId self = kNoNode;
  // replica.lag.time.max.ms: a follower not caught up for this long leaves
  // the ISR.
  absl::Duration replica_lag_max = absl::Seconds(30);
  // Sends an ISR change to the active controller; empty: none are asked.
  std::function<absl::StatusOr<v1::AlterPartitionResponse>(v1::AlterPartitionRequest)>
      alter_partition = nullptr;
  std::function<int64_t()> broker_epoch = nullptr;
  BrokerProbe* probe = nullptr;  // metrics, if any
  // The controller answered for `partition`: followers a proposal added
  // may have stopped counting, so its high watermark may move.
  std::function<void(Partition*)> on_answer = nullptr;
};

class IsrManager {
 public:
  explicit IsrManager(IsrManagerOptions options);
  ~IsrManager() { Stop(); }
  IsrManager(const IsrManager&) = delete;
  IsrManager& operator=(const IsrManager&) = delete;

  // How often a partition with a proposal unanswered or a replica outside
  // its ISR is looked at: a quarter of the lag bound, within [10 ms, 1 s].
  absl::Duration retry() const { return retry_; }

  // `partition` may want an ISR change now.
  void CheckSoon(std::shared_ptr<Partition> partition);
  // Ends the thread; idempotent.
  void Stop();

  // Partitions on the schedule, and how many times one was looked at so
  // far (for tests).
  size_t scheduled() const;
  int64_t looked_at() const { return looked_at_.load(std::memory_order_acquire); }

 private:
  using Due = std::pair<absl::Time, Partition*>;
  struct Entry {
    std::weak_ptr<Partition> partition;
    absl::Time at;  // the one Due on the heap that counts for it
  };
  void Loop();
  // Asks for what `partitions` want; returns when each is due next.
  std::vector<absl::Time> Round(const std::vector<std::shared_ptr<Partition>>& partitions);

  const IsrManagerOptions options_;
  const absl::Duration retry_;
  std::atomic<int64_t> looked_at_{0};
  mutable absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  // Asked for by CheckSoon since the last round.
  absl::flat_hash_map<Partition*, std::shared_ptr<Partition>> soon_ ABSL_GUARDED_BY(mu_);
  // The schedule: a partition's deadline; earlier entries for it that a
  // later one replaced stay on the heap and are skipped.
  absl::flat_hash_map<Partition*, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::priority_queue<Due, std::vector<Due>, std::greater<>> heap_ ABSL_GUARDED_BY(mu_);
  Wakeup wakeup_;
  std::thread thread_;
};

}  // namespace samsa::broker
