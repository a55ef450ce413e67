#include "raft/raft_log.h"

#include <algorithm>

#include "common/logging.h"

namespace samsa::raft {

RaftLog::RaftLog(SnapshotMeta snapshot, std::vector<Entry> entries, Index commit)
    : snapshot_(std::move(snapshot)), entries_(std::move(entries)) {
  for (size_t k = 0; k < entries_.size(); ++k) {
    SAMSA_CHECK(entries_[k].index == snapshot_.index + static_cast<int64_t>(k) + 1)
        << "restored entries are contiguous after the snapshot";
  }
  stable_ = last_index();
  written_ = stable_;
  commit_ = std::max(commit, snapshot_.index);
  SAMSA_CHECK(commit_ <= last_index())
      << "commit " << commit_ << " beyond log end " << last_index();
  applied_ = snapshot_.index;
}

std::optional<Term> RaftLog::TermAt(Index i) const {
  if (i == snapshot_.index) return snapshot_.term;
  if (i < snapshot_.index || i > last_index()) return std::nullopt;
  return At(i).term;
}

const Entry& RaftLog::At(Index i) const {
  SAMSA_CHECK(i >= first_index() && i <= last_index()) << "index " << i << " outside the log";
  return entries_[static_cast<size_t>(i - first_index())];
}

bool RaftLog::IsUpToDate(Index index, Term term) const {
  return term > last_term() || (term == last_term() && index >= last_index());
}

void RaftLog::Append(std::vector<Entry> entries) {
  for (Entry& e : entries) {
    SAMSA_CHECK(e.index == last_index() + 1) << "leader appends at the end";
    entries_.push_back(std::move(e));
  }
}

std::optional<Index> RaftLog::MaybeAppend(Index prev, Term prev_term,
                                          const std::vector<Entry>& entries) {
  if (TermAt(prev) != prev_term) return std::nullopt;
  for (const Entry& e : entries) {
    if (e.index <= snapshot_.index) continue;  // already covered by our snapshot
    const std::optional<Term> ours = TermAt(e.index);
    if (ours == e.term) continue;  // already have it (§5.3: keep, don't truncate)
    if (ours.has_value()) {
      // A conflict: an entry committed anywhere cannot be here (§5.4).
      SAMSA_CHECK(e.index > commit_) << "conflict at committed index " << e.index;
      entries_.resize(static_cast<size_t>(e.index - first_index()));
      written_ = std::min(written_, e.index - 1);
      stable_ = std::min(stable_, e.index - 1);
    }
    entries_.push_back(e);
  }
  return entries.empty() ? prev : entries.back().index;
}

std::vector<Entry> RaftLog::Slice(Index lo, Index hi, size_t max_bytes) const {
  std::vector<Entry> out;
  size_t bytes = 0;
  for (Index i = std::max(lo, first_index()); i < hi && i <= last_index(); ++i) {
    const Entry& e = At(i);
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

Index RaftLog::FirstIndexOfTerm(Term term, Index at) const {
  Index i = std::min(at, last_index());
  while (i > snapshot_.index && TermAt(i - 1) == term) i = i - 1;
  return i;
}

Index RaftLog::LastIndexOfTerm(Term term) const {
  for (Index i = last_index(); i > snapshot_.index; i = i - 1) {
    const Term t = At(i).term;
    if (t == term) return i;
    if (t < term) break;
  }
  return Index(0);
}

void RaftLog::CommitTo(Index i) {
  if (i <= commit_) return;
  SAMSA_CHECK(i <= last_index()) << "commit " << i << " beyond log end " << last_index();
  commit_ = i;
}

std::vector<Entry> RaftLog::Unwritten() const {
  return {entries_.begin() + static_cast<ptrdiff_t>(written_ - snapshot_.index), entries_.end()};
}

void RaftLog::WrittenTo(Index i) {
  SAMSA_CHECK(i <= last_index()) << "written " << i << " beyond log end " << last_index();
  written_ = std::max(written_, i);
}

void RaftLog::StableTo(Index i, Term t) {
  if (i > stable_ && i <= written_ && TermAt(i) == t) stable_ = i;
}

std::vector<Entry> RaftLog::NextToApply(size_t max_bytes) const {
  const Index hi = std::min(commit_, stable_);
  if (hi <= applied_) return {};
  return Slice(applied_ + 1, hi + 1, max_bytes);
}

void RaftLog::AppliedTo(Index i) {
  SAMSA_CHECK(i <= commit_ && i >= applied_)
      << "applied " << i << " outside [" << applied_ << ", " << commit_ << "]";
  applied_ = i;
}

void RaftLog::Compact(const SnapshotMeta& meta) {
  SAMSA_CHECK(meta.index <= applied_ && meta.index > snapshot_.index)
      << "compact to " << meta.index << " with applied " << applied_;
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<ptrdiff_t>(meta.index - snapshot_.index));
  snapshot_ = meta;
}

void RaftLog::Restore(const SnapshotMeta& meta) {
  entries_.clear();
  snapshot_ = meta;
  stable_ = meta.index;
  written_ = meta.index;
  SAMSA_CHECK(meta.index >= commit_) << "a snapshot below the commit index is never restored";
  commit_ = meta.index;
  applied_ = meta.index;
}

}  // namespace samsa::raft
