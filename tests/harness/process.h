// Child processes for integration tests: started from a binary with
// arguments, output to a log file, stopped by signal. A child dies with the
// test process (PR_SET_PDEATHSIG), and the destructor kills a running one,
// so no test leaves processes behind.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/temp_dir.h"

namespace samsa::testing {

class ChildProcess {
 public:
  // Starts `binary` with `args` and this process's environment plus `env`
  // ("NAME=value" entries); stdout and stderr go to `log_path`.
  static absl::StatusOr<ChildProcess> Spawn(const std::string& binary,
                                            const std::vector<std::string>& args,
                                            const std::string& log_path,
                                            const std::vector<std::string>& env = {});
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  pid_t pid() const { return pid_.load(std::memory_order_acquire); }
  // Safe to call from other threads (a cluster's heartbeat helpers) while
  // the owner kills, waits for or replaces the process.
  bool running() const { return pid() > 0 && !exited_.load(std::memory_order_acquire); }

  void Signal(int sig);
  // SIGKILL, then reaps it.
  void Kill();
  // Waits up to `timeout` for the exit; its wait status, or nullopt.
  std::optional<int> WaitExit(absl::Duration timeout);
  // SIGTERM, then waits; the exit code (128 + signal when killed), or -1 if
  // it did not stop within `timeout` (it is then killed).
  int Terminate(absl::Duration timeout = absl::Seconds(20));

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}

  // Exited: then status_ holds its wait status.
  void SetExited(int status);

  std::atomic<pid_t> pid_{-1};
  std::atomic<bool> exited_{false};
  int status_ = 0;  // written before exited_ is set
};

// A free TCP port on 127.0.0.1 below the ephemeral range (bound, released),
// claimed for this process so that tests running at once never share one.
int ReservePort();

// A fresh directory, deleted with its contents (storage/temp_dir.h).
using storage::TempDir;

// Exit code of a wait status: the code, or 128 + the signal.
int ExitCode(int wait_status);

}  // namespace samsa::testing
