// samsa-bench-redis: the Redis Streams load driver of scripts/bench-peers.sh.
//
//   samsa-bench-redis --port P --mode produce|consume|e2e --stream S
//                     --records N --record-size B [--window W] [--throughput R]
//
// produce  XADD S * v PAYLOAD, N times, pipelined: at most W (default 1024)
//          commands sent ahead of their replies; done when every reply is in.
//          Durability is the server's (appendfsync always or everysec).
// consume  reads the first N entries of S with XREAD COUNT 1000 from 0.
// e2e      a reader blocked in XREAD on new entries (its own connection and
//          thread) and a writer paced at R XADDs/s; latency = XADD sent to
//          the entry read.
// Prints one JSON line, the same keys as `samsa --output json perf`.
#include <hiredis/hiredis.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "bench/peers/peer_bench.h"

namespace samsa::peers {
namespace {

constexpr char kUsage[] =
    "samsa-bench-redis --port P --mode produce|consume|e2e --stream S --records N "
    "--record-size B [--window W] [--throughput R]";

redisContext* Connect(int port) {
  redisContext* c = redisConnect("127.0.0.1", port);
  if (c == nullptr || c->err) {
    std::fprintf(stderr, "samsa-bench-redis: connect to 127.0.0.1:%d: %s\n", port,
                 c != nullptr ? c->errstr : "out of memory");
    std::exit(1);
  }
  return c;
}

// One reply; false (counted by the caller) when it is an error.
bool ReadReply(redisContext* c) {
  void* r = nullptr;
  if (redisGetReply(c, &r) != REDIS_OK) {
    std::fprintf(stderr, "samsa-bench-redis: %s\n", c->errstr);
    std::exit(1);
  }
  const bool ok = static_cast<redisReply*>(r)->type != REDIS_REPLY_ERROR;
  if (!ok) std::fprintf(stderr, "samsa-bench-redis: %s\n", static_cast<redisReply*>(r)->str);
  freeReplyObject(r);
  return ok;
}

// Reads entries of `stream` after `last_id` (XREAD; `block_ms` >= 0 blocks),
// calling `each` with each entry's value; returns how many there were and
// moves `last_id` on.
template <typename Each>
int64_t ReadAfter(redisContext* c, const std::string& stream, std::string& last_id, int block_ms,
                  Each each) {
  redisReply* r = static_cast<redisReply*>(
      block_ms >= 0
          ? redisCommand(c, "XREAD COUNT 1000 BLOCK %d STREAMS %s %s", block_ms, stream.c_str(),
                         last_id.c_str())
          : redisCommand(c, "XREAD COUNT 1000 STREAMS %s %s", stream.c_str(), last_id.c_str()));
  if (r == nullptr) {
    std::fprintf(stderr, "samsa-bench-redis: %s\n", c->errstr);
    std::exit(1);
  }
  int64_t n = 0;
  // [[stream, [[id, [field, value]], ...]]]
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
    const redisReply* entries = r->element[0]->element[1];
    for (size_t i = 0; i < entries->elements; ++i) {
      const redisReply* entry = entries->element[i];
      last_id.assign(entry->element[0]->str, entry->element[0]->len);
      const redisReply* fields = entry->element[1];
      if (fields->elements >= 2) each(fields->element[1]->str, fields->element[1]->len);
      ++n;
    }
  }
  freeReplyObject(r);
  return n;
}

int Main(int argc, char** argv) {
  const Flags flags(argc, argv, kUsage);
  const int port = static_cast<int>(flags.Int("port"));
  const Workload w = ParseWorkload(flags);
  const std::string& mode = w.mode;
  const std::string& stream = w.stream;
  const int64_t records = w.records;
  const int64_t size = w.size;
  const int64_t window = w.window;
  const int64_t rate = w.rate;
  redisContext* c = Connect(port);
  std::string payload = MakePayload(static_cast<size_t>(size));
  int64_t errors = 0;
  std::vector<int64_t> latencies;

  std::atomic<int64_t> seen{0};
  std::thread reader;
  if (mode == "e2e") {
    latencies.reserve(static_cast<size_t>(records));
    redisContext* rc = Connect(port);
    reader = std::thread([&, rc] {
      std::string last = "$";
      while (seen.load() < records) {
        seen += ReadAfter(rc, stream, last, 1000, [&](const char* v, size_t len) {
          latencies.push_back(SteadyNanos() - SentAt(v, len));
        });
      }
      redisFree(rc);
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the reader is blocked
  }

  const int64_t start = SteadyNanos();
  if (mode == "consume") {
    std::string last = "0";
    int64_t n = 0;
    while (n < records) {
      const int64_t got = ReadAfter(c, stream, last, -1, [](const char*, size_t) {});
      if (got == 0) break;  // fewer entries than asked for
      n += got;
    }
    seen = n;
  } else {
    // Paced, each XADD goes out and is answered at once; unpaced, up to
    // `window` ride ahead of their replies.
    int64_t pending = 0;
    for (int64_t i = 0; i < records; ++i) {
      Pace(i, rate, start);
      StampPayload(payload, SteadyNanos());
      redisAppendCommand(c, "XADD %s * v %b", stream.c_str(), payload.data(), payload.size());
      if (++pending == (rate > 0 ? 1 : window)) {
        if (!ReadReply(c)) ++errors;
        --pending;
      }
    }
    for (; pending > 0; --pending) {
      if (!ReadReply(c)) ++errors;
    }
    if (mode == "produce") seen = records - errors;
  }
  if (reader.joinable()) reader.join();
  const double seconds = static_cast<double>(SteadyNanos() - start) / 1e9;
  Report(seen.load(), errors + (records - seen.load()), size, seconds, std::move(latencies));
  redisFree(c);
  return seen.load() == records ? 0 : 1;
}

}  // namespace
}  // namespace samsa::peers

int main(int argc, char** argv) { return samsa::peers::Main(argc, argv); }
