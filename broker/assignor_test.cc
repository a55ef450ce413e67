#include "broker/assignor.h"

#include <set>

#include "gtest/gtest.h"

namespace samsa::broker {
namespace {

std::vector<GroupMember> Members(int n, std::vector<std::string> topics) {
  std::vector<GroupMember> out;
  for (int i = 0; i < n; ++i) out.push_back({"m" + std::to_string(i), topics, {}});
  return out;
}

// Every partition of `partitions` exactly once, each to a subscriber.
void ExpectCovered(const GroupAssignment& a, const std::vector<GroupMember>& members,
                   const std::map<std::string, int32_t>& partitions) {
  std::map<std::pair<std::string, int32_t>, int> seen;
  for (const auto& [member, topics] : a) {
    const auto m = std::find_if(members.begin(), members.end(),
                                [&id = member](const GroupMember& g) { return g.id == id; });
    ASSERT_NE(m, members.end());
    for (const auto& [topic, ps] : topics) {
      EXPECT_NE(std::find(m->topics.begin(), m->topics.end(), topic), m->topics.end())
          << member << " got " << topic << " without subscribing";
      for (int32_t p : ps) ++seen[{topic, p}];
    }
  }
  for (const auto& [topic, n] : partitions) {
    bool subscribed = false;
    for (const GroupMember& m : members) {
      subscribed =
          subscribed || std::find(m.topics.begin(), m.topics.end(), topic) != m.topics.end();
    }
    for (int32_t p = 0; p < n; ++p) {
      EXPECT_EQ(subscribed ? 1 : 0, (seen[{topic, p}])) << topic << p;
    }
  }
}

size_t Count(const GroupAssignment& a, const std::string& member) {
  size_t n = 0;
  auto it = a.find(member);
  if (it == a.end()) return 0;
  for (const auto& [t, ps] : it->second) n += ps.size();
  return n;
}

TEST(AssignorTest, RangeGivesContiguousRangesFirstMembersOneMore) {
  const std::map<std::string, int32_t> partitions = {{"t0", 3}, {"t1", 3}};
  const GroupAssignment a = AssignRange(Members(2, {"t0", "t1"}), partitions);
  // Kafka's RangeAssignor example: C0 gets t0p0, t0p1, t1p0, t1p1; C1 the rest.
  EXPECT_EQ((std::vector<int32_t>{0, 1}), a.at("m0").at("t0"));
  EXPECT_EQ((std::vector<int32_t>{0, 1}), a.at("m0").at("t1"));
  EXPECT_EQ((std::vector<int32_t>{2}), a.at("m1").at("t0"));
  EXPECT_EQ((std::vector<int32_t>{2}), a.at("m1").at("t1"));
}

TEST(AssignorTest, UniformIsBalancedAndCoversEveryPartitionOnce) {
  for (int members = 1; members <= 7; ++members) {
    const std::map<std::string, int32_t> partitions = {{"a", 6}, {"b", 5}};
    const std::vector<GroupMember> m = Members(members, {"a", "b"});
    const GroupAssignment a = AssignUniform(m, partitions);
    ExpectCovered(a, m, partitions);
    size_t lo = 100, hi = 0;
    for (const GroupMember& g : m) {
      lo = std::min(lo, Count(a, g.id));
      hi = std::max(hi, Count(a, g.id));
    }
    EXPECT_LE(hi - lo, 1u) << members << " members";
  }
}

TEST(AssignorTest, UniformKeepsOwnedPartitionsWhenAMemberJoins) {
  const std::map<std::string, int32_t> partitions = {{"t", 6}};
  std::vector<GroupMember> m = Members(2, {"t"});
  const GroupAssignment before = AssignUniform(m, partitions);
  for (GroupMember& g : m) g.owned = before.at(g.id);
  m.push_back({"m2", {"t"}, {}});
  const GroupAssignment after = AssignUniform(m, partitions);
  ExpectCovered(after, m, partitions);
  // Each old member gives up exactly one partition to the newcomer.
  for (const char* id : {"m0", "m1"}) {
    const auto& was = before.at(id).at("t");
    const auto& now = after.at(id).at("t");
    EXPECT_EQ(2u, now.size());
    for (int32_t p : now) {
      EXPECT_NE(std::find(was.begin(), was.end(), p), was.end()) << id << " kept what it had";
    }
  }
  EXPECT_EQ(2u, Count(after, "m2"));
}

TEST(AssignorTest, UniformHonoursDifferentSubscriptions) {
  const std::map<std::string, int32_t> partitions = {{"a", 4}, {"b", 2}, {"c", 3}};
  const std::vector<GroupMember> m = {
      {"x", {"a", "b"}, {}}, {"y", {"a"}, {}}, {"z", {"b", "missing"}, {}}};
  const GroupAssignment a = AssignUniform(m, partitions);
  ExpectCovered(a, m, partitions);
  EXPECT_EQ(2u, Count(a, "x"));
  EXPECT_EQ(2u, Count(a, "y"));
  EXPECT_EQ(2u, Count(a, "z"));
  EXPECT_FALSE(a.at("z").contains("c")) << "nobody subscribes to c";
}

TEST(AssignorTest, AssignorsAreNamed) {
  EXPECT_EQ(&AssignUniform, *AssignorNamed("uniform"));
  EXPECT_EQ(&AssignRange, *AssignorNamed("range"));
  EXPECT_FALSE(AssignorNamed("roundrobin").ok());
}

}  // namespace
}  // namespace samsa::broker
