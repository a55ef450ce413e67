// Broker produce and fetch paths without the network: a ReplicaManager on
// the real file system (flush.policy=always, group commit), one partition
// led here.
//
//   samsa-bench-broker [--batches N] [--records R] [--size B] [--window W]
//
// Produce: N batches of R records of B bytes (encoded by the client, as the
// native client will), acks=1, up to W requests in flight; records/s and
// MB/s, and the acknowledgement latency percentiles. Fetch: the same data
// read back from offset 0 in 1 MiB fetches, MB/s, twice: once straight from
// the ReplicaManager (no serialization), once through the Broker gRPC
// service over loopback (the response's wire form, socket and client parse).
// Then the partition's producer state is loaded as at open, from the log
// alone and from a snapshot.
// Files go under $SAMSA_TEST_DIR (default $TMPDIR, then /tmp) and are removed
// afterwards.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "broker/broker_service.h"
#include "broker/replica_manager.h"
#include "common/await.h"
#include "common/grpc_channel.h"
#include "common/logging.h"
#include "common/metadata_records.h"
#include "common/mutex_checks.h"
#include "common/server.h"
#include "storage/batch_builder.h"
#include "storage/env.h"
#include "storage/temp_dir.h"

namespace samsa::broker {
namespace {

double Percentile(std::vector<double>& v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

int Run(int batches, int records, int size, int window) {
  const storage::TempDir tmp("bench-broker");
  const std::string& dir = tmp.path();
  storage::Env* env = storage::Env::Default();
  int rc = 0;
  {
    auto replicas = *ReplicaManager::Open(
        {.self = NodeId(1), .data_dir = dir, .env = env, .clock = &Clock::Real()});
    MetadataImage image;
    v1::MetadataBatch b;
    *b.add_records() = records::RegisterBroker(NodeId(1), Uuid{1, 1}, 1, "127.0.0.1:1", "");
    *b.add_records() = records::Topic("bench", Uuid{2, 2});
    PartitionImage p;
    p.replicas = {NodeId(1)};
    p.isr = p.replicas;
    p.leader = NodeId(1);
    *b.add_records() = records::Partition(Uuid{2, 2}, 0, p);
    (void)image.Apply(b, 1);
    replicas->OnImage(std::make_shared<const MetadataImage>(std::move(image)));

    storage::BatchBuilder builder;
    const std::string value(static_cast<size_t>(size), 'x');
    for (int i = 0; i < records; ++i) builder.Append(1, std::nullopt, value);
    const std::string batch = *builder.Build();
    v1::ProduceRequest req;
    req.set_acks(1);
    v1::ProduceRequest::Topic* t = req.add_topics();
    t->set_name("bench");
    t->add_partitions()->set_records(batch);

    absl::Mutex mu;
    int in_flight = 0, done = 0, failed = 0;
    std::vector<double> latencies_ms;
    const absl::Time t0 = absl::Now();
    for (int i = 0; i < batches; ++i) {
      {
        absl::MutexLock lock(&mu);
        auto room = [&]() { return in_flight < window; };
        mu.Await(absl::Condition(&room));
        ++in_flight;
      }
      const absl::Time start = absl::Now();
      replicas->Produce(req, [&, start](v1::ProduceResponse r) {
        absl::MutexLock lock(&mu);
        --in_flight;
        ++done;
        latencies_ms.push_back(absl::ToDoubleMilliseconds(absl::Now() - start));
        if (r.topics(0).partitions(0).error().code() != v1::NONE) ++failed;
      });
    }
    {
      absl::MutexLock lock(&mu);
      auto all = [&]() { return done == batches; };
      mu.Await(absl::Condition(&all));
    }
    const double secs = absl::ToDoubleSeconds(absl::Now() - t0);
    const double mb = static_cast<double>(batch.size()) * batches / (1 << 20);
    std::printf(
        "produce: %d batches x %d records x %d B, acks=1, window %d: %.0f records/s, "
        "%.1f MB/s; ack latency ms p50 %.3f p99 %.3f max %.3f (%d failed)\n",
        batches, records, size, window, static_cast<double>(batches) * records / secs, mb / secs,
        Percentile(latencies_ms, 0.5), Percentile(latencies_ms, 0.99),
        Percentile(latencies_ms, 1.0), failed);

    // Reads the log back from offset 0; `fetch` returns the record bytes
    // that came back, or -1 when the fetch failed.
    const int64_t end = static_cast<int64_t>(batches) * records;
    auto read_back = [&](const char* how, auto fetch) {
      const absl::Time t1 = absl::Now();
      int64_t offset = 0, bytes = 0;
      while (offset < end) {
        v1::FetchRequest f;
        f.set_max_bytes(1 << 20);
        v1::FetchRequest::Topic* ft = f.add_topics();
        ft->set_name("bench");
        ft->add_partitions()->set_offset(offset);
        const int64_t got = fetch(f);
        if (got <= 0) break;
        bytes += got;
        // Whole batches of `records` each come back.
        offset += got / static_cast<int64_t>(batch.size()) * records;
      }
      const double fsecs = absl::ToDoubleSeconds(absl::Now() - t1);
      std::printf("fetch (%s): %.1f MB in %.2f s = %.1f MB/s (1 MiB fetches)\n", how,
                  static_cast<double>(bytes) / (1 << 20), fsecs,
                  static_cast<double>(bytes) / (1 << 20) / fsecs);
      return offset == end;
    };
    bool read_all = read_back("in process, to the wire form", [&](const v1::FetchRequest& f) {
      FetchAnswer answer =
          AwaitCallback<FetchAnswer>([&](auto cb) { replicas->Fetch(f, std::move(cb)); });
      if (answer.records.empty()) return int64_t{-1};
      const auto got = static_cast<int64_t>(answer.records[0].size());
      grpc::ByteBuffer wire = ToWire(std::move(answer));
      return wire.Length() >= static_cast<size_t>(got) ? got : -1;
    });
    // Producer state at open: the whole log replayed, then from a snapshot.
    std::shared_ptr<Partition> partition = replicas->Find({"bench", PartitionId(0)});
    for (const char* how : {"no snapshot", "snapshot at the log end"}) {
      const absl::Time t2 = absl::Now();
      absl::StatusOr<Partition::ProducerLoad> load = partition->LoadProducers();
      SAMSA_CHECK(load.ok()) << load.status();
      std::printf("producer state load (%s): %.1f ms, %.1f MB of log replayed\n", how,
                  absl::ToDoubleMilliseconds(absl::Now() - t2),
                  static_cast<double>(load->bytes_replayed) / (1 << 20));
      SAMSA_CHECK(partition->SnapshotProducers(Partition::SnapshotWhen::kAlways).ok());
    }
    BrokerService service(nullptr, replicas.get(), nullptr, nullptr, nullptr);
    absl::StatusOr<GrpcServer> server = StartGrpcServer("127.0.0.1:0", {&service});
    SAMSA_CHECK(server.ok()) << server.status();
    auto stub = v1::Broker::NewStub(NewChannel(absl::StrCat("127.0.0.1:", server->port)));
    read_all = read_back("gRPC loopback",
                         [&](const v1::FetchRequest& f) {
                           grpc::ClientContext ctx;
                           v1::FetchResponse r;
                           if (!stub->Fetch(&ctx, f, &r).ok()) return int64_t{-1};
                           return static_cast<int64_t>(r.topics(0).partitions(0).records().size());
                         }) &&
               read_all;
    server->server->Shutdown();
    rc = failed == 0 && read_all ? 0 : 1;
    (void)replicas->Close();
  }
  return rc;
}

}  // namespace
}  // namespace samsa::broker

int main(int argc, char** argv) {
  samsa::SkipMutexDeadlockDetection();
  samsa::SetMinLogLevel(samsa::LogLevel::kWarning);
  int batches = 20000, records = 100, size = 100, window = 16;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--batches") == 0) batches = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--records") == 0) records = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--size") == 0) size = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--window") == 0) window = std::atoi(argv[i + 1]);
  }
  return samsa::broker::Run(batches, records, size, window);
}
