// Partition: one partition replica on this broker — its log, its role as the
// metadata image assigns it, and as leader its high watermark (docs/architecture.md §6).
//
// The high watermark is what every ISR member is known to hold durably: the
// minimum, over the ISR, of the leader's own flushed offset and each
// follower's acknowledged offset. It only moves forward. Followers report
// their offsets through the replica fetch protocol; until one has reported,
// it counts as holding nothing, so a leader with followers in its ISR does
// not advance the high watermark on its own (a single-replica ISR advances
// with the leader's flushes).
//
// Thread-safe; the partition shares its log with the broker's LogManager,
// so a deleted partition's log stays valid (and refuses every call) for
// whoever still holds the partition.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/ids.h"
#include "common/metadata_image.h"
#include "storage/log_manager.h"
#include "storage/producer_state.h"
#include "storage/topic_config.h"

namespace samsa::broker {

// A partition's state as the metadata image says it, for this broker.
struct PartitionState {
  Uuid topic_id;
  bool leader = false;  // this broker leads it
  NodeId leader_id = kNoNode;
  Epoch leader_epoch{0};
  int32_t partition_epoch = 0;
  std::vector<NodeId> replicas;
  std::vector<NodeId> isr;
  int64_t min_insync_replicas = storage::TopicConfig().min_insync_replicas;
  int64_t max_message_bytes = storage::TopicConfig().max_message_bytes;
  bool flush_always = true;      // flush.policy=always
  bool log_append_time = false;  // message.timestamp.type=LogAppendTime
  bool compacted = false;        // cleanup.policy has compact: every record needs a key
  bool moving_in = false;        // a reassignment is adding this replica (move_throttle.h)
};

class Partition {
 public:
  // `checkpointed_hw` (hw_checkpoint.h) starts the high watermark, capped at
  // what the log holds.
  Partition(storage::TopicPartitionName tp, std::shared_ptr<storage::PartitionLog> log, NodeId self,
            Offset checkpointed_hw = Offset(0));

  const storage::TopicPartitionName& tp() const { return tp_; }
  storage::PartitionLog* log() const { return log_.get(); }

  // The image changed. Becoming leader starts the high watermark at what
  // the log holds durably when the ISR is this broker alone, else at the
  // previous value (a leader never exposes what the ISR may lack).
  void SetState(PartitionState state);
  // A snapshot: SetState replaces it, so a caller may keep it (no copy).
  std::shared_ptr<const PartitionState> state() const;

  // A leader append with the idempotent-producer checks (producer_state.h),
  // serialized with the partition's other appends. A batch from an
  // idempotent producer must be the only batch of its request (INVALID).
  struct LeaderAppend {
    enum class Outcome { kAppended, kDuplicate, kOutOfOrder, kFencedEpoch, kInvalid };
    Outcome outcome = Outcome::kAppended;
    absl::Status status;       // kAppended: the log's answer
    storage::AppendInfo info;  // kAppended and kDuplicate: the offsets
    std::string message;       // the others: why
  };
  LeaderAppend AppendAsLeader(std::span<uint8_t> records, Epoch leader_epoch);
  // A follower append of `records` copied from the leader, tracking their
  // producers so this replica can lead with the right state.
  absl::StatusOr<storage::AppendInfo> AppendAsFollower(std::span<const uint8_t> records);
  // Follower truncation (leader-epoch divergence): the log and the producer
  // state lose every batch at or above `end`.
  absl::Status TruncateTo(Offset end);
  // Empties the log, restarting it at `start`, and forgets every producer.
  absl::Status TruncateFullyAndStartAt(Offset start);

  // Producer state snapshots: files <offset>.snapshot in the log's
  // directory (docs/formats.md), each the state covering the log below
  // its offset.
  struct ProducerLoad {
    std::optional<Offset> snapshot;  // the one used, if any
    int64_t bytes_replayed = 0;      // log bytes read after it
  };
  // Loads the producer state (after opening the log): the newest snapshot
  // not past the log end, then the batches after it. Snapshots past the
  // log end (a tail lost in a crash) and unreadable ones are deleted.
  absl::StatusOr<ProducerLoad> LoadProducers();
  // When SnapshotProducers writes a snapshot.
  enum class SnapshotWhen {
    kIfRolled,  // the log rolled a segment since the last one
    kAlways,    // at shutdown
  };
  // Writes a snapshot of the producer state at the log end (as `when`
  // says), keeping the newest two.
  absl::Status SnapshotProducers(SnapshotWhen when);

