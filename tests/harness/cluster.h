// Cluster: real samsa-controller and samsa-broker processes on 127.0.0.1
// ephemeral ports, each with its own data directory under one TempDir, for
// integration tests. Configuration goes on the command line (--override).
// Controllers are 1..voters; brokers are 101..100+brokers.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "common/metadata_image.h"
#include "samsa/v1/broker.grpc.pb.h"
#include "samsa/v1/controller.grpc.pb.h"
#include "tests/harness/process.h"

namespace samsa::testing {

// A client context with a deadline, for calls to the cluster's processes.
std::unique_ptr<grpc::ClientContext> RpcContext(absl::Duration timeout = absl::Seconds(5));

// GET http://127.0.0.1:port/path; the whole response, headers included
// (empty if nothing answered).
std::string HttpGet(int port, const std::string& path);

struct ClusterOptions {
  int voters = 3;
  int election_timeout_ms = 500;
  int session_timeout_ms = 2000;
  int heartbeat_interval_ms = 200;
  std::vector<std::string> overrides = {};  // extra key=value for every controller
  int brokers = 0;
  std::vector<std::string> broker_overrides = {};  // extra key=value for every broker
};

class Cluster {
 public:
  explicit Cluster(ClusterOptions options);
  ~Cluster();

  // Starts (or restarts) controller `id` (1..voters) and waits until it
  // answers RPCs.
  absl::Status Start(int id);
  absl::Status StartAll();
  // kill -9: memory gone, disk kept.
  void Kill(int id);
  // SIGTERM; the exit code.
  int Terminate(int id);
  ChildProcess& process(int id) { return processes_.at(id); }
  bool running(int id) const;

  v1::Controller::Stub& stub(int id) { return *stubs_.at(id); }
  const std::string& address(int id) const { return addresses_.at(id); }
  int metrics_port(int id) const { return metrics_ports_.at(id); }
  std::string data_dir(int id) const;
  std::string log(int id) const;
  std::string binary() const;
  // Controller `from` reaches its peer `to` at `address` (a proxy, say)
  // instead of where `to` listens, from its next start on.
  void set_voter_route(int from, int to, std::string address) {
    voter_routes_[{from, to}] = std::move(address);
  }
  // The --override arguments controller `id` runs with.
  std::vector<std::string> Args(int id) const;

  // The running controller that leads the quorum and has become active
  // (accepts writes), waiting up to `timeout`; -1 if none.
  int WaitForActive(absl::Duration timeout = absl::Seconds(30));

  // Brokers (ids 101...): started (or restarted) and waited for until they
  // answer RPCs; `extra` overrides come last.
  absl::Status StartBroker(int id, const std::vector<std::string>& extra = {});
  // Overrides broker `id` starts with from now on, after the cluster's.
  void set_broker_overrides(int id, std::vector<std::string> overrides) {
    broker_overrides_[id] = std::move(overrides);
  }
  // Environment entries ("NAME=value") broker `id` starts with from now on.
  void set_broker_env(int id, std::vector<std::string> env) { broker_env_[id] = std::move(env); }
  // Where broker `id` listens (and what it advertises).
  const std::string& broker_address(int id) const { return broker_addresses_.at(id); }
  void KillBroker(int id);
  int TerminateBroker(int id);  // SIGTERM; the exit code
  ChildProcess& broker_process(int id) { return brokers_.at(id); }
  bool broker_running(int id) const;
  v1::Broker::Stub& broker_stub(int id) { return *broker_stubs_.at(id); }
  int broker_metrics_port(int id) const { return broker_metrics_ports_.at(id); }
  std::string broker_log(int id) const;
  std::string broker_data_dir(int id) const;
  std::vector<std::string> BrokerArgs(int id) const;
  std::string broker_binary() const;
  // The broker as the active controller describes it (state FENCED with
  // epoch 0 when unknown).
  v1::BrokerDescription DescribeBroker(int id);
  // Waits until the active controller reports broker `id` in `state`.
  bool WaitForBrokerState(int id, v1::BrokerDescription::State state,
                          absl::Duration timeout = absl::Seconds(30));

 private:
  const ClusterOptions options_;
  TempDir dir_;
  std::map<int, std::string> addresses_;
  std::map<std::pair<int, int>, std::string> voter_routes_;
  std::map<int, int> metrics_ports_;
  std::map<int, ChildProcess> processes_;
  std::map<int, std::unique_ptr<v1::Controller::Stub>> stubs_;
  std::map<int, std::string> broker_addresses_;
  std::map<int, int> broker_metrics_ports_;
  std::map<int, ChildProcess> brokers_;
  std::map<int, std::vector<std::string>> broker_env_;
  std::map<int, std::vector<std::string>> broker_overrides_;
  std::map<int, std::unique_ptr<v1::Broker::Stub>> broker_stubs_;
};

// A broker as the controller sees it, without the broker: registers,
// heartbeats on its own thread while told to, follows NOT_CONTROLLER.
class FakeBroker {
 public:
  FakeBroker(Cluster* cluster, int id);
  ~FakeBroker();

  // Registers and heartbeats until unfenced.
  absl::Status Join(absl::Duration timeout = absl::Seconds(30));
  void StopHeartbeats();
  int64_t epoch() const { return epoch_; }

 private:
  // Sends `call` to each running controller until one is active.
  template <typename Response, typename Call>
  absl::StatusOr<Response> ToActive(Call call);
  void HeartbeatLoop();

  Cluster* const cluster_;
  const int id_;
  int64_t epoch_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace samsa::testing
