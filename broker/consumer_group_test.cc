#include "broker/consumer_group.h"

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

TEST(ConsumerGroupTest, AnExpiredOrLeavingMembersPartitionsGoToTheOthers) {
  ConsumerGroup g("g", &AssignUniform, absl::Seconds(10));
  GroupHeartbeatResult a = g.Heartbeat(Join("a"), kTopics, kStart, "member-a");
  a = g.Heartbeat(Beat(a, a.assignment), kTopics, kStart, "");
  GroupHeartbeatResult b = g.Heartbeat(Join("b"), kTopics, kStart, "member-b");
  a = g.Heartbeat(Beat(a, a.assignment), kTopics, kStart, "");
  a = g.Heartbeat(Beat(a, a.assignment), kTopics, kStart, "");
  b = g.Heartbeat(Beat(b, b.assignment), kTopics, kStart + absl::Seconds(8), "");
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
  EXPECT_EQ(v1::NONE, g.CheckCommit("", -1)) << "standalone commits while empty";
  GroupHeartbeatResult a = g.Heartbeat(Join("a"), kTopics, kStart, "member-a");
  EXPECT_EQ(v1::UNKNOWN_MEMBER_ID, g.CheckCommit("", -1)) << "not once it has members";
  EXPECT_EQ(v1::NONE, g.CheckCommit(a.member_id, a.member_epoch));
  EXPECT_EQ(v1::STALE_MEMBER_EPOCH, g.CheckCommit(a.member_id, a.member_epoch - 1));
  EXPECT_EQ(v1::UNKNOWN_MEMBER_ID, g.CheckCommit("nobody", 1));

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
        const std::string id = "m" + std::to_string(next++);
        live[id] = g.Heartbeat(j, topics, now, id);
      } else if (op == 1) {
        auto it =
            std::next(live.begin(), std::uniform_int_distribution<size_t>(0, live.size() - 1)(rng));
        g.Heartbeat({.member_id = it->first, .member_epoch = -1}, topics, now, "");
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
    // Everyone heartbeats a few rounds: the group settles on its target.
    for (int round = 0; round < 4; ++round) {
      for (auto& [id, last] : live)
        last = g.Heartbeat(Beat(last, last.assignment), topics, now, "");
    }
    if (!live.empty()) {
      EXPECT_EQ(ConsumerGroup::State::kStable, g.state()) << "seed " << seed;
    }
    size_t assigned = 0;
    for (const auto& [id, last] : live) assigned += Size(last.assignment);
    EXPECT_EQ(live.empty() ? 0u : 10u, assigned) << "seed " << seed;
  }
}

}  // namespace
}  // namespace samsa::broker
