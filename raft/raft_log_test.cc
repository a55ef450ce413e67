#include "raft/raft_log.h"

#include "gtest/gtest.h"

namespace samsa::raft {
namespace {

std::vector<Entry> Terms(std::initializer_list<int> terms, int64_t first = 1) {
  std::vector<Entry> out;
  for (int t : terms) out.push_back(Entry{Term(t), Index(first++), EntryType::kNormal, "d"});
  return out;
}

TEST(RaftLogTest, RestoredLogIsStableAndCommittedAsPersisted) {
  RaftLog log({}, Terms({1, 1, 2}), Index(2));
  EXPECT_EQ(Index(1), log.first_index());
  EXPECT_EQ(Index(3), log.last_index());
  EXPECT_EQ(Term(2), log.last_term());
  EXPECT_EQ(Index(3), log.stable());
  EXPECT_EQ(Index(2), log.commit());
  EXPECT_EQ(Index(0), log.applied());
  EXPECT_EQ(2u, log.NextToApply(1 << 20).size());
  EXPECT_EQ(Term(0), log.TermAt(Index(0)));
  EXPECT_FALSE(log.TermAt(Index(4)).has_value());
}

// §5.4.1: compare last terms first, then lengths.
TEST(RaftLogTest, UpToDateComparesLastTermThenIndex) {
  RaftLog log({}, Terms({1, 2, 2}), Index(0));
  EXPECT_TRUE(log.IsUpToDate(Index(1), Term(3)));
  EXPECT_TRUE(log.IsUpToDate(Index(3), Term(2)));
  EXPECT_TRUE(log.IsUpToDate(Index(4), Term(2)));
  EXPECT_FALSE(log.IsUpToDate(Index(2), Term(2)));
  EXPECT_FALSE(log.IsUpToDate(Index(9), Term(1)));
}

// §5.3: a conflicting suffix is replaced; matching entries are kept, so a
// stale, shorter append cannot truncate newer entries.
TEST(RaftLogTest, MaybeAppendTruncatesOnlyConflicts) {
  RaftLog log({}, Terms({1, 1, 1, 2}), Index(1));
  EXPECT_FALSE(log.MaybeAppend(Index(4), Term(3), {}).has_value()) << "prev term mismatch";
  EXPECT_FALSE(log.MaybeAppend(Index(9), Term(1), {}).has_value()) << "prev beyond the end";

  auto last = log.MaybeAppend(Index(1), Term(1), Terms({1}, 2));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(Index(2), *last);
  EXPECT_EQ(Index(4), log.last_index()) << "matching entries keep the suffix";

  last = log.MaybeAppend(Index(2), Term(1), Terms({3, 3}, 3));
  ASSERT_TRUE(last.has_value());
  EXPECT_EQ(Index(4), log.last_index());
  EXPECT_EQ(Term(3), log.TermAt(Index(3)));
  EXPECT_EQ(Index(2), log.stable()) << "replaced entries are no longer on disk";
  EXPECT_EQ(Index(2), log.written());
  EXPECT_EQ(2u, log.Unwritten().size());
}

TEST(RaftLogTest, HintsFindTermBoundaries) {
  RaftLog log({}, Terms({1, 1, 4, 4, 4, 6}), Index(0));
  EXPECT_EQ(Index(3), log.FirstIndexOfTerm(Term(4), Index(5)));
  EXPECT_EQ(Index(1), log.FirstIndexOfTerm(Term(1), Index(2)));
  EXPECT_EQ(Index(5), log.LastIndexOfTerm(Term(4)));
  EXPECT_EQ(Index(0), log.LastIndexOfTerm(Term(5)));
}

TEST(RaftLogTest, StableToIgnoresReplacedEntries) {
  RaftLog log({}, {}, Index(0));
  log.Append(Terms({1, 1}));
  log.WrittenTo(Index(2));
  EXPECT_EQ(Index(0), log.stable());
  ASSERT_TRUE(log.MaybeAppend(Index(1), Term(1), Terms({2}, 2)).has_value());
  EXPECT_EQ(Index(1), log.written()) << "the replacement is not written yet";
  log.StableTo(Index(2), Term(1));  // the synced entry 2 was from term 1: stale
  EXPECT_EQ(Index(0), log.stable());
  log.StableTo(Index(2), Term(2));
  EXPECT_EQ(Index(0), log.stable()) << "a sync covers only what was written before it";
  log.WrittenTo(Index(2));
  log.StableTo(Index(2), Term(2));
  EXPECT_EQ(Index(2), log.stable());
}

TEST(RaftLogTest, CommitNeverMovesBackAndApplyFollowsStable) {
  RaftLog log({}, {}, Index(0));
  log.Append(Terms({1, 1, 1}));
  log.CommitTo(Index(2));
  log.CommitTo(Index(1));
  EXPECT_EQ(Index(2), log.commit());
  EXPECT_TRUE(log.NextToApply(1 << 20).empty()) << "nothing stable yet";
  log.WrittenTo(Index(3));
  EXPECT_TRUE(log.NextToApply(1 << 20).empty()) << "written, not yet synced";
  log.StableTo(Index(3), Term(1));
  EXPECT_EQ(2u, log.NextToApply(1 << 20).size());
  log.AppliedTo(Index(2));
  EXPECT_TRUE(log.NextToApply(1 << 20).empty());
}

TEST(RaftLogTest, CompactAndRestore) {
  RaftLog log({}, Terms({1, 1, 2, 2}), Index(3));
  log.AppliedTo(Index(3));
  log.Compact(SnapshotMeta{Index(3), Term(2), {}});
  EXPECT_EQ(Index(4), log.first_index());
  EXPECT_EQ(Term(2), log.TermAt(Index(3)));
  EXPECT_FALSE(log.TermAt(Index(2)).has_value());
  log.Restore(SnapshotMeta{Index(10), Term(5), {}});
  EXPECT_EQ(Index(10), log.last_index());
  EXPECT_EQ(Index(10), log.commit());
  EXPECT_EQ(Index(10), log.applied());
  EXPECT_EQ(Index(10), log.stable());
  EXPECT_EQ(Index(10), log.written());
}

TEST(RaftLogDeathTest, ConflictBelowCommitIsABug) {
  RaftLog log({}, Terms({1, 1}), Index(2));
  EXPECT_DEATH(log.MaybeAppend(Index(0), Term(0), Terms({2}, 1)), "conflict at committed index 1");
}

}  // namespace
}  // namespace samsa::raft
