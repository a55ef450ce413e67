// ControllerCluster: real samsa-controller processes on 127.0.0.1 ephemeral
// ports, each with its own data directory under one TempDir, for
// integration tests. Configuration goes on the command line (--override).
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
#include "samsa/v1/controller.grpc.pb.h"
#include "tests/harness/process.h"

namespace samsa::testing {

struct ControllerClusterOptions {
  int voters = 3;
  int election_timeout_ms = 500;
  int session_timeout_ms = 2000;
  int heartbeat_interval_ms = 200;
  std::vector<std::string> overrides = {};  // extra key=value for every node
};

class ControllerCluster {
 public:
  explicit ControllerCluster(ControllerClusterOptions options);
  ~ControllerCluster();

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
  // The --override arguments controller `id` runs with.
  std::vector<std::string> Args(int id) const;

  // The running controller that leads the quorum and has become active
  // (accepts writes), waiting up to `timeout`; -1 if none.
  int WaitForActive(absl::Duration timeout = absl::Seconds(30));

 private:
  const ControllerClusterOptions options_;
  TempDir dir_;
  std::map<int, std::string> addresses_;
  std::map<int, int> metrics_ports_;
  std::map<int, ChildProcess> processes_;
  std::map<int, std::unique_ptr<v1::Controller::Stub>> stubs_;
};

// A broker as the controller sees it, without the broker: registers,
// heartbeats on its own thread while told to, follows NOT_CONTROLLER.
class FakeBroker {
 public:
  FakeBroker(ControllerCluster* cluster, int id);
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

  ControllerCluster* const cluster_;
  const int id_;
  int64_t epoch_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace samsa::testing
