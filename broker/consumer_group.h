// ConsumerGroup: one consumer group's membership and assignment on its
// coordinator, KIP-848 style, as a pure state machine (no I/O, no clock:
// times come in with the calls).
//
// Members heartbeat with their subscription and the partitions they own.
// A change of membership, subscription or partition counts bumps the group
// epoch; the assignor (assignor.h) then computes a target assignment. Each
// member converges to its target by heartbeats:
//   * a partition it owns but is not its target is revoked: it is left out
//     of the member's assignment at once, but stays the member's until a
//     heartbeat no longer lists it among the owned partitions (or the
//     member's session expires);
//   * a partition of its target is given to it only once no other member
//     holds it (assigned or still reported owned).
// So a partition never has two owners. A member that still reports a
// revoked partition after its rebalance timeout is removed from the group.
// A member's epoch moves to the group epoch each time its assignment
// changes. An offset commit carries the member's epoch as the member last
// heard it: its current one, or an older one no earlier than the epoch at
// which each committed partition was assigned to it (KIP-1251), so a
// commit racing the heartbeat that tells the member of a new epoch still
// lands for the partitions it kept (STALE_MEMBER_EPOCH otherwise).
//
// Static members (an instance id, Kafka's group.instance.id): one leaving
// with epoch -2 keeps its place and its partitions, owning nothing, until its
// session expires; a member joining with its instance id in that time takes
// its place, epoch and assignment, without a rebalance. A join with the
// instance id of a member that has not left is UNRELEASED_INSTANCE_ID.
//
// Not thread-safe: the coordinator serializes calls per group.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "broker/assignor.h"
#include "samsa/v1/common.pb.h"

namespace samsa::broker {

using TopicPartitions = std::map<std::string, std::vector<int32_t>>;

inline constexpr int32_t kLeaveEpoch = -1;
inline constexpr int32_t kStaticLeaveEpoch = -2;
inline constexpr absl::Duration kDefaultRebalanceTimeout = absl::Minutes(5);

struct GroupHeartbeat {
  std::string member_id;     // empty when joining
  int32_t member_epoch = 0;  // 0: join; -1: leave; -2: static leave; else the last received
  std::string client_id = {};
  std::string instance_id = {};                             // empty: a dynamic member
  absl::Duration rebalance_timeout = absl::ZeroDuration();  // on join; zero: the default
  std::optional<std::vector<std::string>> topics = {};      // unchanged when absent
  std::optional<TopicPartitions> owned = {};                // unchanged when absent
};

struct GroupHeartbeatResult {
  v1::ErrorCode error = v1::NONE;
  std::string message;
  std::string member_id;
  int32_t member_epoch = 0;
  TopicPartitions assignment;  // what the member may own now
};

struct GroupError {
  v1::ErrorCode code = v1::NONE;
  std::string message;
};

struct GroupMemberView {
  std::string member_id;
  std::string client_id;
  std::string instance_id;
  bool left = false;  // a static member away for a restart
  int32_t member_epoch = 0;
  TopicPartitions assignment;
  TopicPartitions revoking;  // told to release, still reported owned
};

class ConsumerGroup {
 public:
  enum class State { kEmpty, kReconciling, kStable };

  ConsumerGroup(std::string id, Assignor assignor, absl::Duration session_timeout)
      : id_(std::move(id)), assignor_(assignor), session_timeout_(session_timeout) {}

  // `partitions`: the partition count of every existing topic (for the
  // subscribed ones). `new_member_id` names a joining member.
  GroupHeartbeatResult Heartbeat(const GroupHeartbeat& hb,
                                 const std::map<std::string, int32_t>& partitions, absl::Time now,
                                 const std::string& new_member_id);
  // Removes members not heard from within the session timeout, and those
  // holding revoked partitions past their rebalance timeout; their ids.
  std::vector<std::string> ExpireSessions(absl::Time now,
                                          const std::map<std::string, int32_t>& partitions);

  // Whether a commit of `partitions` from (`member_id`, `member_epoch`) is
  // allowed: by a member at its current epoch; at an older one, if it
  // holds each partition since that epoch or before; or standalone (empty
  // id, epoch -1) while the group has no members.
  GroupError CheckCommit(const std::string& member_id, int32_t member_epoch,
                         const std::vector<std::pair<std::string, int32_t>>& partitions) const;

  const std::string& id() const { return id_; }
  State state() const;
  int32_t epoch() const { return group_epoch_; }
  bool empty() const { return members_.empty(); }
  // Target assignments computed so far (each a rebalance).
  int64_t rebalances() const { return rebalances_; }
  std::vector<GroupMemberView> Members() const;
  // Who holds `topic`-`partition` (assigned or still owning it), if anyone.
  std::optional<std::string> OwnerOf(const std::string& topic, int32_t partition) const;

 private:
  struct Member {
    std::string client_id;
    std::string instance_id;
    bool left = false;  // static member, left with epoch -2
    absl::Duration rebalance_timeout = kDefaultRebalanceTimeout;
    absl::Time release_deadline = absl::InfiniteFuture();  // while revoking
    int32_t epoch = 0;
    std::vector<std::string> topics;
    std::set<std::pair<std::string, int32_t>> assigned;  // told it may own
    // The member epoch at which each of `assigned` was given to it.
    std::map<std::pair<std::string, int32_t>, int32_t> assigned_at;
    std::set<std::pair<std::string, int32_t>> owned;  // last reported
    absl::Time last_heartbeat;
  };

  // A static member joining in place of the one with its instance id that
  // left: takes over its id's place. UNRELEASED_INSTANCE_ID if it has not left.
  GroupHeartbeatResult ReplaceStatic(const GroupHeartbeat& hb, const std::string& new_member_id,
                                     absl::Time now);
  // Recomputes the target if the group epoch moved past it.
  void UpdateTarget(const std::map<std::string, int32_t>& partitions);
  // Moves `member` toward its target; true if its assignment changed.
  bool Reconcile(const std::string& member_id, Member& m);
  void BumpEpoch() { ++group_epoch_; }

  const std::string id_;
  const Assignor assignor_;
  const absl::Duration session_timeout_;
  std::map<std::string, Member> members_;
  int32_t group_epoch_ = 0;
  int32_t target_epoch_ = 0;
  int64_t rebalances_ = 0;
  std::map<std::string, int32_t> partitions_seen_;  // counts the target was made for
  std::map<std::string, std::set<std::pair<std::string, int32_t>>> target_;
};

}  // namespace samsa::broker
