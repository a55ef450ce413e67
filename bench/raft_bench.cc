// Raft commit throughput and latency: a 3-node group over gRPC on loopback,
// every node fsyncing its log (DurableLog on the real file system).
//
//   samsa-bench-raft [--entries N] [--window W] [--rate R] [--seconds S]
//
// Phase 1 (throughput): N proposals of 100 bytes with up to W in flight;
// reports entries committed and applied per second at the leader.
// Phase 2 (latency): R proposals per second for S seconds, one at a time on
// a schedule; reports propose-to-applied latency percentiles at the leader.
// Files go under $SAMSA_TEST_DIR (default $TMPDIR, then /tmp) and are removed
// afterwards.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "common/logging.h"
#include "common/mutex_checks.h"
#include "raft/test_cluster.h"

namespace samsa::raft {
namespace {

class CountingStateMachine : public StateMachine {
 public:
  absl::Status Apply(const Entry&) override { return absl::OkStatus(); }
  std::string Snapshot() override { return {}; }
  absl::Status Restore(const std::string&) override { return absl::OkStatus(); }
};

double Percentile(std::vector<double>& v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

int Run(int64_t entries, int64_t window, int rate, int seconds) {
  // Declared before the cluster so they outlive it: a proposal still
  // pending when the cluster stops is answered (with an error) then.
  absl::Mutex mu;
  int64_t in_flight = 0;
  int64_t done = 0;
  int64_t failed = 0;
  std::vector<double> latencies_ms;
  TestCluster cluster({.nodes = 3,
                       .grpc = true,
                       .on_disk = true,
                       .tick = absl::Milliseconds(10),
                       .snapshot_every = 1000000,
                       .make_state = [] { return std::make_unique<CountingStateMachine>(); }});
  const NodeId leader_id = cluster.Leader();
  if (leader_id == kNoNode) {
    std::fprintf(stderr, "no leader elected\n");
    return 1;
  }
  Node* leader = cluster.node(leader_id);

  // Phase 1: throughput with a window of proposals in flight.
  const std::string payload(100, 'x');
  const absl::Time t0 = absl::Now();
  for (int64_t i = 0; i < entries; ++i) {
    {
      absl::MutexLock lock(&mu);
      auto room = [&]() { return in_flight < window; };
      mu.Await(absl::Condition(&room));
      ++in_flight;
    }
    leader->Propose(payload, [&](absl::StatusOr<Index> r) {
      absl::MutexLock lock(&mu);
      --in_flight;
      ++done;
      if (!r.ok()) ++failed;
    });
  }
  {
    absl::MutexLock lock(&mu);
    auto all = [&]() { return done == entries; };
    mu.Await(absl::Condition(&all));
  }
  const double secs = absl::ToDoubleSeconds(absl::Now() - t0);
  std::printf(
      "throughput: %lld entries of 100 B, window %lld: %.0f entries/s committed (%.2f s, %lld "
      "failed)\n",
      static_cast<long long>(entries), static_cast<long long>(window),
      static_cast<double>(entries) / secs, secs, static_cast<long long>(failed));

  // Phase 2: latency at a fixed rate.
  const int64_t total = static_cast<int64_t>(rate) * seconds;
  const absl::Duration gap = absl::Seconds(1) / rate;
  absl::Time next = absl::Now();
  for (int64_t i = 0; i < total; ++i) {
    absl::SleepFor(next - absl::Now());
    next += gap;
    const absl::Time start = absl::Now();
    leader->Propose(payload, [&, start](absl::StatusOr<Index> r) {
      absl::MutexLock lock(&mu);
      if (r.ok()) latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
    });
  }
  {
    absl::MutexLock lock(&mu);
    auto all = [&]() { return static_cast<int64_t>(latencies_ms.size()) == total; };
    mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(30));
  }
  {
    absl::MutexLock lock(&mu);
    std::printf(
        "latency at %d proposals/s for %d s (%zu samples): p50 %.3f ms, p99 %.3f ms, "
        "p99.9 %.3f ms, max %.3f ms\n",
        rate, seconds, latencies_ms.size(), Percentile(latencies_ms, 0.5),
        Percentile(latencies_ms, 0.99), Percentile(latencies_ms, 0.999),
        Percentile(latencies_ms, 1.0));
  }
  return 0;
}

}  // namespace
}  // namespace samsa::raft

int main(int argc, char** argv) {
  int64_t entries = 200000;
  int64_t window = 20000;
  int rate = 1000;
  int seconds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--entries") == 0)
      entries = std::atoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--window") == 0)
      window = std::atoll(argv[i + 1]);
    else if (std::strcmp(argv[i], "--rate") == 0)
      rate = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--seconds") == 0)
      seconds = std::atoi(argv[i + 1]);
  }
  samsa::SetMinLogLevel(samsa::LogLevel::kWarning);
  samsa::SkipMutexDeadlockDetection();
  return samsa::raft::Run(entries, window, rate, seconds);
}
