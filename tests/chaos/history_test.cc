#include "tests/chaos/history.h"

#include "gtest/gtest.h"

namespace samsa::chaos {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1000);

absl::Time At(int ms) { return kStart + absl::Milliseconds(ms); }

// Three acked writes to partition 0 at offsets 0..2, a reader that saw
// them in order, and committed offsets that only rise.
void AddGoodHistory(History& h) {
  for (int i = 0; i < 3; ++i) {
    const size_t w = h.Invoke("v" + std::to_string(i), At(i * 10));
    h.Complete(w, Write::Outcome::kOk, 0, i, "", At(i * 10 + 5));
  }
  h.AddPoll({.reader = 1, .partition = 0, .at = At(40), .records = {{0, "v0"}, {1, "v1"}}});
  h.AddPoll({.reader = 1, .partition = 0, .at = At(50), .records = {{2, "v2"}}});
  h.AddCommitRead({.partition = 0, .at = At(60), .offset = 2});
  h.AddCommitRead({.partition = 0, .at = At(70), .offset = 3});
}

const FinalRead kGoodFinal = {{0, {{0, "v0"}, {1, "v1"}, {2, "v2"}}}};

TEST(HistoryCheckTest, AGoodHistoryHasNoAnomalies) {
  History h;
  AddGoodHistory(h);
  const Report r = Check(h, kGoodFinal, kStart, At(100));
  EXPECT_EQ(3, r.acked);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
  EXPECT_EQ(absl::Milliseconds(75), r.max_unavailable) << "from the last ack to the end";
}

TEST(HistoryCheckTest, EachAnomalyIsCounted) {
  History h;
  AddGoodHistory(h);
  const size_t lost = h.Invoke("gone", At(80));
  h.Complete(lost, Write::Outcome::kOk, 0, 3, "", At(81));
  const size_t moved = h.Invoke("moved", At(82));
  h.Complete(moved, Write::Outcome::kOk, 1, 7, "", At(83));
  const size_t failed = h.Invoke("refused", At(84));
  h.Complete(failed, Write::Outcome::kError, -1, -1, "NOT_ENOUGH_REPLICAS", At(85));
  h.Invoke("never answered", At(86));
  h.AddPoll({.reader = 2, .partition = 0, .at = At(90), .records = {{0, "v0"}, {2, "v2"}}});
  h.AddPoll({.reader = 3, .partition = 0, .at = At(91), .records = {{0, "other"}}});
  h.AddCommitRead({.partition = 0, .at = At(92), .offset = 1});
  FinalRead final_read = kGoodFinal;
  final_read[0].emplace_back(3, "v1");  // v1 twice
  final_read[1] = {{0, "moved"}};       // acked at 1/7, read at 1/0
  const Report r = Check(h, final_read, kStart, At(100));
  EXPECT_EQ(1, r.lost) << r.ToString();
  EXPECT_EQ(1, r.duplicated);
  EXPECT_EQ(2, r.inconsistent) << "an acked offset and a polled value differ";
  EXPECT_EQ(1, r.non_monotonic) << "reader 2 skipped offset 1";
  EXPECT_EQ(1, r.commit_regressions);
  EXPECT_EQ(1, r.failed);
  EXPECT_EQ(1, r.unknown);
  EXPECT_FALSE(r.examples.empty());
  EXPECT_NE(std::string::npos, h.ToJsonLines().find("\"outcome\":\"error\""));
}

TEST(HistoryCheckTest, UnavailabilityIsTheLongestGapBetweenAcks) {
  History h;
  for (int ms : {10, 20, 520, 530}) {
    const size_t w = h.Invoke("v" + std::to_string(ms), At(ms - 1));
    h.Complete(w, Write::Outcome::kOk, 0, ms, "", At(ms));
  }
  FinalRead f;
  for (int ms : {10, 20, 520, 530}) f[0].emplace_back(ms, "v" + std::to_string(ms));
  EXPECT_EQ(absl::Milliseconds(500), Check(h, f, kStart, At(540)).max_unavailable);
}

}  // namespace
}  // namespace samsa::chaos
