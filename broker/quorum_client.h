// QuorumClient: a broker's link to the controller quorum (Kafka's
// BrokerLifecycleManager and metadata fetcher, KIP-631).
//
//   * Start() registers the broker under a fresh incarnation id with the
//     active controller and gets its broker epoch. Until then image() is
//     empty.
//   * A heartbeat thread reports the applied metadata offset every
//     `heartbeat_interval` and learns whether the broker is fenced.
//   * A fetch thread long-polls FetchMetadata from any controller and
//     replays the batches into a MetadataImage (or replaces it with the
//     snapshot it is sent), publishing each new image.
//   * ControlledShutdown() asks the active controller to move the broker's
//     leaderships away until none remain.
//
// The active controller is found from NOT_CONTROLLER hints, falling back to
// trying each bootstrap address. Calls wait for the channel to connect,
// bounded by `rpc_timeout` (a fail-fast call on a connecting channel would
// leave connecting to gRPC's 5 s backup poller).
//
// failure() becomes non-OK, for good, when the broker must stop: another
// process registered with the same node.id (our epoch is stale), or the
// metadata sent does not apply to our image.
//
// Threads: its own two; the public methods are thread-safe. `on_image`
// runs on the fetch thread, before image() returns that image, and must not
// block for long.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/clock.h"
#include "common/metadata_image.h"
#include "samsa/v1/controller.grpc.pb.h"

namespace samsa::broker {

struct QuorumClientOptions {
  NodeId broker_id = kNoNode;
  std::string rack = {};
  std::vector<std::string> controllers = {};  // bootstrap host:port
  absl::Duration heartbeat_interval = absl::Seconds(2);
  absl::Duration rpc_timeout = absl::Seconds(1);
  absl::Duration fetch_wait = absl::Seconds(1);  // FetchMetadata long-poll
  std::function<void(std::shared_ptr<const MetadataImage>)> on_image = nullptr;
  std::function<void(bool fenced)> on_fenced = nullptr;  // on the heartbeat thread
  // Adds the replica sizes to each heartbeat (on the heartbeat thread).
  std::function<void(v1::BrokerHeartbeatRequest*)> report_sizes = nullptr;
  // Checked before each heartbeat: an error (the log directory went
  // offline) stops the heartbeats for good, so the controller fences this
  // broker and moves its leaderships; the process keeps running (no crash
  // loop) until an operator restarts it.
  std::function<absl::Status()> health = nullptr;
};

class QuorumClient {
 public:
  explicit QuorumClient(QuorumClientOptions options);
  ~QuorumClient();

  // Registers under `address` (the advertised host:port), retrying until an
  // active controller accepts, up to `timeout`; then starts heartbeats and
  // metadata fetching. Called once.
  absl::Status Start(const std::string& address, absl::Duration timeout);
  // Moves this broker's leaderships away; true once none remain (the
  // controller then fences it), false if `timeout` passed first. Stops the
  // heartbeats either way.
  bool ControlledShutdown(absl::Duration timeout);
  // Stops both threads (idempotent).
  void Stop();
  // Sends `request` to the active controller without blocking: `call`
  // starts the RPC on a stub's async() interface; one NOT_CONTROLLER answer
  // with a hint is followed, and an unreachable controller gives way to the
  // next bootstrap address once. `done` gets the controller's answer (which
  // may still be NOT_CONTROLLER) or the transport error.
  template <typename Response>
  using AsyncCall = std::function<void(v1::Controller::Stub::async_interface*, grpc::ClientContext*,
                                       Response*, std::function<void(grpc::Status)>)>;
  template <typename Response>
  void Forward(AsyncCall<Response> call, std::function<void(grpc::Status, Response)> done,
               int attempts = 2);
  // Sends an ISR change to the active controller (blocking, up to a few
  // RPC timeouts).
  absl::StatusOr<v1::AlterPartitionResponse> AlterPartition(
      const v1::AlterPartitionRequest& request);

  std::shared_ptr<const MetadataImage> image() const;
  int64_t epoch() const { return epoch_.load(); }
  bool fenced() const { return fenced_.load(); }
  NodeId active_controller() const { return NodeId(active_.load()); }
  absl::Status failure() const;

 private:
  v1::Controller::Stub& StubFor(const std::string& address) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The stub for the active controller (or the next bootstrap address).
  v1::Controller::Stub* ActiveStub(std::string* address);
  // Learns from a call to `address` where the active controller is: its
  // hint when it gave one, else whether the call went through at all.
  enum class CallOutcome { kAnswered, kFailed };
  void NoteAnswer(const std::string& address, CallOutcome outcome, const v1::LeaderHint* hint);
  // Sends `call` to the active controller, following NOT_CONTROLLER hints,
  // until it answers or `deadline` (MonotonicNow() time). `Response` has
  // `error` and `controller`.
  template <typename Response, typename Call>
  absl::StatusOr<Response> CallActive(Call call, absl::Time deadline);
  void HeartbeatLoop();
  void FetchLoop();
  void Fail(absl::Status st);
  bool stopping() const;
  // Sleeps for `timeout` unless Stop or Fail comes first.
  void WaitUnlessStopped(absl::Duration timeout) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const QuorumClientOptions options_;
  const Uuid incarnation_;
  std::atomic<int64_t> epoch_{0};
  std::atomic<bool> fenced_{true};
  std::atomic<int32_t> active_{-1};

  mutable absl::Mutex mu_;
  std::map<std::string, std::unique_ptr<v1::Controller::Stub>> stubs_ ABSL_GUARDED_BY(mu_);
  std::string active_address_ ABSL_GUARDED_BY(mu_);
  size_t next_bootstrap_ ABSL_GUARDED_BY(mu_) = 0;
  std::shared_ptr<const MetadataImage> image_ ABSL_GUARDED_BY(mu_);
  absl::Status failure_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool heartbeats_stopped_ ABSL_GUARDED_BY(mu_) = false;
  grpc::ClientContext* fetch_ctx_ ABSL_GUARDED_BY(mu_) = nullptr;  // the long-poll in flight
  Wakeup wakeup_;                                                  // notified when stop_ is set
  std::thread heartbeat_thread_;
  std::thread fetch_thread_;
};

template <typename Response>
void QuorumClient::Forward(AsyncCall<Response> call,
                           std::function<void(grpc::Status, Response)> done, int attempts) {
  std::string address;
  v1::Controller::Stub* stub = ActiveStub(&address);
  auto ctx = std::make_shared<grpc::ClientContext>();
  ctx->set_deadline(absl::ToChronoTime(absl::Now() + 5 * options_.rpc_timeout));
  auto response = std::make_shared<Response>();
  call(stub->async(), ctx.get(), response.get(),
       [this, call, done, attempts, address, ctx, response](grpc::Status st) {
         const bool redirected = st.ok() && response->error().code() == v1::NOT_CONTROLLER;
         const v1::LeaderHint* hint = nullptr;
         if constexpr (requires { response->controller(); }) {  // reads have no hint
           if (redirected) hint = &response->controller();
         }
         NoteAnswer(address, st.ok() ? CallOutcome::kAnswered : CallOutcome::kFailed, hint);
         if ((redirected || st.error_code() == grpc::StatusCode::UNAVAILABLE) && attempts > 1) {
           Forward(call, done, attempts - 1);
           return;
         }
         done(st, std::move(*response));
       });
}

}  // namespace samsa::broker
