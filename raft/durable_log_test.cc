#include "raft/durable_log.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/fault_env.h"
#include "storage/mem_env.h"

namespace samsa::raft {
namespace {

using ::testing::HasSubstr;

Entry E(int64_t index, int64_t term, std::string data = "d", EntryType type = EntryType::kNormal) {
  return Entry{Term(term), Index(index), type, std::move(data)};
}

class DurableLogTest : public ::testing::Test {
 protected:
  DurableLogTest() : mem_(storage::NewMemEnv()), env_(mem_.get()) {
    bootstrap_.voters = {NodeId(1), NodeId(2), NodeId(3)};
  }
  std::unique_ptr<DurableLog> Open() {
    auto d = DurableLog::Open(&env_, "/data/raft", bootstrap_, &clock_);
    EXPECT_TRUE(d.ok()) << d.status();
    return d.ok() ? std::move(*d) : nullptr;
  }
  std::unique_ptr<storage::Env> mem_;
  storage::FaultEnv env_;
  FakeClock clock_;
  ConfState bootstrap_;
};

TEST_F(DurableLogTest, EmptyDirectoryRestoresTheBootstrapMembership) {
  auto d = Open();
  auto r = d->Load();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(HardState{}, r->hard_state);
  EXPECT_EQ(Index(0), r->snapshot.index);
  EXPECT_EQ(bootstrap_, r->snapshot.conf);
  EXPECT_TRUE(r->entries.empty());
}

TEST_F(DurableLogTest, SavedStateSurvivesARestart) {
  {
    auto d = Open();
    Ready rd;
    rd.entries = {E(1, 1, ""), E(2, 1, "a"), E(3, 2, "conf", EntryType::kConfChange)};
    rd.hard_state = HardState{Term(2), NodeId(3), Index(2)};
    ASSERT_TRUE(d->Save(rd).ok());
  }
  auto r = Open()->Load();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ((HardState{Term(2), NodeId(3), Index(2)}), r->hard_state);
  ASSERT_EQ(3u, r->entries.size());
  EXPECT_EQ(E(2, 1, "a"), r->entries[1]);
  EXPECT_EQ(E(3, 2, "conf", EntryType::kConfChange), r->entries[2]);
}

// §5.3: a new leader's entries replace a conflicting suffix on disk too.
// Term and vote must be durable before anything depends on them; the commit
// index is volatile in Raft and is stored only along with them.
TEST_F(DurableLogTest, HardStateIsRewrittenOnlyForTermOrVote) {
  auto d = Open();
  Ready a;
  a.entries = {E(1, 1), E(2, 1)};
  a.hard_state = HardState{Term(1), NodeId(1), Index(1)};
  ASSERT_TRUE(d->Save(a).ok());
  Ready b;
  b.hard_state = HardState{Term(1), NodeId(1), Index(2)};
  ASSERT_TRUE(d->Save(b).ok());
  EXPECT_EQ(Index(1), Open()->Load()->hard_state.commit) << "commit alone: not rewritten";
  Ready c;
  c.hard_state = HardState{Term(2), kNoNode, Index(2)};
  ASSERT_TRUE(d->Save(c).ok());
  EXPECT_EQ((HardState{Term(2), kNoNode, Index(2)}), Open()->Load()->hard_state);
}

TEST_F(DurableLogTest, ConflictingSuffixIsReplaced) {
  auto d = Open();
  Ready a;
  a.entries = {E(1, 1), E(2, 1), E(3, 1), E(4, 1)};
  ASSERT_TRUE(d->Save(a).ok());
  Ready b;
  b.entries = {E(3, 2, "new")};
  ASSERT_TRUE(d->Save(b).ok());
  auto r = d->Load();
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(3u, r->entries.size());
  EXPECT_EQ(E(3, 2, "new"), r->entries[2]);
}

TEST_F(DurableLogTest, SnapshotsReplaceTheLogPrefix) {
  auto d = Open();
  Ready a;
  for (int i = 1; i <= 10; ++i) a.entries.push_back(E(i, 1));
  ASSERT_TRUE(d->Save(a).ok());
  SnapshotMeta meta{Index(6), Term(1), ConfState{{NodeId(1), NodeId(2)}, {NodeId(4)}}};
  ASSERT_TRUE(d->SaveSnapshot(meta, "state@6").ok());
  auto r = Open()->Load();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(meta, r->snapshot);
  EXPECT_EQ("state@6", r->snapshot_data);
  ASSERT_EQ(4u, r->entries.size());
  EXPECT_EQ(Index(7), r->entries.front().index);

  // A snapshot received from the leader replaces everything.
  Ready b;
  b.snapshot = Snapshot{SnapshotMeta{Index(50), Term(3), ConfState{{NodeId(1)}, {}}}, "s50"};
  b.entries = {E(51, 3)};
  ASSERT_TRUE(d->Save(b).ok());
  r = Open()->Load();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Index(50), r->snapshot.index);
  ASSERT_EQ(1u, r->entries.size());
  EXPECT_EQ(Index(51), r->entries.front().index);
}

TEST_F(DurableLogTest, DamagedFilesStopTheNode) {
  {
    auto d = Open();
    Ready rd;
    rd.entries = {E(1, 1)};
    rd.hard_state = HardState{Term(1), NodeId(1), Index(1)};
    ASSERT_TRUE(d->Save(rd).ok());
    ASSERT_TRUE(d->SaveSnapshot(SnapshotMeta{Index(1), Term(1), bootstrap_}, "s").ok());
  }
  std::string hs = *env_.ReadFile("/data/raft/hard-state");
  hs[3] ^= 1;
  ASSERT_TRUE(env_.WriteFileAtomically("/data/raft/hard-state", hs).ok());
  auto r = Open()->Load();
  EXPECT_EQ(absl::StatusCode::kDataLoss, r.status().code());
  EXPECT_THAT(r.status().message(), HasSubstr("hard-state"));

  hs[3] ^= 1;
  ASSERT_TRUE(env_.WriteFileAtomically("/data/raft/hard-state", hs).ok());
  ASSERT_TRUE(env_.WriteFileAtomically("/data/raft/snapshot", "SAMSNAP1garbage").ok());
  r = Open()->Load();
  EXPECT_EQ(absl::StatusCode::kDataLoss, r.status().code());
  EXPECT_THAT(r.status().message(), HasSubstr("snapshot"));
}

TEST(DurableLogCodecTest, HardStateAndSnapshotRoundTrip) {
  const HardState hs{Term(9), NodeId(2), Index(77)};
  EXPECT_EQ(hs, *DurableLog::DecodeHardState(DurableLog::EncodeHardState(hs)));
  EXPECT_FALSE(DurableLog::DecodeHardState("short").ok());
  const SnapshotMeta meta{Index(5), Term(2), ConfState{{NodeId(1), NodeId(3)}, {NodeId(7)}}};
  auto s = DurableLog::DecodeSnapshot(DurableLog::EncodeSnapshot(meta, "payload"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(meta, s->meta);
  EXPECT_EQ("payload", s->data);
  std::string bytes = DurableLog::EncodeSnapshot(meta, "payload");
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(DurableLog::DecodeSnapshot(bytes.substr(0, cut)).ok()) << cut;
  }
}

// A single-node Raft driven through DurableLog, restarted: it comes back
// with its term, vote, commit and entries, and re-applies what it committed.
TEST_F(DurableLogTest, RaftRestartsFromWhatItPersisted) {
  ConfState solo{{NodeId(1)}, {}};
  std::vector<std::string> applied;
  auto drive = [&](Raft& r, DurableLog& d) {
    while (r.HasReady()) {
      Ready rd = r.GetReady();
      ASSERT_TRUE(d.Save(rd).ok());
      for (const Entry& e : rd.committed) applied.push_back(e.data);
      r.Advance(rd);
    }
  };
  Config c;
  c.id = NodeId(1);
  {
    auto d = *DurableLog::Open(&env_, "/solo", solo, &clock_);
    Raft r(c, *d->Load());
    r.Campaign();
    drive(r, *d);
    ASSERT_EQ(Role::kLeader, r.role());
    ASSERT_TRUE(r.Propose("a").ok());
    ASSERT_TRUE(r.Propose("b").ok());
    drive(r, *d);
    drive(r, *d);
  }
  EXPECT_EQ((std::vector<std::string>{"", "a", "b"}), applied);
  applied.clear();
  auto d = *DurableLog::Open(&env_, "/solo", solo, &clock_);
  auto restored = d->Load();
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(Term(1), restored->hard_state.term);
  EXPECT_EQ(NodeId(1), restored->hard_state.vote);
  EXPECT_LE(restored->hard_state.commit, Index(3)) << "a lower bound; re-learned";
  Raft r(c, std::move(*restored));
  r.Campaign();  // commit is re-learned: here, by leading again
  drive(r, *d);
  EXPECT_EQ(Term(2), r.term());
  EXPECT_EQ((std::vector<std::string>{"", "a", "b", ""}), applied)
      << "replayed from the log, then the new term's no-op";
}

}  // namespace
}  // namespace samsa::raft
