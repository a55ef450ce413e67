// FetchSessions alone: the session protocol's checks, which partitions a
// request looks at, wake-ups, and the bounds on sessions.
#include "broker/fetch_session.h"

#include <map>
#include <vector>

#include "gtest/gtest.h"
#include "storage/log_test_util.h"

namespace samsa::broker {
namespace {

const NodeId kFollower(2);
const absl::Time kT0 = absl::FromUnixSeconds(1000);

class FetchSessionsTest : public ::testing::Test {
 protected:
  FetchSessionsTest() {
    log_ = *harness_.Open();
    for (int i = 0; i < 4; ++i) {
      storage::TopicPartitionName tp{"t", PartitionId(i)};
      here_[tp] = std::make_shared<Partition>(tp, log_, NodeId(1));
    }
  }

  FetchSessions::Options Options() {
    return {.max_sessions = 8,
            .max_per_replica = 3,
            .idle = absl::Minutes(1),
            .refresh = absl::Seconds(10),
            .on_wake = [this](const void* s) { woken_.push_back(s); },
            .first_id = 100};
  }

  static v1::ReplicaFetchRequest Open(std::vector<int> partitions, int32_t old_session = 0,
                                      NodeId replica = kFollower) {
    v1::ReplicaFetchRequest r;
    r.set_replica_id(replica.value());
    r.set_open_session(true);
    r.set_session_id(old_session);
    for (int p : partitions) Say(&r, p, 0);
    return r;
  }
  static v1::ReplicaFetchRequest Next(int32_t session, int32_t epoch) {
    v1::ReplicaFetchRequest r;
    r.set_replica_id(kFollower.value());
    r.set_session_id(session);
    r.set_session_epoch(epoch);
    return r;
  }
  static void Say(v1::ReplicaFetchRequest* r, int partition, int64_t offset) {
    v1::ReplicaFetchRequest::Partition* p = r->add_partitions();
    p->set_topic("t");
    p->set_partition(partition);
    p->set_fetch_offset(offset);
  }

  // The partitions (named or not) a request of `session` looks at.
  std::map<int, bool> Update(FetchSessions& sessions, FetchSession& session,
                             const v1::ReplicaFetchRequest& r, absl::Time now = kT0) {
    std::vector<bool> named;
    std::vector<FetchSession::Entry*> entries = sessions.Update(
        session, r, now, [this](const storage::TopicPartitionName& tp) { return Find(tp); },
        &named);
    EXPECT_EQ(entries.size(), named.size());
    std::map<int, bool> out;
    for (size_t i = 0; i < entries.size(); ++i) {
      EXPECT_EQ(Find({entries[i]->said.topic(), PartitionId(entries[i]->said.partition())}),
                entries[i]->partition)
          << "each entry looked at is resolved";
      EXPECT_TRUE(out.emplace(entries[i]->said.partition(), named[i]).second) << "each once";
    }
    return out;
  }

  std::shared_ptr<Partition> Find(const storage::TopicPartitionName& tp) {
    auto it = here_.find(tp);
    return it == here_.end() ? nullptr : it->second;
  }
  const Partition* P(int i) { return here_.at({"t", PartitionId(i)}).get(); }

