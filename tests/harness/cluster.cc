#include "tests/harness/cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/eventually.h"
#include "common/grpc_channel.h"
#include "storage/env.h"

namespace samsa::testing {
std::string HttpGet(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  std::string out;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string req = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req.data(), req.size()) == static_cast<ssize_t>(req.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, n);
    }
  }
  close(fd);
  return out;
}

std::unique_ptr<grpc::ClientContext> RpcContext(absl::Duration timeout) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  return ctx;
}

Cluster::Cluster(ClusterOptions options) : options_(std::move(options)) {
  for (int id = 1; id <= options_.voters; ++id) {
    addresses_[id] = absl::StrCat("127.0.0.1:", ReservePort());
    metrics_ports_[id] = ReservePort();
    stubs_[id] = v1::Controller::NewStub(NewChannel(addresses_[id], absl::Milliseconds(100)));
  }
  for (int id = 101; id <= 100 + options_.brokers; ++id) {
    broker_addresses_[id] = absl::StrCat("127.0.0.1:", ReservePort());
    broker_metrics_ports_[id] = ReservePort();
    broker_stubs_[id] =
        v1::Broker::NewStub(NewChannel(broker_addresses_[id], absl::Milliseconds(100)));
  }
}

Cluster::~Cluster() {
  for (auto& [id, p] : brokers_) p.Kill();
  for (auto& [id, p] : processes_) p.Kill();
}

std::string Cluster::binary() const { return SAMSA_CONTROLLER_BIN; }

std::string Cluster::broker_binary() const { return SAMSA_BROKER_BIN; }

std::string Cluster::broker_data_dir(int id) const {
  return absl::StrCat(dir_.path(), "/broker-", id);
}

std::string Cluster::data_dir(int id) const {
  return absl::StrCat(dir_.path(), "/controller-", id);
}

std::string Cluster::log(int id) const {
  absl::StatusOr<std::string> text =
      storage::Env::Default()->ReadFile(absl::StrCat(dir_.path(), "/controller-", id, ".log"));
  return text.ok() ? *text : std::string();
}

std::vector<std::string> Cluster::Args(int id) const {
  std::string voters;
  for (const auto& [voter, address] : addresses_) {
    auto route = voter_routes_.find({id, voter});
    absl::StrAppend(&voters, voters.empty() ? "" : ",", voter, "@",
                    route == voter_routes_.end() ? address : route->second);
  }
  std::vector<std::string> overrides = {
      absl::StrCat("node.id=", id),
      absl::StrCat("listener=", addresses_.at(id)),
      absl::StrCat("controller.quorum.voters=", voters),
      absl::StrCat("data.dir=", data_dir(id)),
      absl::StrCat("metrics.listener=127.0.0.1:", metrics_ports_.at(id)),
      absl::StrCat("controller.quorum.election.timeout.ms=", options_.election_timeout_ms),
      absl::StrCat("broker.session.timeout.ms=", options_.session_timeout_ms),
      absl::StrCat("broker.heartbeat.interval.ms=", options_.heartbeat_interval_ms),
  };
  overrides.insert(overrides.end(), options_.overrides.begin(), options_.overrides.end());
  std::vector<std::string> args;
  for (const std::string& o : overrides) {
    args.push_back("--override");
    args.push_back(o);
  }
  return args;
}

namespace {

// Waits until `process` answers `ping` (a call that succeeds once its server
// is up), or exits, or 30 s pass.
template <typename Ping>
absl::Status AwaitAnswer(ChildProcess& process, const std::string& what,
                         const std::function<std::string()>& log, Ping ping) {
  bool exited = false;
  const bool answered = Eventually(
      [&] {
        exited = !process.running() || process.WaitExit(absl::ZeroDuration());
        if (exited) return true;
        // Waiting for readiness keeps this call polling the channel while
        // it connects; a fail-fast call would leave the connection to
        // gRPC's backup poller, which runs every 5 s.
        auto ctx = RpcContext(absl::Milliseconds(200));
        ctx->set_wait_for_ready(true);
        return ping(ctx.get()).ok();
      },
      absl::Seconds(30), absl::ZeroDuration());
  if (exited) return absl::InternalError(absl::StrCat(what, " exited:\n", log()));
  return answered ? absl::OkStatus()
                  : absl::DeadlineExceededError(absl::StrCat(what, " did not answer"));
}

}  // namespace

