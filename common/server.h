// What every Samsa server process does the same way: a gRPC server with
// health and reflection, Prometheus /metrics, and waiting for SIGTERM or
// SIGINT. Links gRPC and prometheus-cpp (library samsa_server).
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/server.h"
#include "prometheus/exposer.h"
#include "prometheus/registry.h"

namespace samsa {

// Blocks SIGTERM and SIGINT in the calling thread and every thread it
// starts later, so AwaitTermination() can take them, and makes a crash
// (SIGSEGV, SIGABRT, SIGBUS, SIGILL, SIGFPE) write the signal and every
// thread's stack, symbolized, to stderr before the process dies. Call first
// in main().
void SetUpProcessSignals(const char* argv0);

// Returns 0 when SIGTERM or SIGINT arrives, or 1 as soon as `failure`
// (polled every 100 ms) returns an error, which is logged.
int AwaitTermination(const std::function<absl::Status()>& failure);

struct GrpcServer {
  std::unique_ptr<grpc::Server> server;
  int port = 0;  // the port bound (the listener may ask for 0)
};

// The largest request a server accepts (Kafka's socket.request.max.bytes);
// gRPC's default, 4 MiB, would refuse a producer's larger requests.
inline constexpr int kMaxRequestBytes = 100 << 20;

// Starts a gRPC server on `listener` with `services`, grpc.health.v1.Health
// and server reflection, accepting requests up to kMaxRequestBytes. The
// services must outlive the server.
absl::StatusOr<GrpcServer> StartGrpcServer(const std::string& listener,
                                           std::initializer_list<grpc::Service*> services);

// Serves `registry` on http://`listener`/metrics, with
// samsa_build_info{version,revision} 1 added to it; an empty listener
// (metrics off) gives no exposer. `before_scrape`, if given, runs (on the
// metrics server's thread) before each scrape reads the registry: it
// refreshes gauges too costly to keep current when nobody looks.
struct MetricsServer {
  // What the exposer serves (it holds it weakly): the registry, or the
  // registry behind before_scrape.
  std::shared_ptr<prometheus::Collectable> served;
  std::unique_ptr<prometheus::Exposer> exposer;  // null when metrics are off
};
absl::StatusOr<MetricsServer> StartMetrics(const std::string& listener,
                                           std::shared_ptr<prometheus::Registry> registry,
                                           std::function<void()> before_scrape = nullptr);

}  // namespace samsa
