// The chaos suite's workload: idempotent acks=all writers sending values
// unique across the run at a steady rate, and readers that read every
// partition from the beginning, each recording into a History. A final
// full read, after the faults, gives the checker its ground truth.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/consumer.h"
#include "client/transport.h"
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
  // Members of `group` (auto-commit every 300 ms) and a watcher recording
  // the group's committed offsets every 200 ms; none when 0.
  int group_members = 0;
  std::string group = "chaos-group";
  // The writers' transport (tests route it through fault proxies); null:
  // a direct gRPC one each.
  std::shared_ptr<client::Transport> writer_transport = nullptr;
};

// A transport that sends each call for a broker to another address (its
// fault proxy), answers unchanged.
class RedirectingTransport final : public client::Transport {
 public:
  explicit RedirectingTransport(std::map<std::string, std::string> redirects)
      : redirects_(std::move(redirects)) {}
#define SAMSA_REDIRECT(Method)                                                                 \
  void Method(const std::string& address, v1::Method##Request request, absl::Duration timeout, \
              client::Reply<v1::Method##Response> reply) override {                            \
    auto it = redirects_.find(address);                                                        \
    inner_.Method(it == redirects_.end() ? address : it->second, std::move(request), timeout,  \
                  std::move(reply));                                                           \
  }
  SAMSA_REDIRECT(Metadata)
  SAMSA_REDIRECT(InitProducerId)
  SAMSA_REDIRECT(Produce)
  SAMSA_REDIRECT(Fetch)
  SAMSA_REDIRECT(ListOffsets)
  SAMSA_REDIRECT(FindCoordinator)
  SAMSA_REDIRECT(ConsumerGroupHeartbeat)
  SAMSA_REDIRECT(OffsetCommit)
  SAMSA_REDIRECT(OffsetFetch)
#undef SAMSA_REDIRECT

 private:
  const std::map<std::string, std::string> redirects_;
  client::GrpcTransport inner_;
};

class Workload {
 public:
  Workload(WorkloadOptions options, History* history);
  ~Workload();

  void Start();
  // Group churn: member `i` (0 <= i < group_members) leaves the group and
  // closes, or starts and joins it.
  void StopMember(int i);
  void StartMember(int i);
  // Stops sending, waits (up to the delivery timeout) for every answer,
  // then stops the readers. Writes still without an answer stay pending
  // (counted unknown).
  void Stop();

 private:
  void Write(int writer);
  void Read(int reader);
  void Member(int i);
  // Records what one Poll returned, a Poll per partition.
  void RecordPoll(int reader, bool group, const std::vector<client::ConsumerRecord>& records);
  void WatchCommits();

  const WorkloadOptions options_;
  History* const history_;
  std::atomic<bool> writing_{false};
  std::atomic<bool> reading_{false};
  std::vector<std::thread> threads_;
  std::vector<std::thread> readers_;
  std::vector<std::unique_ptr<std::atomic<bool>>> member_on_;
  std::vector<std::thread> members_;
  std::thread watcher_;
};

// Every record of `topic`'s partitions up to their high watermarks, read
// by a fresh consumer (waiting at most `timeout`).
absl::StatusOr<FinalRead> ReadAll(const std::string& bootstrap, const std::string& topic,
                                  int32_t partitions, absl::Duration timeout);

}  // namespace samsa::chaos