  Offset high_watermark() const;
  // Leader: the offset ListOffsets answers as the latest, the high
  // watermark; nullopt while it is below the log end this broker had when
  // it became leader. A new leader's high watermark may lag its
  // predecessor's until the followers fetch, and answering with it would
  // step a consumer's end offset back (KIP-207).
  std::optional<Offset> LatestOffset() const;
  // Where records up to `end`, appended as leader in `epoch`, stand: the
  // high watermark covers them, not yet, or this broker no longer leads in
  // that epoch (another leader's high watermark says nothing about them).
  enum class Commit { kPending, kCommitted, kLeadershipMoved };
  Commit CommitOf(Epoch epoch, Offset end) const;
  // The leader's own offset that counts toward the high watermark grew to
  // `offset`: its flushed offset under flush.policy=always, else its log end.
  void OnLocalOffset(Offset offset);
  // Leader: follower `replica` fetched from `fetch_offset` holding `acked`
  // (its durable offset under flush.policy=always, else its log end) at
  // `now`; it is caught up when it asked for everything the leader had.
  // Whether the high watermark moved.
  bool OnFollowerFetch(NodeId replica, Offset fetch_offset, Offset acked, absl::Time now);
  // Leader: follower `replica`, whose fetch session holds `fetch_offset` as
  // its position, fetched again at `now` without naming this partition: it
  // is still caught up if it was, provided `fetch_offset` is what it last
  // reported here (since this leadership and replica set began). Nothing
  // else of what it reported changes: a position not said again is no
  // report (a replica re-created by a move must report afresh).
  void OnFollowerStillFetching(NodeId replica, Offset fetch_offset, absl::Time now);
  // Follower: the leader's high watermark, capped at what this log holds.
  void OnLeaderHighWatermark(Offset hw);
  // Leader: the ISR to ask the controller for — the current one, plus
  // followers holding the high watermark (durably under flush.policy=always),
  // minus followers not caught up for `max_lag` — or nullopt if it is right
  // as it is and nothing asked before awaits an answer.
  //
  // A follower asked for counts toward the high watermark at once, before
  // the controller answers (KIP-497's maximal ISR): the controller may
  // commit the larger ISR and elect the newcomer before this leader hears
  // of it, so nothing may be committed that the newcomer lacks. It stops
  // counting when the partition changes (SetState) or the controller
  // answers that it did not take the proposal (OnIsrAnswer).
  std::optional<std::vector<NodeId>> ProposeIsr(absl::Time now, absl::Duration max_lag);
  // Leader: when ProposeIsr may next want a change if nothing else
  // happens — when the first ISR follower not heard from runs out of
  // `max_lag` — or InfinitePast while a proposal awaits its answer or a
  // replica is outside the ISR (any fetch may bring it back), and
  // InfiniteFuture when not leading. Events (SetState, a fetch) may make
  // it earlier; whoever causes them looks again.
  absl::Time NextIsrCheck(absl::Duration max_lag) const;
  // The controller answered a proposal, holding the partition at
  // `partition_epoch`: if that is the epoch it was proposed in, the
  // controller took none of it, and the followers asked for stop counting.
  void OnIsrAnswer(int32_t partition_epoch);
  // Leader: how many records the furthest-behind follower lacks (0 when
  // none, or when not leading).
  int64_t MaxFollowerLag() const;

 private:
  // Recomputes the high watermark from the ISR's offsets.
  void AdvanceLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Snapshot offsets on disk, ascending.
  absl::StatusOr<std::vector<Offset>> SnapshotOffsets() const;
  std::string SnapshotPath(Offset offset) const;
  // Deletes the snapshots above `end` (all of them for nullopt); the
  // offsets of those left, ascending.
  absl::StatusOr<std::vector<Offset>> DeleteSnapshotsAbove(std::optional<Offset> end)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(snapshot_mu_);
  absl::StatusOr<ProducerLoad> LoadProducersLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(snapshot_mu_);

  const storage::TopicPartitionName tp_;
  const std::shared_ptr<storage::PartitionLog> log_;
  const NodeId self_;
  // Serializes snapshot writes with truncations; taken before append_mu_.
  absl::Mutex snapshot_mu_ ABSL_ACQUIRED_BEFORE(append_mu_);
  Offset snapshot_segment_ ABSL_GUARDED_BY(snapshot_mu_);  // active segment at the last one
  absl::Mutex append_mu_;  // serializes producer checks with the appends they guard
  storage::ProducerState producers_ ABSL_GUARDED_BY(append_mu_);
  mutable absl::Mutex mu_;
  std::shared_ptr<const PartitionState> state_ ABSL_GUARDED_BY(mu_) =
      std::make_shared<const PartitionState>();
  Offset high_watermark_ ABSL_GUARDED_BY(mu_);
  Offset epoch_start_offset_ ABSL_GUARDED_BY(mu_);                  // log end when it became leader
  absl::flat_hash_map<NodeId, Offset> acked_ ABSL_GUARDED_BY(mu_);  // per replica
  absl::flat_hash_map<NodeId, Offset> fetched_ ABSL_GUARDED_BY(mu_);        // followers' log ends
  absl::flat_hash_map<NodeId, absl::Time> caught_up_ ABSL_GUARDED_BY(mu_);  // last time
  // The partition epoch of each follower's last fetch: rejoining the ISR
  // takes a report made since the partition last changed, so nothing said
  // before a move removed and gave back a replica (even one this broker
  // never saw as two changes) counts.
  absl::flat_hash_map<NodeId, int32_t> reported_in_ ABSL_GUARDED_BY(mu_);
  // Followers a proposal still unanswered adds to the ISR of partition
  // epoch proposed_in_ (ProposeIsr); they count toward the high watermark.
  std::vector<NodeId> proposed_ ABSL_GUARDED_BY(mu_);
  int32_t proposed_in_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace samsa::broker
