#include "tests/harness/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "common/eventually.h"
#include "common/logging.h"
#include "common/status.h"
#include "storage/env.h"

namespace samsa::testing {

absl::StatusOr<ChildProcess> ChildProcess::Spawn(const std::string& binary,
                                                 const std::vector<std::string>& args,
                                                 const std::string& log_path,
                                                 const std::vector<std::string>& env) {
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) return ErrnoToStatus(errno, "open " + log_path);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(binary.c_str()));
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (char** e = environ; *e != nullptr; ++e) envp.push_back(*e);
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return ErrnoToStatus(errno, "fork");
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    execve(binary.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  close(log_fd);
  return ChildProcess(pid);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept { *this = std::move(other); }

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (running()) Kill();
    status_ = other.status_;
    exited_.store(other.exited_.load());
    pid_.store(other.pid_.exchange(-1), std::memory_order_release);
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (running()) Kill();
}

void ChildProcess::SetExited(int status) {
  status_ = status;
  exited_.store(true, std::memory_order_release);
}

void ChildProcess::Signal(int sig) {
  if (running()) kill(pid(), sig);
}

void ChildProcess::Kill() {
  if (!running()) return;
  kill(pid(), SIGKILL);
  int status = 0;
  if (waitpid(pid(), &status, 0) == pid()) SetExited(status);
}

std::optional<int> ChildProcess::WaitExit(absl::Duration timeout) {
  if (pid() <= 0) return std::nullopt;
  if (!exited_.load()) {
    (void)Eventually(
        [&] {
          int status = 0;
          if (waitpid(pid(), &status, WNOHANG) != pid()) return false;
          SetExited(status);
          return true;
        },
        timeout, absl::Milliseconds(5));
  }
  if (!exited_.load()) return std::nullopt;
  return status_;
}

int ChildProcess::Terminate(absl::Duration timeout) {
  Signal(SIGTERM);
  std::optional<int> status = WaitExit(timeout);
  if (!status.has_value()) {
    Kill();
    return -1;
  }
  return ExitCode(*status);
}

int ExitCode(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

namespace {

// Claims `port` for this process among concurrently running tests: a file
// /tmp/samsa-test-ports/<port> naming the owner's pid, created exclusively.
// A claim whose owner is gone is taken over. (Two test binaries that run at
// once under `ctest -j` could otherwise both find a port free and hand it to
// two servers, one of which then fails to bind.)
// The claims of this process, removed when it exits.
std::vector<std::string>& Claims() {
  static auto* claims = [] {
    auto* v = new std::vector<std::string>;
    std::atexit([] {
      for (const std::string& path : Claims()) (void)unlink(path.c_str());
    });
    return v;
  }();
  return *claims;
}

bool ClaimPort(int port) {
  const std::string dir = "/tmp/samsa-test-ports";
  (void)mkdir(dir.c_str(), 0777);
  const std::string path = dir + "/" + std::to_string(port);
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd >= 0) {
      const std::string pid = std::to_string(getpid());
      const bool written = write(fd, pid.data(), pid.size()) == static_cast<ssize_t>(pid.size());
      close(fd);
      Claims().push_back(path);
      return written;
    }
    // Taken: ours (already handed to a server of this process that may not
    // have bound it yet), someone alive's, or stale.
    const absl::StatusOr<std::string> owner = storage::Env::Default()->ReadFile(path);
    const int pid = owner.ok() ? std::atoi(owner->c_str()) : 0;
    if (pid > 0 && kill(pid, 0) == 0) return false;
    if (pid == 0 && owner.ok()) return false;  // being written by its owner
    (void)unlink(path.c_str());                // stale: the owner is gone
  }
  return false;
}

}  // namespace

int ReservePort() {
  // Below the kernel's ephemeral range (32768 and up by default): a port
  // picked there can be taken as the source port of some other test's
  // connection before the server we reserve it for binds it.
  static std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(20000, 32000);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    SAMSA_CHECK(fd >= 0) << "socket";
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int port = pick(rng);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    close(fd);
    if (free && ClaimPort(port)) return port;
  }
  SAMSA_CHECK(false) << "no free port in [20000, 32000)";
  return 0;
}

}  // namespace samsa::testing
