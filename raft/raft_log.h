// RaftLog: the in-memory Raft log of one node: a snapshot's metadata plus
// the entries after it, with four marks:
//   written  entries up to here were handed to the driver to write
//   stable   entries up to here are on disk (the driver said so)
//   commit   known committed (Raft paper §5.3)
//   applied  handed to the state machine
// stable <= written, applied <= commit, and entries are applied only once
// stable. Pure: the driver persists and reloads it (raft/durable_log.h).
#pragma once

#include <optional>
#include <vector>

#include "raft/types.h"

namespace samsa::raft {

class RaftLog {
 public:
  // A restored log: everything given is on disk.
  RaftLog(SnapshotMeta snapshot, std::vector<Entry> entries, Index commit);

  Index first_index() const { return snapshot_.index + 1; }
  Index last_index() const { return snapshot_.index + static_cast<int64_t>(entries_.size()); }
  Term last_term() const { return *TermAt(last_index()); }
  Index commit() const { return commit_; }
  Index applied() const { return applied_; }
  Index written() const { return written_; }
  Index stable() const { return stable_; }
  const SnapshotMeta& snapshot() const { return snapshot_; }

  // The term of entry `i`; the snapshot's term at its index; nullopt when `i`
  // is compacted away or beyond the end.
  std::optional<Term> TermAt(Index i) const;
  const Entry& At(Index i) const;  // first_index() <= i <= last_index()

  // §5.4.1: is a log ending at (index, term) at least as up to date as ours?
  bool IsUpToDate(Index index, Term term) const;

  // Leader: appends entries numbered from last_index() + 1.
  void Append(std::vector<Entry> entries);

  // Follower: if our entry at `prev` has `prev_term`, appends `entries`
  // (dropping any conflicting suffix, §5.3) and returns the index of the
  // last entry the leader sent; nullopt when the logs do not match at `prev`.
  std::optional<Index> MaybeAppend(Index prev, Term prev_term, const std::vector<Entry>& entries);

  // Entries in [lo, hi) up to about `max_bytes` (at least one).
  std::vector<Entry> Slice(Index lo, Index hi, size_t max_bytes) const;

  // The first index holding `term` at or before `at`, for rejection hints.
  Index FirstIndexOfTerm(Term term, Index at) const;
  // The last index holding `term`, or 0 when we have none with that term.
  Index LastIndexOfTerm(Term term) const;

  void CommitTo(Index i);  // never moves back; i <= last_index()

  // Entries newer than written(), which the driver must write (after
  // truncating its log at the first one's index).
  std::vector<Entry> Unwritten() const;
  // The driver took everything up to `i` (<= last_index()) to write.
  void WrittenTo(Index i);
  // The driver made what it wrote up to (i, t) durable: marks it stable
  // unless it was replaced meanwhile.
  void StableTo(Index i, Term t);

  // Committed, stable, not yet applied entries (about `max_bytes`).
  std::vector<Entry> NextToApply(size_t max_bytes) const;
  void AppliedTo(Index i);

  // Drops entries up to `i` (<= applied) behind a snapshot at i.
  void Compact(const SnapshotMeta& meta);
  // Replaces everything with a snapshot received from the leader.
  void Restore(const SnapshotMeta& meta);

 private:
  SnapshotMeta snapshot_;
  std::vector<Entry> entries_;  // entries_[k] has index snapshot_.index + 1 + k
  Index written_;
  Index stable_;
  Index commit_;
  Index applied_;
};

}  // namespace samsa::raft
