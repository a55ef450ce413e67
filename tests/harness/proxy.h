// FaultProxy: a TCP proxy on 127.0.0.1 between clients and one server, for
// fault injection. It forwards every connection to `target` until told to
// drop what the server answers (requests still arrive: the client never
// learns their outcome) or to stall both ways.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace samsa::testing {

class FaultProxy {
 public:
  enum class Mode { kPass, kDropResponses, kBlackhole };

  // Listens on a reserved port; forwards to `target` ("127.0.0.1:port").
  explicit FaultProxy(std::string target);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  std::string address() const;
  void set_mode(Mode mode) { mode_ = mode; }

 private:
  void AcceptLoop();
  // Copies `from` to `to` until either closes or the proxy stops;
  // `responses`: the server-to-client direction.
  void Pump(int from, int to, bool responses);

  const std::string target_;
  int port_ = 0;
  int listen_fd_ = -1;
  std::atomic<Mode> mode_{Mode::kPass};
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<std::thread> pumps_;  // guarded by mu_
};

}  // namespace samsa::testing