absl::Status Cluster::Start(int id) {
  absl::StatusOr<ChildProcess> p = ChildProcess::Spawn(
      binary(), Args(id), absl::StrCat(dir_.path(), "/controller-", id, ".log"));
  if (!p.ok()) return p.status();
  processes_.insert_or_assign(id, std::move(*p));
  return AwaitAnswer(
      processes_.at(id), absl::StrCat("controller ", id), [&] { return log(id); },
      [&](grpc::ClientContext* ctx) {
        v1::DescribeClusterResponse r;
        return stub(id).DescribeCluster(ctx, {}, &r);
      });
}

std::vector<std::string> Cluster::BrokerArgs(int id) const {
  std::string bootstrap;
  for (const auto& [voter, address] : addresses_) {
    absl::StrAppend(&bootstrap, bootstrap.empty() ? "" : ",", address);
  }
  std::vector<std::string> overrides = {
      absl::StrCat("node.id=", id),
      absl::StrCat("listener=", broker_addresses_.at(id)),
      absl::StrCat("controller.quorum.bootstrap=", bootstrap),
      absl::StrCat("data.dir=", broker_data_dir(id)),
      absl::StrCat("metrics.listener=127.0.0.1:", broker_metrics_ports_.at(id)),
      absl::StrCat("broker.session.timeout.ms=", options_.session_timeout_ms),
      absl::StrCat("broker.heartbeat.interval.ms=", options_.heartbeat_interval_ms),
  };
  overrides.insert(overrides.end(), options_.broker_overrides.begin(),
                   options_.broker_overrides.end());
  if (auto own = broker_overrides_.find(id); own != broker_overrides_.end()) {
    overrides.insert(overrides.end(), own->second.begin(), own->second.end());
  }
  std::vector<std::string> args;
  for (const std::string& o : overrides) {
    args.push_back("--override");
    args.push_back(o);
  }
  return args;
}

std::string Cluster::broker_log(int id) const {
  absl::StatusOr<std::string> text =
      storage::Env::Default()->ReadFile(absl::StrCat(dir_.path(), "/broker-", id, ".log"));
  return text.ok() ? *text : std::string();
}

absl::Status Cluster::StartBroker(int id, const std::vector<std::string>& extra) {
  std::vector<std::string> args = BrokerArgs(id);
  for (const std::string& e : extra) {
    args.push_back("--override");
    args.push_back(e);
  }
  absl::StatusOr<ChildProcess> p = ChildProcess::Spawn(
      broker_binary(), args, absl::StrCat(dir_.path(), "/broker-", id, ".log"), broker_env_[id]);
  if (!p.ok()) return p.status();
  brokers_.insert_or_assign(id, std::move(*p));
  return AwaitAnswer(
      brokers_.at(id), absl::StrCat("broker ", id), [&] { return broker_log(id); },
      [&](grpc::ClientContext* ctx) {
        v1::MetadataResponse r;
        return broker_stub(id).Metadata(ctx, {}, &r);
      });
}

void Cluster::KillBroker(int id) { brokers_.at(id).Kill(); }

int Cluster::TerminateBroker(int id) { return brokers_.at(id).Terminate(); }

bool Cluster::broker_running(int id) const {
  auto it = brokers_.find(id);
  return it != brokers_.end() && it->second.running();
}

v1::BrokerDescription Cluster::DescribeBroker(int id) {
  v1::BrokerDescription out;
  out.set_broker_id(id);
  out.set_state(v1::BrokerDescription::FENCED);
  const int active = WaitForActive(absl::Seconds(10));
  if (active == -1) return out;
  v1::DescribeClusterResponse r;
  if (!stub(active).DescribeCluster(RpcContext(absl::Seconds(2)).get(), {}, &r).ok()) return out;
  for (const v1::BrokerDescription& b : r.brokers()) {
    if (b.broker_id() == id) return b;
  }
  return out;
}

bool Cluster::WaitForBrokerState(int id, v1::BrokerDescription::State state,
                                 absl::Duration timeout) {
  return Eventually([&] { return DescribeBroker(id).state() == state; }, timeout,
                    absl::Milliseconds(20));
}

absl::Status Cluster::StartAll() {
  for (int id = 1; id <= options_.voters; ++id) {
    if (absl::Status st = Start(id); !st.ok()) return st;
  }
  return absl::OkStatus();
}

void Cluster::Kill(int id) { processes_.at(id).Kill(); }

int Cluster::Terminate(int id) { return processes_.at(id).Terminate(); }

bool Cluster::running(int id) const {
  auto it = processes_.find(id);
  return it != processes_.end() && it->second.running();
}

