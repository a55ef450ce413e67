#include "common/strong_int.h"

#include <sstream>
#include <type_traits>

#include "absl/container/flat_hash_set.h"
#include "common/ids.h"
#include "gtest/gtest.h"

namespace samsa {
namespace {

// The point of strong types: these must not compile.
static_assert(!std::is_convertible_v<int64_t, Offset>, "no implicit construction");
static_assert(!std::is_convertible_v<Offset, int64_t>, "no implicit unwrapping");
static_assert(!std::is_convertible_v<Offset, Term>, "an offset is not a term");
static_assert(!std::is_convertible_v<NodeId, PartitionId>, "a node is not a partition");
static_assert(!std::equality_comparable_with<Offset, Term>, "no comparing across kinds");
static_assert(std::is_trivially_copyable_v<Offset>, "as cheap as the integer");
static_assert(sizeof(Epoch) == sizeof(int32_t));

TEST(StrongIntTest, ArithmeticWithDeltas) {
  Offset o(10);
  EXPECT_EQ(Offset(11), o + 1);
  EXPECT_EQ(Offset(7), o - 3);
  EXPECT_EQ(4, Offset(14) - o);
  o += 5;
  EXPECT_EQ(Offset(15), o);
  ++o;
  EXPECT_EQ(16, o.value());
}

TEST(StrongIntTest, Ordering) {
  EXPECT_LT(Term(1), Term(2));
  EXPECT_GE(Term(2), Term(2));
  EXPECT_EQ(Offset::Max().value(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(kNoNode.value(), -1);
}

TEST(StrongIntTest, HashableAndPrintable) {
  absl::flat_hash_set<NodeId> nodes = {NodeId(1), NodeId(2), NodeId(1)};
  EXPECT_EQ(2u, nodes.size());
  std::ostringstream os;
  os << Epoch(42) << " " << Offset(-1);
  EXPECT_EQ("42 -1", os.str());
}

}  // namespace
}  // namespace samsa
