// samsa-raft-sim: runs the Raft simulator (simulator.h) over many seeds.
//
//   samsa-raft-sim [--seeds N] [--start-seed S] [--nodes K] [--time T] [--verbose]
//
// For each failing seed it prints the seed, what failed and the trace of the
// last events; `--seeds 1 --start-seed <seed> --verbose` replays one run
// event by event. The last line is always
//   seeds=N violations=V liveness_failures=L
// and the exit code is 1 when V + L > 0.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "tests/sim/simulator.h"

int main(int argc, char** argv) {
  using samsa::raft::sim::SimOptions;
  SimOptions base;
  long seeds = 100;
  uint64_t start = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--seeds") {
      seeds = std::strtol(value(), nullptr, 10);
    } else if (a == "--start-seed") {
      start = std::strtoull(value(), nullptr, 10);
    } else if (a == "--nodes") {
      base.nodes = static_cast<int>(std::strtol(value(), nullptr, 10));
    } else if (a == "--time") {
      base.fault_time = std::strtoll(value(), nullptr, 10);
    } else if (a == "--verbose") {
      base.verbose = true;
    } else {
      std::fprintf(stderr,
                   "usage: samsa-raft-sim [--seeds N] [--start-seed S] [--nodes K] [--time T] "
                   "[--verbose]\nunknown argument '%s'\n",
                   a.c_str());
      return 2;
    }
  }
  if (seeds < 1 || base.nodes < 1 || base.nodes > 9) {
    std::fprintf(stderr, "--seeds must be >= 1 and --nodes in 1..9\n");
    return 2;
  }
  long violations = 0;
  long liveness = 0;
  long long committed = 0;
  long long reads = 0;
  for (long k = 0; k < seeds; ++k) {
    SimOptions o = base;
    o.seed = start + static_cast<uint64_t>(k);
    const auto r = samsa::raft::sim::RunSimulation(o);
    committed += r.committed;
    reads += r.reads;
    if (r.violations.empty() && !r.liveness_failure) continue;
    violations += static_cast<long>(r.violations.size());
    liveness += r.liveness_failure ? 1 : 0;
    std::printf("FAILED seed=%llu nodes=%d\n", static_cast<unsigned long long>(o.seed), o.nodes);
    for (const auto& v : r.violations) std::printf("  violation: %s\n", v.c_str());
    if (r.liveness_failure) std::printf("  liveness: %s\n", r.liveness_detail.c_str());
    std::printf("  trace (last events):\n");
    for (const auto& t : r.trace) std::printf("    %s\n", t.c_str());
  }
  std::printf("committed entries: %lld, linearizable reads: %lld\n", committed, reads);
  std::printf("seeds=%ld violations=%ld liveness_failures=%ld\n", seeds, violations, liveness);
  return violations + liveness > 0 ? 1 : 0;
}
