#include "broker/consumer_group.h"

#include <algorithm>
#include <random>

#include "gtest/gtest.h"

namespace samsa::broker {
namespace {

const std::map<std::string, int32_t> kTopics = {{"t", 4}};
const absl::Time kStart = absl::FromUnixSeconds(1000);

// No partition is both given to one member and held (given or still owned)
// by another.
void ExpectNoTwoOwners(const ConsumerGroup& g) {
  std::map<std::pair<std::string, int32_t>, std::string> holder;
  for (const GroupMemberView& m : g.Members()) {
    for (const TopicPartitions* tps : {&m.assignment, &m.revoking}) {
      for (const auto& [topic, ps] : *tps) {
        for (int32_t p : ps) {
          auto [it, fresh] = holder.emplace(std::make_pair(topic, p), m.member_id);
          EXPECT_TRUE(fresh) << topic << "-" << p << " held by " << it->second << " and "
                             << m.member_id;
        }
      }
    }
  }
}

size_t Size(const TopicPartitions& tps) {
  size_t n = 0;
  for (const auto& [t, ps] : tps) n += ps.size();
  return n;
}

GroupHeartbeat Join(const std::string& client) {
  return {.member_id = "",
          .member_epoch = 0,
          .client_id = client,
          .topics = std::vector<std::string>{"t"}};
}

GroupHeartbeat Beat(const GroupHeartbeatResult& last, std::optional<TopicPartitions> owned) {
  return {.member_id = last.member_id, .member_epoch = last.member_epoch, .owned = owned};
}

// member-a joins and takes all four partitions; member-b joins, member-a
// releases two, and member-b's heartbeat at `b_at` gets them.
std::pair<GroupHeartbeatResult, GroupHeartbeatResult> SplitBetweenTwo(ConsumerGroup& g,
                                                                      absl::Time b_at) {
  GroupHeartbeatResult a = g.Heartbeat(Join("a"), kTopics, kStart, "member-a");
  a = g.Heartbeat(Beat(a, a.assignment), kTopics, kStart, "");
  GroupHeartbeatResult b = g.Heartbeat(Join("b"), kTopics, kStart, "member-b");
  a = g.Heartbeat(Beat(a, a.assignment), kTopics, kStart, "");
  a = g.Heartbeat(Beat(a, a.assignment), kTopics, kStart, "");
  b = g.Heartbeat(Beat(b, b.assignment), kTopics, b_at, "");
  return {a, b};
}

TEST(ConsumerGroupTest, APartitionMovesOnlyAfterItsOwnerReleasesIt) {
  ConsumerGroup g("g", &AssignUniform, absl::Seconds(10));
  GroupHeartbeatResult a = g.Heartbeat(Join("a"), kTopics, kStart, "member-a");
  ASSERT_EQ(v1::NONE, a.error);
  EXPECT_EQ("member-a", a.member_id);
  EXPECT_GT(a.member_epoch, 0);
  EXPECT_EQ(4u, Size(a.assignment));
  a = g.Heartbeat(Beat(a, a.assignment), kTopics, kStart, "");
  EXPECT_EQ(ConsumerGroup::State::kStable, g.state());

  GroupHeartbeatResult b = g.Heartbeat(Join("b"), kTopics, kStart, "member-b");
  EXPECT_EQ(0u, Size(b.assignment)) << "everything is still member-a's";
  EXPECT_EQ(ConsumerGroup::State::kReconciling, g.state());
  ExpectNoTwoOwners(g);

  const TopicPartitions a_owned = a.assignment;
  a = g.Heartbeat(Beat(a, a_owned), kTopics, kStart, "");
  EXPECT_EQ(2u, Size(a.assignment)) << "two are revoked from member-a";
  b = g.Heartbeat(Beat(b, TopicPartitions{}), kTopics, kStart, "");
  EXPECT_EQ(0u, Size(b.assignment)) << "member-a still reports owning them";
  ExpectNoTwoOwners(g);

  a = g.Heartbeat(Beat(a, a.assignment), kTopics, kStart, "");  // released
  b = g.Heartbeat(Beat(b, TopicPartitions{}), kTopics, kStart, "");
  EXPECT_EQ(2u, Size(b.assignment));
  b = g.Heartbeat(Beat(b, b.assignment), kTopics, kStart, "");
  EXPECT_EQ(ConsumerGroup::State::kStable, g.state());
  ExpectNoTwoOwners(g);
}

// KIP-1251: a commit racing the heartbeat that moves the member to a new
// epoch lands for the partitions it held at the epoch it sent, and only
// those.
TEST(ConsumerGroupTest, ACommitAtTheEpochBeforeCoversOnlyThePartitionsHeldSinceThen) {
  ConsumerGroup g("g", &AssignUniform, absl::Seconds(10));
  auto [a, b] = SplitBetweenTwo(g, kStart);
  b = g.Heartbeat(Beat(b, b.assignment), kTopics, kStart, "");
  ASSERT_EQ(ConsumerGroup::State::kStable, g.state());
  ASSERT_EQ(2u, Size(b.assignment));
  const std::pair<std::string, int32_t> kept = {"t", b.assignment.at("t")[0]};
  const std::pair<std::string, int32_t> from_a = {"t", a.assignment.at("t")[0]};
  const int32_t before = b.member_epoch;

  // member-a leaves; member-b's next heartbeat moves it to a new epoch with
  // member-a's partitions, but its commit went out with the epoch before.
  g.Heartbeat({.member_id = a.member_id, .member_epoch = kLeaveEpoch}, kTopics, kStart, "");
  b = g.Heartbeat(Beat(b, b.assignment), kTopics, kStart, "");
  ASSERT_EQ(4u, Size(b.assignment));
  ASSERT_GT(b.member_epoch, before);
  EXPECT_EQ(v1::NONE, g.CheckCommit(b.member_id, before, {kept}).code);
  EXPECT_EQ(v1::STALE_MEMBER_EPOCH, g.CheckCommit(b.member_id, before, {kept, from_a}).code)
      << "member-b did not hold it at the epoch it sent";
  EXPECT_EQ(v1::NONE, g.CheckCommit(b.member_id, b.member_epoch, {kept, from_a}).code);
  EXPECT_EQ(v1::STALE_MEMBER_EPOCH, g.CheckCommit(b.member_id, b.member_epoch + 1, {kept}).code)
      << "an epoch the coordinator never gave";

  // A member that joins takes two of them back: member-b's commit at its
  // older epoch no longer covers what it gave up.
  GroupHeartbeatResult c = g.Heartbeat(Join("c"), kTopics, kStart, "member-c");
  const int32_t holding_all = b.member_epoch;
  b = g.Heartbeat(Beat(b, b.assignment), kTopics, kStart, "");
  ASSERT_EQ(2u, Size(b.assignment));
  for (int32_t p = 0; p < 4; ++p) {
    const bool kept_it = std::ranges::count(b.assignment.at("t"), p) > 0;
    EXPECT_EQ(kept_it ? v1::NONE : v1::STALE_MEMBER_EPOCH,
              g.CheckCommit(b.member_id, holding_all, {{"t", p}}).code)
        << "partition " << p;
  }
  EXPECT_EQ(v1::NONE, c.error);
}

TEST(ConsumerGroupTest, AnExpiredOrLeavingMembersPartitionsGoToTheOthers) {
  ConsumerGroup g("g", &AssignUniform, absl::Seconds(10));
  auto [a, b] = SplitBetweenTwo(g, kStart + absl::Seconds(8));
  ASSERT_EQ(2u, Size(b.assignment));

  // member-a goes silent: after its session it is gone, member-b takes all.
  EXPECT_TRUE(g.ExpireSessions(kStart + absl::Seconds(9), kTopics).empty());
  EXPECT_EQ(std::vector<std::string>{"member-a"},
            g.ExpireSessions(kStart + absl::Seconds(11), kTopics));
  b = g.Heartbeat(Beat(b, b.assignment), kTopics, kStart + absl::Seconds(11), "");
  EXPECT_EQ(4u, Size(b.assignment));

  GroupHeartbeat leave{.member_id = b.member_id, .member_epoch = -1};
  EXPECT_EQ(-1, g.Heartbeat(leave, kTopics, kStart + absl::Seconds(12), "").member_epoch);
  EXPECT_TRUE(g.empty());
  EXPECT_EQ(ConsumerGroup::State::kEmpty, g.state());
}

TEST(ConsumerGroupTest, CommitsAndHeartbeatsAreFencedByMemberEpoch) {
  ConsumerGroup g("g", &AssignUniform, absl::Seconds(10));
  EXPECT_EQ(v1::NONE, g.CheckCommit("", -1, {}).code) << "standalone commits while empty";
  GroupHeartbeatResult a = g.Heartbeat(Join("a"), kTopics, kStart, "member-a");
  EXPECT_EQ(v1::UNKNOWN_MEMBER_ID, g.CheckCommit("", -1, {}).code) << "not once it has members";
  EXPECT_EQ(v1::NONE, g.CheckCommit(a.member_id, a.member_epoch, {}).code);
  EXPECT_EQ(v1::STALE_MEMBER_EPOCH,
            g.CheckCommit(a.member_id, a.member_epoch - 1, {{"t", 0}}).code);
  EXPECT_EQ(v1::UNKNOWN_MEMBER_ID, g.CheckCommit("nobody", 1, {}).code);

  GroupHeartbeat stale = Beat(a, std::nullopt);
  stale.member_epoch += 5;
  EXPECT_EQ(v1::FENCED_MEMBER_EPOCH, g.Heartbeat(stale, kTopics, kStart, "").error);
  GroupHeartbeat unknown{.member_id = "ghost", .member_epoch = 3};
  EXPECT_EQ(v1::UNKNOWN_MEMBER_ID, g.Heartbeat(unknown, kTopics, kStart, "").error);
  GroupHeartbeat no_topics{.member_id = "", .member_epoch = 0};
  EXPECT_EQ(v1::INVALID_REQUEST, g.Heartbeat(no_topics, kTopics, kStart, "x").error);
}

TEST(ConsumerGroupTest, RandomChurnNeverGivesAPartitionTwoOwnersAndSettles) {
  for (uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937 rng(seed);
    ConsumerGroup g("g", &AssignUniform, absl::Seconds(5));
    const std::map<std::string, int32_t> topics = {{"t", 7}, {"u", 3}};
    std::map<std::string, GroupHeartbeatResult> live;  // member -> last answer
    absl::Time now = kStart;
    int next = 0;
    for (int step = 0; step < 300; ++step) {
      now += absl::Milliseconds(std::uniform_int_distribution<int>(1, 800)(rng));
      const int op = std::uniform_int_distribution<int>(0, 9)(rng);
      if (op == 0 || live.empty()) {
        GroupHeartbeat j = Join("c");
        j.topics = std::vector<std::string>{"t", "u"};
        // Half join as one of three static instances (which may be taken).
        if (rng() % 2 == 0) j.instance_id = "i" + std::to_string(rng() % 3);
        const std::string id = "m" + std::to_string(next++);
        GroupHeartbeatResult r = g.Heartbeat(j, topics, now, id);
        if (r.error == v1::NONE) live[id] = r;
      } else if (op == 1) {
        auto it =
            std::next(live.begin(), std::uniform_int_distribution<size_t>(0, live.size() - 1)(rng));
        const int32_t epoch = rng() % 2 == 0 ? kLeaveEpoch : kStaticLeaveEpoch;
        g.Heartbeat({.member_id = it->first, .member_epoch = epoch}, topics, now, "");
        live.erase(it);
      } else {
        auto it =
            std::next(live.begin(), std::uniform_int_distribution<size_t>(0, live.size() - 1)(rng));
        // A member reports what it was last given (it processed the
        // revocation) — or, sometimes, nothing new.
        GroupHeartbeatResult r = g.Heartbeat(
            Beat(it->second, op == 2 ? std::nullopt : std::optional(it->second.assignment)), topics,
            now, "");
        if (r.error != v1::NONE) {
          live.erase(it);
        } else {
          it->second = r;
        }
      }
      for (const std::string& gone : g.ExpireSessions(now, topics)) live.erase(gone);
      ExpectNoTwoOwners(g);
    }
    // Everyone heartbeats for a while (static members that left and did
    // not come back expire): the group settles on its target.
    for (int round = 0; round < 8; ++round) {
      now += absl::Seconds(1);
      for (auto& [id, last] : live)
        last = g.Heartbeat(Beat(last, last.assignment), topics, now, "");
      for (const std::string& gone : g.ExpireSessions(now, topics)) live.erase(gone);
      ExpectNoTwoOwners(g);
    }
    for (auto& [id, last] : live) last = g.Heartbeat(Beat(last, last.assignment), topics, now, "");
    if (!live.empty()) {
      EXPECT_EQ(ConsumerGroup::State::kStable, g.state()) << "seed " << seed;
    }
    size_t assigned = 0;
    for (const auto& [id, last] : live) assigned += Size(last.assignment);
    EXPECT_EQ(live.empty() ? 0u : 10u, assigned) << "seed " << seed;
  }
}

TEST(ConsumerGroupTest, AStaticMemberKeepsItsPartitionsAcrossARestart) {
  ConsumerGroup g("g", &AssignUniform, absl::Seconds(10));
  GroupHeartbeat join_a = Join("a");
  join_a.instance_id = "host-a";
  GroupHeartbeatResult a = g.Heartbeat(join_a, kTopics, kStart, "member-a1");
  a = g.Heartbeat(Beat(a, a.assignment), kTopics, kStart, "");
  GroupHeartbeatResult b = g.Heartbeat(Join("b"), kTopics, kStart, "member-b");
  a = g.Heartbeat(Beat(a, a.assignment), kTopics, kStart, "");
  a = g.Heartbeat(Beat(a, a.assignment), kTopics, kStart, "");
  b = g.Heartbeat(Beat(b, TopicPartitions{}), kTopics, kStart, "");
  b = g.Heartbeat(Beat(b, b.assignment), kTopics, kStart, "");
  ASSERT_EQ(ConsumerGroup::State::kStable, g.state());
  const TopicPartitions a_had = a.assignment;
  const int32_t epoch = g.epoch();
  ASSERT_EQ(2u, Size(a_had));

  // A second process with the same instance id while the first is in.
  GroupHeartbeatResult twin = g.Heartbeat(join_a, kTopics, kStart, "member-a2");
  EXPECT_EQ(v1::UNRELEASED_INSTANCE_ID, twin.error);
  EXPECT_NE(std::string::npos, twin.message.find("host-a")) << twin.message;

  // Leaves for a restart: its partitions stay reserved, nobody rebalances.
  GroupHeartbeat leave = Beat(a, a.assignment);
  leave.member_epoch = kStaticLeaveEpoch;
  EXPECT_EQ(v1::NONE, g.Heartbeat(leave, kTopics, kStart, "").error);
  b = g.Heartbeat(Beat(b, b.assignment), kTopics, kStart + absl::Seconds(5), "");
  EXPECT_EQ(2u, Size(b.assignment)) << "member-a's partitions are kept for it";
  EXPECT_EQ(epoch, g.epoch());
  ASSERT_EQ(2u, g.Members().size());
  EXPECT_TRUE(g.Members()[0].left);

  GroupHeartbeatResult back = g.Heartbeat(join_a, kTopics, kStart + absl::Seconds(6), "member-a2");
  ASSERT_EQ(v1::NONE, back.error) << back.message;
  EXPECT_EQ("member-a2", back.member_id);
  EXPECT_EQ(a_had, back.assignment);
  EXPECT_EQ(a.member_epoch, back.member_epoch);
  EXPECT_EQ(epoch, g.epoch()) << "taking over is not a rebalance";
  EXPECT_EQ(v1::UNKNOWN_MEMBER_ID, g.CheckCommit("member-a1", a.member_epoch, {}).code);
  EXPECT_EQ(v1::NONE, g.CheckCommit("member-a2", back.member_epoch, {}).code);
  back = g.Heartbeat(Beat(back, back.assignment), kTopics, kStart + absl::Seconds(6), "");
  EXPECT_EQ(ConsumerGroup::State::kStable, g.state());
  ExpectNoTwoOwners(g);

  // Gone for longer than the session timeout: its partitions move.
  leave = Beat(back, back.assignment);
  leave.member_epoch = kStaticLeaveEpoch;
  g.Heartbeat(leave, kTopics, kStart + absl::Seconds(7), "");
  b = g.Heartbeat(Beat(b, b.assignment), kTopics, kStart + absl::Seconds(15), "");
  EXPECT_EQ(std::vector<std::string>{"member-a2"},
            g.ExpireSessions(kStart + absl::Seconds(18), kTopics));
  b = g.Heartbeat(Beat(b, b.assignment), kTopics, kStart + absl::Seconds(18), "");
  EXPECT_EQ(4u, Size(b.assignment));
}

TEST(ConsumerGroupTest, AMemberThatDoesNotReleaseWithinItsRebalanceTimeoutIsRemoved) {
  ConsumerGroup g("g", &AssignUniform, absl::Seconds(10));
  GroupHeartbeat join_a = Join("a");
  join_a.rebalance_timeout = absl::Seconds(3);
  GroupHeartbeatResult a = g.Heartbeat(join_a, kTopics, kStart, "member-a");
  a = g.Heartbeat(Beat(a, a.assignment), kTopics, kStart, "");
  const TopicPartitions all = a.assignment;
  GroupHeartbeatResult b = g.Heartbeat(Join("b"), kTopics, kStart, "member-b");
  // member-a keeps heartbeating but never stops reporting all four.
  for (int s = 0; s <= 3; ++s) {
    a = g.Heartbeat(Beat(a, all), kTopics, kStart + absl::Seconds(s), "");
    b = g.Heartbeat(Beat(b, b.assignment), kTopics, kStart + absl::Seconds(s), "");
    EXPECT_TRUE(g.ExpireSessions(kStart + absl::Seconds(s), kTopics).empty()) << s;
  }
  EXPECT_EQ(0u, Size(b.assignment));
  EXPECT_EQ(std::vector<std::string>{"member-a"},
            g.ExpireSessions(kStart + absl::Seconds(3) + absl::Milliseconds(1), kTopics));
  b = g.Heartbeat(Beat(b, b.assignment), kTopics, kStart + absl::Seconds(4), "");
  EXPECT_EQ(4u, Size(b.assignment));
  EXPECT_EQ(v1::UNKNOWN_MEMBER_ID, g.Heartbeat(Beat(a, all), kTopics, kStart, "").error);
}

TEST(ConsumerGroupTest, AnInvalidEpochIsRefused) {
  ConsumerGroup g("g", &AssignUniform, absl::Seconds(10));
  GroupHeartbeat hb = Join("a");
  hb.member_epoch = -3;
  EXPECT_EQ(v1::INVALID_REQUEST, g.Heartbeat(hb, kTopics, kStart, "m").error);
  EXPECT_TRUE(g.empty());
}

}  // namespace
}  // namespace samsa::broker
