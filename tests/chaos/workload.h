// The chaos suite's workload: idempotent acks=all writers sending values
// unique across the run at a steady rate, and readers that read every
// partition from the beginning, each recording into a History. A final
// full read, after the faults, gives the checker its ground truth.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/chaos/history.h"

namespace samsa::chaos {

struct WorkloadOptions {
  std::string bootstrap;
  std::string topic;
  int32_t partitions = 3;
  int writers = 2;
  int writes_per_second = 200;  // per writer
  int readers = 1;
  absl::Duration delivery_timeout = absl::Seconds(30);
};

class Workload {
 public:
  Workload(WorkloadOptions options, History* history);
  ~Workload();

  void Start();
  // Stops sending, waits (up to the delivery timeout) for every answer,
  // then stops the readers. Writes still without an answer stay pending
  // (counted unknown).
  void Stop();

 private:
  void Write(int writer);
  void Read(int reader);

  const WorkloadOptions options_;
  History* const history_;
  std::atomic<bool> writing_{false};
  std::atomic<bool> reading_{false};
  std::vector<std::thread> threads_;
  std::vector<std::thread> readers_;
};

// Every record of `topic`'s partitions up to their high watermarks, read
// by a fresh consumer (waiting at most `timeout`).
absl::StatusOr<FinalRead> ReadAll(const std::string& bootstrap, const std::string& topic,
                                  int32_t partitions, absl::Duration timeout);

}  // namespace samsa::chaos
