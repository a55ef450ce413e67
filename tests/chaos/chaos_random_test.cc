// Random faults (fault suite, see chaos_fixture.h): the mix
// scripts/chaos.sh runs for as long as it is asked.
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/chaos/chaos_fixture.h"
#include "tests/chaos/history.h"
#include "tests/harness/broker_ops.h"
#include "tests/harness/cluster.h"
#include "tests/harness/status_assert.h"

namespace samsa::chaos {
namespace {

// Random faults (leader kills, pauses, every broker at once, a controller
// kill) for SAMSA_CHAOS_MINUTES (default 1: the fault suite's run; longer
// ones with scripts/chaos.sh), with SAMSA_CHAOS_SEED (default: the time).
TEST_F(ChaosTest, RandomFaults) {
  const char* minutes_text = std::getenv("SAMSA_CHAOS_MINUTES");
  const double minutes = minutes_text != nullptr ? std::atof(minutes_text) : 1;
  const char* seed_text = std::getenv("SAMSA_CHAOS_SEED");
  const uint32_t seed = seed_text != nullptr
                            ? static_cast<uint32_t>(std::atoll(seed_text))
                            : static_cast<uint32_t>(absl::ToUnixNanos(absl::Now()));
  std::cout << "seed " << seed << std::endl;
  std::mt19937 rng(seed);
  const absl::Time end = absl::Now() + absl::Minutes(minutes);
  while (absl::Now() < end) {
    RunFor(absl::Milliseconds(std::uniform_int_distribution<int>(1000, 4000)(rng)));
    const int partition = static_cast<int>(rng() % kPartitions);
    const int leader = PartitionOf(*cluster_, kTopic, partition).leader();
    switch (rng() % 4) {
      case 0:  // kill -9 a leader, restart it a little later
        if (leader < 0) break;
        cluster_->KillBroker(leader);
        RunFor(absl::Milliseconds(std::uniform_int_distribution<int>(500, 4000)(rng)));
        ASSERT_OK(cluster_->StartBroker(leader));
        break;
      case 1:  // pause a leader past its session
        if (leader < 0) break;
        cluster_->broker_process(leader).Signal(SIGSTOP);
        RunFor(absl::Milliseconds(std::uniform_int_distribution<int>(500, 4000)(rng)));
        cluster_->broker_process(leader).Signal(SIGCONT);
        break;
      case 2:  // every broker at once
        for (int b : kBrokers) cluster_->KillBroker(b);
        for (int b : kBrokers) ASSERT_OK(cluster_->StartBroker(b));
        break;
      case 3: {  // the active controller
        const int active = cluster_->WaitForActive(absl::Seconds(20));
        if (active < 0) break;
        cluster_->Kill(active);
        RunFor(absl::Milliseconds(std::uniform_int_distribution<int>(200, 2000)(rng)));
        ASSERT_OK(cluster_->Start(active));
        break;
      }
    }
  }
  const Report r = Finish(absl::StrCat("random-", seed));
  EXPECT_EQ(0, r.anomalies()) << r.ToString() << "\nseed " << seed;
}

}  // namespace
}  // namespace samsa::chaos
