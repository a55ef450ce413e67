#include "common/server.h"

#include <csignal>

#include "absl/debugging/failure_signal_handler.h"
#include "absl/debugging/symbolize.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/server_builder.h"
#include "prometheus/collectable.h"
#include "prometheus/gauge.h"

namespace samsa {
namespace {

sigset_t TerminationSignals() {
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGTERM);
  sigaddset(&s, SIGINT);
  return s;
}

}  // namespace

void SetUpProcessSignals(const char* argv0) {
  const sigset_t s = TerminationSignals();
  pthread_sigmask(SIG_BLOCK, &s, nullptr);
  absl::InitializeSymbolizer(argv0);
  absl::InstallFailureSignalHandler(absl::FailureSignalHandlerOptions{});
}

int AwaitTermination(const std::function<absl::Status()>& failure) {
  const sigset_t s = TerminationSignals();
  while (true) {
    const timespec wait{0, 100 * 1000 * 1000};
    const int sig = sigtimedwait(&s, nullptr, &wait);
    if (sig == SIGTERM || sig == SIGINT) {
      SAMSA_LOG(INFO) << "signal " << sig << ": shutting down";
      return 0;
    }
    if (absl::Status st = failure(); !st.ok()) {
      SAMSA_LOG(ERROR) << "stopping: " << st;
      return 1;
    }
  }
}

absl::StatusOr<GrpcServer> StartGrpcServer(const std::string& listener,
                                           std::initializer_list<grpc::Service*> services) {
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(kMaxRequestBytes);
  GrpcServer out;
  builder.AddListeningPort(listener, grpc::InsecureServerCredentials(), &out.port);
  for (grpc::Service* s : services) builder.RegisterService(s);
  out.server = builder.BuildAndStart();
  if (out.server == nullptr || out.port == 0) {
    return absl::UnavailableError(absl::StrCat("listener: cannot listen on ", listener));
  }
  return out;
}

namespace {

// A registry whose reads first run a refresh.
class RefreshedRegistry final : public prometheus::Collectable {
 public:
  RefreshedRegistry(std::shared_ptr<prometheus::Registry> registry, std::function<void()> refresh)
      : registry_(std::move(registry)), refresh_(std::move(refresh)) {}
  std::vector<prometheus::MetricFamily> Collect() const override {
    refresh_();
    return registry_->Collect();
  }

 private:
  const std::shared_ptr<prometheus::Registry> registry_;
  const std::function<void()> refresh_;
};

}  // namespace

absl::StatusOr<MetricsServer> StartMetrics(const std::string& listener,
                                           std::shared_ptr<prometheus::Registry> registry,
                                           std::function<void()> before_scrape) {
  MetricsServer out;
  if (listener.empty()) return out;
  try {
    out.exposer = std::make_unique<prometheus::Exposer>(listener);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        absl::StrCat("metrics.listener: cannot listen on ", listener, ": ", e.what()));
  }
  prometheus::BuildGauge()
      .Name("samsa_build_info")
      .Help("1, labelled with the version and the commit this process was built from")
      .Register(*registry)
      .Add({{"version", SAMSA_VERSION}, {"revision", SAMSA_REVISION}})
      .Set(1);
  if (before_scrape) {
    out.served = std::make_shared<RefreshedRegistry>(std::move(registry), std::move(before_scrape));
  } else {
    out.served = std::move(registry);
  }
  out.exposer->RegisterCollectable(out.served);
  SAMSA_LOG(INFO) << "metrics on port " << out.exposer->GetListeningPorts().front();
  return out;
}

}  // namespace samsa