  storage::testing::LogHarness harness_;
  std::shared_ptr<storage::PartitionLog> log_;
  std::map<storage::TopicPartitionName, std::shared_ptr<Partition>> here_;
  std::vector<const void*> woken_;
};

TEST_F(FetchSessionsTest, ASessionContinuesOnlyInItsEpochOrder) {
  FetchSessions sessions(Options());
  FetchSessions::Begun opened = sessions.Begin(Open({0, 1}), kT0);
  ASSERT_NE(nullptr, opened.session);
  EXPECT_EQ(100, opened.session->id());
  const int32_t id = opened.session->id();
  EXPECT_EQ((std::map<int, bool>{{0, true}, {1, true}}),
            Update(sessions, *opened.session, Open({0, 1})));
  EXPECT_EQ(v1::INVALID_FETCH_SESSION_EPOCH, sessions.Begin(Next(id, 1), kT0).error)
      << "another request holds it";
  EXPECT_TRUE(sessions.Release(*opened.session));

  EXPECT_EQ(v1::INVALID_FETCH_SESSION_EPOCH, sessions.Begin(Next(id, 2), kT0).error)
      << "epoch 1 comes first";
  FetchSessions::Begun first = sessions.Begin(Next(id, 1), kT0);
  ASSERT_EQ(v1::NONE, first.error) << first.message;
  EXPECT_EQ(opened.session, first.session);
  EXPECT_TRUE(sessions.Release(*first.session));
  EXPECT_EQ(v1::INVALID_FETCH_SESSION_EPOCH, sessions.Begin(Next(id, 1), kT0).error)
      << "a replay of an epoch is refused";
  EXPECT_EQ(v1::FETCH_SESSION_ID_NOT_FOUND, sessions.Begin(Next(id + 1, 2), kT0).error);
  v1::ReplicaFetchRequest someone_else = Next(id, 2);
  someone_else.set_replica_id(3);
  EXPECT_EQ(v1::FETCH_SESSION_ID_NOT_FOUND, sessions.Begin(someone_else, kT0).error)
      << "a session is its follower's alone";

  v1::ReplicaFetchRequest plain;
  plain.set_replica_id(kFollower.value());
  FetchSessions::Begun none = sessions.Begin(plain, kT0);
  EXPECT_EQ(nullptr, none.session) << "a request without session fields has none";
  EXPECT_EQ(v1::NONE, none.error);

  // Reopening with the old id closes it.
  FetchSessions::Begun reopened = sessions.Begin(Open({0}, id), kT0);
  ASSERT_NE(nullptr, reopened.session);
  EXPECT_NE(id, reopened.session->id());
  EXPECT_EQ(v1::FETCH_SESSION_ID_NOT_FOUND, sessions.Begin(Next(id, 2), kT0).error);
  EXPECT_EQ(1u, sessions.size());
}

TEST_F(FetchSessionsTest, ARequestLooksAtWhatItNamesAndWhatEventsTouched) {
  FetchSessions sessions(Options());
  std::shared_ptr<FetchSession> s = sessions.Begin(Open({0, 1, 2}), kT0).session;
  ASSERT_NE(nullptr, s);
  Update(sessions, *s, Open({0, 1, 2}));
  sessions.Release(*s);

  // Nothing named, nothing happened: nothing to look at.
  ASSERT_EQ(v1::NONE, sessions.Begin(Next(s->id(), 1), kT0).error);
  EXPECT_TRUE(Update(sessions, *s, Next(s->id(), 1)).empty());
  sessions.Release(*s);

  // A high watermark moved on 1 (no wake-up), records came to 2, and the
  // follower names 0.
  sessions.Touch(P(1), /*wake=*/false);
  EXPECT_FALSE(sessions.Woken(*s));
  sessions.Touch(P(2), /*wake=*/true);
  EXPECT_TRUE(sessions.Woken(*s));
  EXPECT_TRUE(woken_.empty()) << "no request holds the session: nobody to wake";
  sessions.Touch(P(3), /*wake=*/true);  // not in the session
  v1::ReplicaFetchRequest r = Next(s->id(), 2);
  Say(&r, 0, 5);
  ASSERT_EQ(v1::NONE, sessions.Begin(r, kT0).error);
  EXPECT_EQ((std::map<int, bool>{{0, true}, {1, false}, {2, false}}), Update(sessions, *s, r));
  EXPECT_FALSE(sessions.Woken(*s)) << "looked at";

  // While a request holds it (long-polling), a touch wakes it.
  sessions.Touch(P(2), /*wake=*/true);
  ASSERT_EQ(1u, woken_.size());
  EXPECT_EQ(s.get(), woken_[0]);
  sessions.Touch(P(2), /*wake=*/true);
  EXPECT_EQ(1u, woken_.size()) << "woken once until looked at";
  std::vector<FetchSession::Entry*> touched =
      sessions.TakeTouched(*s, kT0, [this](const auto& tp) { return Find(tp); });
  ASSERT_EQ(1u, touched.size());
  EXPECT_EQ(2, touched[0]->said.partition());
  // A partition left out for want of bytes is looked at next time.
  sessions.KeepTouched(*s, touched[0]);
  EXPECT_FALSE(sessions.Woken(*s)) << "kept, not woken";
  sessions.Release(*s);
  ASSERT_EQ(v1::NONE, sessions.Begin(Next(s->id(), 3), kT0).error);
  EXPECT_EQ((std::map<int, bool>{{2, false}}), Update(sessions, *s, Next(s->id(), 3)));
  sessions.Release(*s);

  // Forgotten: no longer touched.
  r = Next(s->id(), 4);
  v1::ReplicaFetchRequest::Forgotten* f = r.add_forgotten();
  f->set_topic("t");
  f->set_partition(1);
  ASSERT_EQ(v1::NONE, sessions.Begin(r, kT0).error);
  EXPECT_TRUE(Update(sessions, *s, r).empty());
  sessions.Release(*s);
  sessions.Touch(P(1), /*wake=*/true);
  EXPECT_FALSE(sessions.Woken(*s));
}

TEST_F(FetchSessionsTest, ImagesAndTheRefreshLookAtEveryPartition) {
  FetchSessions sessions(Options());
  std::shared_ptr<FetchSession> s = sessions.Begin(Open({0, 1, 2}), kT0).session;
  Update(sessions, *s, Open({0, 1, 2}));
  sessions.Release(*s);

  sessions.TouchAll();
  EXPECT_TRUE(sessions.Woken(*s));
  ASSERT_EQ(v1::NONE, sessions.Begin(Next(s->id(), 1), kT0).error);
  EXPECT_EQ((std::map<int, bool>{{0, false}, {1, false}, {2, false}}),
            Update(sessions, *s, Next(s->id(), 1)));
  sessions.Release(*s);

  ASSERT_EQ(v1::NONE, sessions.Begin(Next(s->id(), 2), kT0 + absl::Seconds(9)).error);
  EXPECT_TRUE(Update(sessions, *s, Next(s->id(), 2), kT0 + absl::Seconds(9)).empty());
  sessions.Release(*s);
  ASSERT_EQ(v1::NONE, sessions.Begin(Next(s->id(), 3), kT0 + absl::Seconds(10)).error);
  EXPECT_EQ(3u, Update(sessions, *s, Next(s->id(), 3), kT0 + absl::Seconds(10)).size())
      << "the refresh is due";
  sessions.Release(*s);
}

TEST_F(FetchSessionsTest, APartitionReplacedHereIsResolvedAgain) {
  FetchSessions sessions(Options());
  std::shared_ptr<FetchSession> s = sessions.Begin(Open({0}), kT0).session;
  Update(sessions, *s, Open({0}));
  sessions.Release(*s);
  const Partition* before = P(0);
  here_[{"t", PartitionId(0)}] = std::make_shared<Partition>(
      storage::TopicPartitionName{"t", PartitionId(0)}, log_, NodeId(1));
  sessions.TouchAll();  // the image that re-created it
  ASSERT_EQ(v1::NONE, sessions.Begin(Next(s->id(), 1), kT0).error);
  Update(sessions, *s, Next(s->id(), 1));
  sessions.Release(*s);
  sessions.Touch(before, /*wake=*/true);
  EXPECT_FALSE(sessions.Woken(*s)) << "the old replica is not the session's";
  sessions.Touch(P(0), /*wake=*/true);
  EXPECT_TRUE(sessions.Woken(*s));
}

TEST_F(FetchSessionsTest, SessionsAreBoundedPerFollowerAndInAll) {
  FetchSessions sessions(Options());
  std::vector<int32_t> ids;
  for (int i = 0; i < 3; ++i) {
    std::shared_ptr<FetchSession> s = sessions.Begin(Open({0}), kT0 + absl::Seconds(i)).session;
    ASSERT_NE(nullptr, s);
    sessions.Release(*s);
    ids.push_back(s->id());
  }
  // A fourth for the same follower closes its least recently used.
  std::shared_ptr<FetchSession> fourth = sessions.Begin(Open({0}), kT0 + absl::Seconds(3)).session;
  ASSERT_NE(nullptr, fourth);
  sessions.Release(*fourth);
  EXPECT_EQ(v1::FETCH_SESSION_ID_NOT_FOUND, sessions.Begin(Next(ids[0], 1), kT0).error);
  EXPECT_EQ(3u, sessions.size());

  // Other followers fill the cache (8); when full, only a session idle for
  // a minute makes room.
  for (int replica = 3; sessions.size() < 8; ++replica) {
    std::shared_ptr<FetchSession> s =
        sessions.Begin(Open({0}, 0, NodeId(replica)), kT0 + absl::Seconds(10)).session;
    ASSERT_NE(nullptr, s);
    sessions.Release(*s);
  }
  EXPECT_EQ(nullptr, sessions.Begin(Open({0}, 0, NodeId(50)), kT0 + absl::Seconds(30)).session)
      << "full, none idle: no session (the follower fetches without one)";
  std::shared_ptr<FetchSession> late =
      sessions.Begin(Open({0}, 0, NodeId(50)), kT0 + absl::Seconds(62)).session;
  ASSERT_NE(nullptr, late) << "the least recently used, idle for a minute, made room";
  EXPECT_EQ(v1::FETCH_SESSION_ID_NOT_FOUND, sessions.Begin(Next(ids[1], 1), kT0).error);
  EXPECT_EQ(8u, sessions.size());
}

TEST_F(FetchSessionsTest, ClosingASessionWakesTheRequestHoldingIt) {
  FetchSessions sessions(Options());
  std::shared_ptr<FetchSession> s = sessions.Begin(Open({0}), kT0).session;
  Update(sessions, *s, Open({0}));
  // The follower gave up on it (a timeout) and opens another.
  std::shared_ptr<FetchSession> next = sessions.Begin(Open({0}, s->id()), kT0).session;
  ASSERT_NE(nullptr, next);
  ASSERT_EQ(1u, woken_.size());
  EXPECT_EQ(s.get(), woken_[0]);
  EXPECT_TRUE(sessions.Woken(*s));
  EXPECT_FALSE(sessions.Release(*s)) << "the answer tells the follower it is gone";
  Update(sessions, *next, Open({0}));
  sessions.Release(*next);
  sessions.Touch(P(0), /*wake=*/true);
  EXPECT_TRUE(sessions.Woken(*next));
  EXPECT_EQ(1u, woken_.size()) << "the closed session left the index";
}

}  // namespace
}  // namespace samsa::broker
