// FetchSessions: the leader's side of follower fetch sessions (KIP-227's
// idea; docs/architecture.md §6). A follower opening a session lists every
// partition it fetches once. The leader keeps what each said (fetch offset,
// epochs, durable offset, known high watermark), and from then on a request
// lists only the partitions whose fields changed, and the leader looks only
// at those and at the partitions an event touched since it last looked at
// them: an append, a high-watermark move, a new metadata image. The cost of
// a fetch follows what changed, not what is followed.
//
// Every `refresh` (a quarter of replica.lag.time.max.ms), a request looks
// at all of its session's partitions once: that keeps telling the leader
// that a follower at the log end of an idle partition is still caught up
// without it naming the partition, and catches what no event announces
// (retention moving the log start past a stuck follower).
//
// A session's requests are serial: one holds it at a time (a lease, from
// Begin to Release, across a long-poll). A request naming a session the
// leader does not hold (or another follower's) is refused with
// FETCH_SESSION_ID_NOT_FOUND; one that is not the session's next epoch, or
// comes while another holds it, with INVALID_FETCH_SESSION_EPOCH. Either
// way the follower opens a new session. Sessions are bounded: at most
// `max_per_replica` per follower (opening one more closes its least
// recently used) and `max_sessions` in all (when full, the least recently
// used one idle for `idle` is closed to make room; when none is, no session
// is opened and the follower fetches without one).
//
// Thread-safe. Touch and TouchAll run where the events happen (produce and
// fetch threads, the metadata thread) and cost a hash lookup and, for a
// session whose request is long-polling, the `on_wake` callback.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/container/node_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/partition.h"
#include "common/ids.h"
#include "samsa/v1/broker.pb.h"
#include "storage/log_manager.h"

namespace samsa::broker {

class FetchSession {
 public:
  // A partition of the session.
  struct Entry {
    v1::ReplicaFetchRequest::Partition said;  // what the follower last said of it
    std::shared_ptr<Partition> partition;     // the replica here it resolved to; null: none
    uint64_t round = 0;                       // the last request that looked at it
  };

  FetchSession(int32_t id, NodeId replica) : id_(id), replica_(replica) {}

  int32_t id() const { return id_; }
  NodeId replica() const { return replica_; }

 private:
  friend class FetchSessions;

  const int32_t id_;
  const NodeId replica_;
  // The lease holder's (entry addresses are stable: the index and the
  // touched set point at them).
  absl::node_hash_map<storage::TopicPartitionName, Entry> entries_;
  uint64_t round_ = 0;
  // Under FetchSessions::mu_.
  int32_t next_epoch_ = 1;
  bool leased_ = false;
  bool closed_ = false;
  bool woken_ = false;        // an event that can complete a long-poll touched it
  bool all_touched_ = false;  // a new image: look at every entry
  absl::Time last_used_;
  absl::Time next_refresh_;
  absl::flat_hash_set<Entry*> touched_;
  absl::flat_hash_set<const Partition*> indexed_;  // its keys in the index
};

class FetchSessions {
 public:
  struct Options {
    size_t max_sessions = 1000;
    size_t max_per_replica = 4;
    absl::Duration idle = absl::Minutes(1);
    absl::Duration refresh = absl::Seconds(7);
    // Runs (outside the lock) with the address of a leased session an event
    // woke: its request may be long-polling.
    std::function<void(const void*)> on_wake = nullptr;
    // Session ids count up from here (skipping 0), so a restarted leader
    // should start elsewhere than before: a follower's session id from
    // before the restart is then refused, not taken for a new session.
    uint32_t first_id = 1;
  };
  explicit FetchSessions(Options options);

  // What Begin makes of a request.
  struct Begun {
    std::shared_ptr<FetchSession> session;  // leased to the request; null: none
    v1::ErrorCode error = v1::NONE;         // the request is refused
    std::string message;
  };
  // A request without session fields gets neither a session nor an error.
  Begun Begin(const v1::ReplicaFetchRequest& request, absl::Time now);

  using Resolve = absl::FunctionRef<std::shared_ptr<Partition>(const storage::TopicPartitionName&)>;
  // The lease holder applies its request (forgotten partitions leave, those
  // named join or are updated) and gets the entries to look at, each once:
  // those named, then those touched since the last look (all of them when
  // an image or the refresh is due), each resolved again with `resolve`.
  // `named` (same length) says which were named.
  std::vector<FetchSession::Entry*> Update(FetchSession& session,
                                           const v1::ReplicaFetchRequest& request, absl::Time now,
                                           Resolve resolve, std::vector<bool>* named);
  // The entries touched since the last look (a long-poll completing).
  std::vector<FetchSession::Entry*> TakeTouched(FetchSession& session, absl::Time now,
                                                Resolve resolve);
  // `entry` has more for the follower than the answer carried (it ran out
  // of bytes): the next request looks at it again.
  void KeepTouched(FetchSession& session, FetchSession::Entry* entry);
  // Whether something woke the session since the lease holder last looked:
  // a long-poll on it can complete.
  bool Woken(const FetchSession& session) const;
  // Ends the lease; whether the session is still open.
  bool Release(FetchSession& session);

  // Events on `partition`: each session holding it looks at it next time;
  // `wake` also completes a long-poll (an append, a leadership change),
  // which a high-watermark move alone does not.
  void Touch(const Partition* partition, bool wake);
  // Every partition of every session (a new metadata image).
  void TouchAll();

  size_t size() const;

 private:
  // Looks up the entries' replicas and moves their index keys to match.
  void Rebind(FetchSession& session, std::span<FetchSession::Entry* const> entries,
              Resolve resolve);
  // Takes the touched entries, or all when due, adding those not yet seen
  // this round to `out`.
  void CollectTouched(FetchSession& session, absl::Time now,
                      std::vector<FetchSession::Entry*>* out);
  // The least recently used of the sessions `eligible` takes, or null.
  FetchSession* LeastRecentlyUsed(absl::FunctionRef<bool(const FetchSession&)> eligible) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void CloseLocked(FetchSession& session, std::vector<const void*>* wake)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Unindex(FetchSession& session, const Partition* partition, FetchSession::Entry* entry)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Wake(const std::vector<const void*>& sessions) const;

  const Options options_;
  mutable absl::Mutex mu_;
  uint32_t next_id_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<int32_t, std::shared_ptr<FetchSession>> sessions_ ABSL_GUARDED_BY(mu_);
  // Which sessions hold each partition, and as which entry.
  absl::flat_hash_map<const Partition*, std::vector<std::pair<FetchSession*, FetchSession::Entry*>>>
      index_ ABSL_GUARDED_BY(mu_);
};

}  // namespace samsa::broker
