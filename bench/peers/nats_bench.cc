// samsa-bench-nats: the NATS JetStream load driver of scripts/bench-peers.sh.
//
//   samsa-bench-nats --url nats://127.0.0.1:4222 --mode produce|consume|e2e
//                    --stream S --records N --record-size B
//                    [--replicas R] [--window W] [--throughput R]
//
// produce  creates stream S (file storage, R replicas, subject S) and
//          publishes N messages with js_PublishAsync, at most W (default
//          1024) awaiting their acknowledgement, as `samsa perf produce`
//          keeps batches in flight; done when every one is acknowledged.
// consume  reads the first N messages of S with an ordered consumer (no
//          acknowledgements, flow-controlled push: JetStream's fastest
//          catch-up read).
// e2e      an ordered consumer of new messages and a publisher paced at
//          R messages/s in one process; latency = publish to delivery.
// Prints one JSON line, the same keys as `samsa --output json perf`.
#include <atomic>
#include <string>
#include <vector>

#include "bench/peers/peer_bench.h"
#include "nats/nats.h"

namespace samsa::peers {
namespace {

constexpr char kUsage[] =
    "samsa-bench-nats --url URL --mode produce|consume|e2e --stream S --records N "
    "--record-size B [--replicas R] [--window W] [--throughput R]";

[[noreturn]] void Die(const char* what, natsStatus s) {
  std::fprintf(stderr, "samsa-bench-nats: %s: %s\n", what, natsStatus_GetText(s));
  nats_PrintLastErrorStack(stderr);
  std::exit(1);
}

void Check(const char* what, natsStatus s) {
  if (s != NATS_OK) Die(what, s);
}

struct Run {
  int64_t records = 0;
  int64_t size = 0;
  std::atomic<int64_t> seen{0};
  std::atomic<int64_t> errors{0};
  std::vector<int64_t> latencies;  // written by the delivery thread only
  bool measure = false;
};

void OnPublishError(jsCtx*, jsPubAckErr* pae, void* closure) {
  static_cast<Run*>(closure)->errors.fetch_add(1);
  std::fprintf(stderr, "samsa-bench-nats: publish failed: %s\n", pae->ErrText);
}

void OnMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* run = static_cast<Run*>(closure);
  if (run->measure) {
    run->latencies.push_back(SteadyNanos() -
                             SentAt(natsMsg_GetData(msg), natsMsg_GetDataLength(msg)));
  }
  run->seen.fetch_add(1);
  natsMsg_Destroy(msg);
}

void WaitFor(const Run& run, int64_t timeout_ns) {
  const int64_t deadline = SteadyNanos() + timeout_ns;
  while (run.seen.load() < run.records && SteadyNanos() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
}

natsSubscription* Subscribe(jsCtx* js, const std::string& stream, bool only_new, Run* run) {
  jsSubOptions so;
  Check("jsSubOptions_Init", jsSubOptions_Init(&so));
  so.Stream = stream.c_str();
  so.Ordered = true;
  so.Config.DeliverPolicy = only_new ? js_DeliverNew : js_DeliverAll;
  natsSubscription* sub = nullptr;
  jsErrCode code = static_cast<jsErrCode>(0);
  Check("js_Subscribe",
        js_Subscribe(&sub, js, stream.c_str(), OnMessage, run, nullptr, &so, &code));
  // The library's own queue of undelivered messages must not drop any.
  Check("natsSubscription_SetPendingLimits", natsSubscription_SetPendingLimits(sub, -1, -1));
  return sub;
}

int Main(int argc, char** argv) {
  const Flags flags(argc, argv, kUsage);
  const std::string url = flags.String("url");
  const Workload w = ParseWorkload(flags);
  const std::string& mode = w.mode;
  const std::string& stream = w.stream;
  const int64_t replicas = flags.Int("replicas", 1);
  const int64_t window = w.window;
  const int64_t rate = w.rate;
  Run run;
  run.records = w.records;
  run.size = w.size;

  natsConnection* nc = nullptr;
  Check("connect", natsConnection_ConnectTo(&nc, url.c_str()));
  jsOptions jo;
  Check("jsOptions_Init", jsOptions_Init(&jo));
  jo.PublishAsync.MaxPending = window;
  jo.PublishAsync.ErrHandler = OnPublishError;
  jo.PublishAsync.ErrHandlerClosure = &run;
  jsCtx* js = nullptr;
  Check("JetStream", natsConnection_JetStream(&js, nc, &jo));

  if (mode == "produce" || mode == "e2e") {
    jsStreamConfig cfg;
    Check("jsStreamConfig_Init", jsStreamConfig_Init(&cfg));
    const char* subjects[] = {stream.c_str()};
    cfg.Name = stream.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = replicas;
    jsErrCode code = static_cast<jsErrCode>(0);
    Check("js_AddStream", js_AddStream(nullptr, js, &cfg, nullptr, &code));
  }

  std::string payload = MakePayload(static_cast<size_t>(run.size));
  const int payload_len = static_cast<int>(payload.size());
  natsSubscription* sub = nullptr;
  if (mode == "e2e") {
    run.measure = true;
    run.latencies.reserve(static_cast<size_t>(run.records));
    sub = Subscribe(js, stream, /*only_new=*/true, &run);
  }
  const int64_t start = SteadyNanos();
  if (mode == "consume") {
    sub = Subscribe(js, stream, /*only_new=*/false, &run);
    WaitFor(run, 300'000'000'000);
  } else {
    for (int64_t i = 0; i < run.records; ++i) {
      Pace(i, rate, start);
      StampPayload(payload, SteadyNanos());
      Check("js_PublishAsync",
            js_PublishAsync(js, stream.c_str(), payload.data(), payload_len, nullptr));
    }
    jsPubOptions po;
    Check("jsPubOptions_Init", jsPubOptions_Init(&po));
    po.MaxWait = 120'000;
    Check("js_PublishAsyncComplete", js_PublishAsyncComplete(js, &po));
    if (mode == "e2e") WaitFor(run, 30'000'000'000);
  }
  const double seconds = static_cast<double>(SteadyNanos() - start) / 1e9;
  const int64_t done = mode == "produce" ? run.records - run.errors.load() : run.seen.load();
  if (sub != nullptr) {
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  }
  std::vector<int64_t> latencies = std::move(run.latencies);
  Report(done, run.errors.load() + (run.records - done), run.size, seconds, std::move(latencies));
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
  nats_Close();
  return done == run.records ? 0 : 1;
}

}  // namespace
}  // namespace samsa::peers

int main(int argc, char** argv) { return samsa::peers::Main(argc, argv); }
