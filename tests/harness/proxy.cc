#include "tests/harness/proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/logging.h"
#include "tests/harness/process.h"

namespace samsa::testing {
namespace {

sockaddr_in Loopback(int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// Waits up to 100 ms for `fd` to be readable.
bool Readable(int fd) {
  pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
  return poll(&p, 1, 100) > 0;
}

}  // namespace

FaultProxy::FaultProxy(std::string target) : target_(std::move(target)) {
  port_ = ReservePort();
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  SAMSA_CHECK(listen_fd_ >= 0) << "socket";
  const int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr = Loopback(port_);
  SAMSA_CHECK(bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0)
      << "bind " << port_;
  SAMSA_CHECK(listen(listen_fd_, 64) == 0) << "listen";
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

FaultProxy::~FaultProxy() {
  stop_ = true;
  acceptor_.join();
  std::vector<std::thread> pumps;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pumps.swap(pumps_);
  }
  for (std::thread& t : pumps) t.join();
  close(listen_fd_);
}

std::string FaultProxy::address() const { return absl::StrCat("127.0.0.1:", port_); }

void FaultProxy::AcceptLoop() {
  int target_port = 0;
  SAMSA_CHECK(absl::SimpleAtoi(target_.substr(target_.rfind(':') + 1), &target_port)) << target_;
  while (!stop_) {
    if (!Readable(listen_fd_)) continue;
    const int client = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    const int server = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr = Loopback(target_port);
    if (server < 0 || connect(server, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(client);
      if (server >= 0) close(server);
      continue;
    }
    // Each direction shuts the other's write side when it ends; the
    // client-to-server pump closes both sockets once the other is done.
    std::lock_guard<std::mutex> lock(mu_);
    pumps_.emplace_back([this, client, server] {
      std::thread back([this, client, server] { Pump(server, client, true); });
      Pump(client, server, false);
      back.join();
      close(client);
      close(server);
    });
  }
}

void FaultProxy::Pump(int from, int to, bool responses) {
  char buf[1 << 16];
  while (!stop_) {
    if (mode_ == Mode::kBlackhole) {
      usleep(20000);  // neither direction moves
      continue;
    }
    if (!Readable(from)) continue;
    const ssize_t n = read(from, buf, sizeof(buf));
    if (n <= 0) break;
    if (responses && mode_ == Mode::kDropResponses) continue;  // the client never hears
    for (ssize_t done = 0; done < n;) {
      const ssize_t w = send(to, buf + done, static_cast<size_t>(n - done), MSG_NOSIGNAL);
      if (w <= 0) {
        shutdown(from, SHUT_RD);
        return;
      }
      done += w;
    }
  }
  shutdown(to, SHUT_WR);
}

}  // namespace samsa::testing
