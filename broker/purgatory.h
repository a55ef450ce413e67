// Purgatory: requests that wait for an event (Kafka's
// DelayedOperationPurgatory). An operation is parked under the keys whose
// events can complete it — a Partition, when its high watermark moves or
// its leadership changes — and the code that makes such an event calls
// Check(key), which tries only the operations parked under that key.
// Expirations sit on a hashed timing wheel: Advance(now) touches the slots
// whose time passed and the operations in them, never the whole set.
//
// Whoever calls Advance learns when to next from NextDeadline, and is told
// (the `earlier` callback) when an operation parks with a deadline before
// the one NextDeadline last gave: no polling.
//
// Each operation completes exactly once, whichever comes first: Check finds
// it Ready, Advance finds its deadline passed, or Shutdown. A completion
// racing an expiry is settled by one atomic flag; Complete runs outside
// the purgatory's lock, on the thread that won.
//
// Thread-safe. Completed operations leave every key they were parked
// under at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace samsa::broker {

class DelayedOperation {
 public:
  enum class Outcome {
    kReady,     // its condition held
    kExpired,   // its deadline passed first
    kShutdown,  // the broker stops
  };

  explicit DelayedOperation(absl::Time deadline) : deadline_(deadline) {}
  virtual ~DelayedOperation() = default;
  DelayedOperation(const DelayedOperation&) = delete;
  DelayedOperation& operator=(const DelayedOperation&) = delete;

  absl::Time deadline() const { return deadline_; }
  bool done() const { return done_.load(std::memory_order_acquire); }

 protected:
  // Whether it can complete now. Called without the purgatory's lock, maybe
  // from several threads at once, and again after returning false.
  virtual bool Ready() = 0;
  // As Ready, when the event of `key` (one it is parked under) happened:
  // an operation watching many keys may look at that one only.
  virtual bool ReadyAfter(const void* /*key*/) { return Ready(); }
  // Runs exactly once, with how it ended.
  virtual void Complete(Outcome outcome) = 0;

 private:
  friend class Purgatory;
  // Claims the completion: true for the one caller that then runs Complete.
  bool Claim() {
    bool expected = false;
    return done_.compare_exchange_strong(expected, true, std::memory_order_acq_rel);
  }

  const absl::Time deadline_;
  std::atomic<bool> done_{false};
  // Where it is parked (under the purgatory's lock; read by Watch's caller
  // thread only before parking and after the purgatory let it go).
  std::vector<const void*> keys_;
  bool parked_ = false;
  size_t slot_ = 0;  // its slot on the wheel, while parked
};

class Purgatory {
 public:
  // A key is the address of the object whose events complete operations
  // (a Partition).
  using Key = const void*;

  // The wheel: `slots` slots of `tick` each; a deadline further away than
  // one turn waits in its slot for the turns to pass. Expiry happens at the
  // first Advance after the deadline, to within a tick.
  // `earlier`, if given, runs (outside the lock, on the parking thread)
  // when an operation parks with a deadline before the last NextDeadline.
  explicit Purgatory(absl::Time now, absl::Duration tick = absl::Milliseconds(1),
                     size_t slots = 1024, std::function<void()> earlier = nullptr);

  // Completes `op` at once if it is Ready (or its deadline passed), else
  // parks it under `keys` until one of them is checked or it expires.
  void Watch(std::shared_ptr<DelayedOperation> op, std::span<const Key> keys);
  // Tries the operations parked under `key`; returns how many completed.
  int Check(Key key);
  // Tries every parked operation (for an event that may touch any key: a
  // new metadata image), and forgets the keys nothing is parked under.
  int CheckAll();
  // Expires the operations whose deadline is at or before `now`.
  void Advance(absl::Time now);
  // When Advance has work next: at or before the earliest deadline parked
  // (the start of its slot, for one more than a turn away), InfiniteFuture
  // when nothing is parked.
  absl::Time NextDeadline();
  // Completes every parked operation with kShutdown; later Watch calls
  // complete theirs at once the same way.
  void Shutdown();
  // Operations parked now.
  size_t size() const;

 private:
  struct Slot {
    std::vector<std::shared_ptr<DelayedOperation>> ops;
  };
  int64_t TickOf(absl::Time t) const;
  // Completes those of `ops` that are Ready (ReadyAfter(key), given a key);
  // how many.
  int TryAll(const std::vector<std::shared_ptr<DelayedOperation>>& ops, Key key = nullptr);
  // Takes `op` off its slot and the lists of its keys.
  void Unpark(DelayedOperation& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RemoveFromKeys(DelayedOperation& op) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  static void Finish(DelayedOperation& op, DelayedOperation::Outcome outcome);

  const absl::Time origin_;
  const absl::Duration tick_;
  const std::function<void()> earlier_;
  mutable absl::Mutex mu_;
  absl::Time promised_ ABSL_GUARDED_BY(mu_) = absl::InfiniteFuture();  // the last NextDeadline
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  int64_t current_tick_ ABSL_GUARDED_BY(mu_);  // the next tick Advance expires
  std::vector<Slot> wheel_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<Key, std::vector<std::shared_ptr<DelayedOperation>>> watchers_
      ABSL_GUARDED_BY(mu_);
  size_t parked_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace samsa::broker
