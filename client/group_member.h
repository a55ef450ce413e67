// GroupMember: a Consumer's membership of its consumer group (KIP-848). A
// thread of its own finds the group's coordinator, heartbeats with the
// subscription and the partitions owned, keeps the assignment each answer
// brings, and sends the commits Poll hands it; the consumer's polling
// thread adopts assignment changes (ApplyChanges) so that everything Poll
// returned for a partition is handled before it is revoked.
//
// The consumer it serves is reached through Host: the positions of its
// partitions, its assignment, seeks, and a nudge that makes a waiting Poll
// apply the group's changes.
//
// Rules kept here (see consumer.h for the user-facing contract):
//   * a partition is released only after the listener's on_revoked and,
//     with auto-commit, a commit of its position;
//   * new partitions start at the group's committed offsets, fetched
//     before they are assigned;
//   * fenced (UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH): what it owned is
//     dropped without a commit (on_lost) and it joins again;
//   * automatic commits leave out positions the group already holds, so an
//     idle member writes nothing.
//
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/consumer.h"
#include "client/metadata.h"
#include "client/transport.h"
#include "common/await.h"
#include "common/clock.h"

namespace samsa::client {

class GroupMember {
 public:
  struct Host {
    // The positions of `partitions` that have one.
    std::function<std::map<TopicPartition, int64_t>(const std::vector<TopicPartition>&)> positions;
    std::function<void(std::vector<TopicPartition>)> assign;
    std::function<void(const TopicPartition&, int64_t)> seek;
    // The group has changes for the next ApplyChanges.
    std::function<void()> changed;
  };

  // `config` (group_id set), `transport` and `metadata` must outlive it.
  GroupMember(const ConsumerConfig* config, Transport* transport, Metadata* metadata, Host host);
  ~GroupMember();  // Leave first

  // Subscribes to `topics` (the first call starts the thread).
  void Subscribe(std::vector<std::string> topics, RebalanceListener listener);

  // On the polling thread: tells the listener of lost partitions, adopts
  // the newest assignment and takes the auto-commit snapshot when it is
  // due.
  void ApplyChanges();
  // Commits the positions of the partitions the group gave this member,
  // retrying while the coordinator moves or loads, for at most `timeout`.
  absl::Status Commit(absl::Duration timeout);
  // Stops the thread (its calls in flight give up at once), commits (with
  // auto-commit) the positions that moved and leaves the group, giving up
  // at `deadline` (MonotonicNow()).
  void Leave(absl::Time deadline);

 private:
  void Loop();
  // One heartbeat round trip; keeps the assignment it brings.
  void HeartbeatOnce();
  // Adopts `next` from the coordinator: revoked partitions are committed
  // (auto-commit) and dropped, new ones start at their committed offsets.
  void Reconcile(const std::set<TopicPartition>& next);
  // Drops the offsets the group already holds (committed_).
  void DropCommitted(std::map<TopicPartition, int64_t>* offsets) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits `offsets`, retrying while the coordinator moves or loads, for
  // at most `timeout`, and not past `cancel`.
  absl::Status CommitOffsets(const std::map<TopicPartition, int64_t>& offsets,
                             absl::Duration timeout, Cancellation* cancel = nullptr);
  // One commit round trip (finding the coordinator first if needed).
  absl::Status CommitOnce(const std::map<TopicPartition, int64_t>& offsets, absl::Duration timeout,
                          Cancellation* cancel);
  // Wakes the thread to heartbeat (and send a pending commit) now.
  void Wake() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The coordinator's address, looked up when unknown.
  absl::StatusOr<std::string> Coordinator(absl::Duration timeout, Cancellation* cancel);

  const ConsumerConfig& config_;
  Transport* const transport_;
  Metadata* const metadata_;
  const Host host_;

  mutable absl::Mutex mu_;
  Wakeup wakeup_;  // notified when wake_ or stop_ is set
  std::vector<std::string> subscription_ ABSL_GUARDED_BY(mu_);
  bool subscription_sent_ ABSL_GUARDED_BY(mu_) = false;
  std::string coordinator_ ABSL_GUARDED_BY(mu_);
  std::string member_id_ ABSL_GUARDED_BY(mu_);
  int32_t member_epoch_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<TopicPartition> owned_ ABSL_GUARDED_BY(mu_);
  RebalanceListener listener_ ABSL_GUARDED_BY(mu_);
  // The coordinator's newest assignment, not yet adopted by ApplyChanges.
  std::optional<std::set<TopicPartition>> target_ ABSL_GUARDED_BY(mu_);
  std::vector<TopicPartition> lost_ ABSL_GUARDED_BY(mu_);  // for on_lost
  std::map<TopicPartition, int64_t> pending_commit_ ABSL_GUARDED_BY(mu_);
  // What the group holds committed for the partitions owned here: fetched
  // when they were assigned, or committed since.
  std::map<TopicPartition, int64_t> committed_ ABSL_GUARDED_BY(mu_);
  absl::Time next_auto_commit_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  absl::Duration heartbeat_interval_ ABSL_GUARDED_BY(mu_) = absl::Seconds(1);
  // Cancelled by Leave: the thread's calls in flight give up at once.
  Cancellation stopping_;
  std::thread thread_;
};

}  // namespace samsa::client