int Cluster::WaitForActive(absl::Duration timeout) {
  int active = -1;
  (void)Eventually(
      [&] {
        for (int id = 1; id <= options_.voters && active == -1; ++id) {
          if (!running(id)) continue;
          // An empty validate-only create is a write that changes nothing:
          // it succeeds exactly on the active controller.
          v1::CreateTopicsRequest req;
          req.set_validate_only(true);
          v1::CreateTopicsResponse r;
          if (stub(id).CreateTopics(RpcContext(absl::Milliseconds(500)).get(), req, &r).ok() &&
              r.error().code() == v1::NONE) {
            active = id;
          }
        }
        return active != -1;
      },
      timeout, absl::Milliseconds(5));
  return active;
}

FakeBroker::FakeBroker(Cluster* cluster, int id) : cluster_(cluster), id_(id) {}

FakeBroker::~FakeBroker() { StopHeartbeats(); }

template <typename Response, typename Call>
absl::StatusOr<Response> FakeBroker::ToActive(Call call) {
  std::optional<Response> answer;
  (void)Eventually(
      [&] {
        for (int c = 1; c <= 5 && !stop_.load(); ++c) {
          if (!cluster_->running(c)) continue;
          Response r;
          if (!call(cluster_->stub(c), RpcContext(absl::Seconds(2)).get(), &r).ok()) continue;
          if (r.error().code() == v1::NOT_CONTROLLER) continue;
          answer = std::move(r);
          return true;
        }
        return stop_.load();
      },
      absl::Seconds(30), absl::Milliseconds(10));
  if (!answer.has_value()) return absl::UnavailableError("no active controller answered");
  return *std::move(answer);
}

absl::Status FakeBroker::Join(absl::Duration timeout) {
  v1::RegisterBrokerRequest reg;
  reg.set_broker_id(id_);
  *reg.mutable_incarnation_id() =
      Uuid{static_cast<uint64_t>(getpid()), static_cast<uint64_t>(id_)}.ToProto();
  reg.set_address(absl::StrCat("127.0.0.1:", 19000 + id_));
  absl::StatusOr<v1::RegisterBrokerResponse> r = ToActive<v1::RegisterBrokerResponse>(
      [&](v1::Controller::Stub& s, grpc::ClientContext* ctx, v1::RegisterBrokerResponse* out) {
        return s.RegisterBroker(ctx, reg, out);
      });
  if (!r.ok()) return r.status();
  if (r->error().code() != v1::NONE) return absl::InternalError(r->error().message());
  epoch_ = r->broker_epoch();
  thread_ = std::thread([this] { HeartbeatLoop(); });
  // Active once the first controller that answers lists it unfenced.
  const bool unfenced = Eventually(
      [&] {
        for (int id = 1; id <= 5; ++id) {
          v1::DescribeClusterResponse c;
          if (!cluster_->running(id) ||
              !cluster_->stub(id)
                   .DescribeCluster(RpcContext(absl::Seconds(2)).get(), {}, &c)
                   .ok()) {
            continue;
          }
          for (const v1::BrokerDescription& b : c.brokers()) {
            if (b.broker_id() == id_ && b.broker_epoch() == epoch_ &&
                b.state() == v1::BrokerDescription::ACTIVE) {
              return true;
            }
          }
          return false;
        }
        return false;
      },
      timeout, absl::Milliseconds(20));
  if (unfenced) return absl::OkStatus();
  return absl::DeadlineExceededError(absl::StrCat("broker ", id_, " was not unfenced"));
}

void FakeBroker::HeartbeatLoop() {
  while (!stop_.load()) {
    absl::StatusOr<v1::BrokerHeartbeatResponse> r = ToActive<v1::BrokerHeartbeatResponse>(
        [&](v1::Controller::Stub& s, grpc::ClientContext* ctx, v1::BrokerHeartbeatResponse* out) {
          v1::DescribeClusterResponse c;
          grpc::Status st = s.DescribeCluster(RpcContext(absl::Seconds(2)).get(), {}, &c);
          if (!st.ok()) return st;
          v1::BrokerHeartbeatRequest hb;
          hb.set_broker_id(id_);
          hb.set_broker_epoch(epoch_);
          hb.set_metadata_offset(c.metadata_offset());
          return s.BrokerHeartbeat(ctx, hb, out);
        });
    (void)r;
    absl::SleepFor(absl::Milliseconds(100));
  }
}

void FakeBroker::StopHeartbeats() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace samsa::testing
