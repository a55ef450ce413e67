// What the peer load drivers (NATS JetStream, Redis Streams) share with
// each other and with `samsa perf`: flags, payloads that carry their send
// time, and the one-line JSON report `samsa --output json perf` prints, so
// scripts/bench-peers.sh reads every system's results the same way.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace samsa::peers {

inline int64_t SteadyNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// --name value pairs; Int/String exit with a usage line when one is
// missing or not a number.
class Flags {
 public:
  Flags(int argc, char** argv, const char* usage) : usage_(usage) {
    for (int i = 1; i < argc; i += 2) {
      if (std::strncmp(argv[i], "--", 2) != 0 || i + 1 == argc) Fail(argv[i]);
      values_[argv[i] + 2] = argv[i + 1];
    }
  }
  std::string String(const std::string& name, const char* fallback = nullptr) const {
    auto it = values_.find(name);
    if (it != values_.end()) return it->second;
    if (fallback == nullptr) Fail(("--" + name + " is required").c_str());
    return fallback;
  }
  int64_t Int(const std::string& name, int64_t fallback = -1) const {
    auto it = values_.find(name);
    if (it == values_.end()) {
      if (fallback < 0) Fail(("--" + name + " is required").c_str());
      return fallback;
    }
    char* end = nullptr;
    const long long v = std::strtoll(it->second.c_str(), &end, 10);
    if (end == it->second.c_str() || *end != '\0' || v < 0) {
      Fail(("--" + name + " '" + it->second + "': not a count").c_str());
    }
    return v;
  }

  [[noreturn]] void Fail(const char* what) const {
    std::fprintf(stderr, "%s\nusage: %s\n", what, usage_);
    std::exit(2);
  }

 private:
  const char* usage_;
  std::map<std::string, std::string> values_;
};

// What every driver is told to do.
struct Workload {
  std::string mode;    // produce, consume or e2e
  std::string stream;  // the stream (and, for NATS, its subject)
  int64_t records = 0;
  int64_t size = 100;     // bytes per message
  int64_t window = 1024;  // unacknowledged publishes in flight
  int64_t rate = 0;       // e2e: messages/s
};

inline Workload ParseWorkload(const Flags& flags) {
  Workload w{.mode = flags.String("mode"),
             .stream = flags.String("stream"),
             .records = flags.Int("records"),
             .size = flags.Int("record-size", 100),
             .window = std::max<int64_t>(1, flags.Int("window", 1024)),
             .rate = flags.Int("throughput", 0)};
  if (w.mode != "produce" && w.mode != "consume" && w.mode != "e2e") {
    flags.Fail(("--mode '" + w.mode + "': produce, consume or e2e").c_str());
  }
  if (w.mode == "e2e" && w.rate <= 0) flags.Fail("e2e needs --throughput R");
  return w;
}

// `size` bytes whose first 8 hold `sent` (steady-clock nanoseconds), the
// rest filler that does not compress to nothing.
inline void StampPayload(std::string& payload, int64_t sent) {
  std::memcpy(payload.data(), &sent, sizeof(sent));
}
inline std::string MakePayload(size_t size) {
  std::string p(std::max<size_t>(size, 8), '\0');
  uint32_t x = 2463534242u;
  for (size_t i = 8; i < p.size(); ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    p[i] = static_cast<char>('a' + x % 26);
  }
  return p;
}
inline int64_t SentAt(const void* payload, size_t size) {
  int64_t sent = 0;
  if (size >= sizeof(sent)) std::memcpy(&sent, payload, sizeof(sent));
  return sent;
}

// Sleeps until message `i` is due at `rate` per second from `start_ns`.
inline void Pace(int64_t i, int64_t rate, int64_t start_ns) {
  if (rate <= 0) return;
  const int64_t due = start_ns + i * 1'000'000'000 / rate;
  const int64_t wait = due - SteadyNanos();
  if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
}

// Prints the report line: counts, rate, and latency percentiles of
// `latencies_ns` (empty: zeros).
inline void Report(int64_t records, int64_t errors, int64_t record_size, double seconds,
                   std::vector<int64_t> latencies_ns) {
  std::sort(latencies_ns.begin(), latencies_ns.end());
  auto ms = [&](double q) {
    if (latencies_ns.empty()) return 0.0;
    const size_t i = std::min(latencies_ns.size() - 1,
                              static_cast<size_t>(q * static_cast<double>(latencies_ns.size())));
    return static_cast<double>(latencies_ns[i]) / 1e6;
  };
  seconds = std::max(seconds, 1e-6);
  std::printf(
      "{\"records\":%lld,\"errors\":%lld,\"seconds\":%.3f,\"records_per_sec\":%.0f,"
      "\"mb_per_sec\":%.2f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
      static_cast<long long>(records), static_cast<long long>(errors), seconds,
      static_cast<double>(records) / seconds,
      static_cast<double>(records * record_size) / (1 << 20) / seconds, ms(0.5), ms(0.99),
      ms(0.999), latencies_ns.empty() ? 0.0 : static_cast<double>(latencies_ns.back()) / 1e6);
}

}  // namespace samsa::peers
