#include "broker/quorum_client.h"

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_channel.h"
#include "common/logging.h"

namespace samsa::broker {
namespace {

Uuid NewIncarnation() {
  absl::BitGen gen;
  Uuid id{absl::Uniform<uint64_t>(gen), absl::Uniform<uint64_t>(gen)};
  if (id.IsZero()) id.lo = 1;
  return id;
}

}  // namespace

QuorumClient::QuorumClient(QuorumClientOptions options)
    : options_(std::move(options)),
      incarnation_(NewIncarnation()),
      image_(std::make_shared<const MetadataImage>()) {}

QuorumClient::~QuorumClient() { Stop(); }

void QuorumClient::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    if (fetch_ctx_ != nullptr) fetch_ctx_->TryCancel();  // do not wait out the long-poll
  }
  wakeup_.Notify();
  if (heartbeat_thread_.joinable()) heartbeat_thread_.join();
  if (fetch_thread_.joinable()) fetch_thread_.join();
}

void QuorumClient::WaitUnlessStopped(absl::Duration timeout) {
  wakeup_.Wait(
      mu_, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; }, timeout);
}

bool QuorumClient::stopping() const {
  absl::MutexLock lock(&mu_);
  return stop_;
}

std::shared_ptr<const MetadataImage> QuorumClient::image() const {
  absl::MutexLock lock(&mu_);
  return image_;
}

absl::Status QuorumClient::failure() const {
  absl::MutexLock lock(&mu_);
  return failure_;
}

void QuorumClient::Fail(absl::Status st) {
  SAMSA_LOG(ERROR) << "broker " << options_.broker_id << " must stop: " << st;
  {
    absl::MutexLock lock(&mu_);
    if (failure_.ok()) failure_ = std::move(st);
    stop_ = true;
  }
  wakeup_.Notify();
}

v1::Controller::Stub& QuorumClient::StubFor(const std::string& address) {
  std::unique_ptr<v1::Controller::Stub>& stub = stubs_[address];
  if (stub == nullptr) stub = v1::Controller::NewStub(NewChannel(address));
  return *stub;
}

v1::Controller::Stub* QuorumClient::ActiveStub(std::string* address) {
  absl::MutexLock lock(&mu_);
  if (active_address_.empty()) {
    active_address_ = options_.controllers[next_bootstrap_++ % options_.controllers.size()];
  }
  *address = active_address_;
  return &StubFor(active_address_);
}

void QuorumClient::NoteAnswer(const std::string& address, CallOutcome outcome,
                              const v1::LeaderHint* hint) {
  absl::MutexLock lock(&mu_);
  if (active_address_ != address) return;  // someone else moved on already
  if (hint != nullptr && !hint->leader_address().empty()) {
    active_address_ = hint->leader_address();
    active_.store(hint->leader_id());
  } else if (outcome == CallOutcome::kFailed || hint != nullptr) {
    active_address_.clear();
    active_.store(-1);
  }
}

template <typename Response, typename Call>
absl::StatusOr<Response> QuorumClient::CallActive(Call call, absl::Time deadline) {
  grpc::Status last;
  while (MonotonicNow() < deadline && !stopping()) {
    std::string address;
    v1::Controller::Stub* stub = ActiveStub(&address);
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    // gRPC takes a wall-clock deadline and turns it into a timeout at once.
    ctx.set_deadline(absl::ToChronoTime(absl::Now() +
                                        std::min(deadline - MonotonicNow(), options_.rpc_timeout)));
    Response r;
    last = call(*stub, &ctx, &r);
    const bool redirected = last.ok() && r.error().code() == v1::NOT_CONTROLLER;
    if (last.ok() && !redirected) {
      active_.store(r.controller().leader_id());
      return r;
    }
    NoteAnswer(address, last.ok() ? CallOutcome::kAnswered : CallOutcome::kFailed,
               redirected ? &r.controller() : nullptr);
    if (redirected && !r.controller().leader_address().empty() &&
        r.controller().leader_address() != address) {
      continue;  // go where the hint says at once
    }
    absl::MutexLock lock(&mu_);
    WaitUnlessStopped(absl::Milliseconds(50));
  }
  return absl::UnavailableError(
      absl::StrCat("no active controller answered (last: ", last.error_message(), ")"));
}

absl::Status QuorumClient::Start(const std::string& address, absl::Duration timeout) {
  v1::RegisterBrokerRequest req;
  req.set_broker_id(options_.broker_id.value());
  *req.mutable_incarnation_id() = incarnation_.ToProto();
  req.set_address(address);
  req.set_rack(options_.rack);
  absl::StatusOr<v1::RegisterBrokerResponse> r = CallActive<v1::RegisterBrokerResponse>(
      [&](v1::Controller::Stub& s, grpc::ClientContext* ctx, v1::RegisterBrokerResponse* out) {
        return s.RegisterBroker(ctx, req, out);
      },
      MonotonicNow() + timeout);
  if (!r.ok()) return r.status();
  if (r->error().code() != v1::NONE) {
    return absl::FailedPreconditionError(
        absl::StrCat("registration refused: ", r->error().message()));
  }
  epoch_.store(r->broker_epoch());
  SAMSA_LOG(INFO) << "broker " << options_.broker_id << " registered as " << address
                  << " with epoch " << r->broker_epoch();
  heartbeat_thread_ = std::thread([this] { HeartbeatLoop(); });
  fetch_thread_ = std::thread([this] { FetchLoop(); });
  return absl::OkStatus();
}

void QuorumClient::HeartbeatLoop() {
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      if (stop_ || heartbeats_stopped_) return;
    }
    if (options_.health) {
      if (absl::Status st = options_.health(); !st.ok()) {
        SAMSA_LOG(ERROR) << st << ": heartbeats stop, so the controller fences broker "
                         << options_.broker_id
                         << " and moves its leaderships; restart it once the directory is fixed";
        absl::MutexLock lock(&mu_);
        heartbeats_stopped_ = true;
        return;
      }
    }
    v1::BrokerHeartbeatRequest req;
    req.set_broker_id(options_.broker_id.value());
    req.set_broker_epoch(epoch_.load());
    req.set_metadata_offset(image()->offset());
    if (options_.report_sizes) options_.report_sizes(&req);
    absl::StatusOr<v1::BrokerHeartbeatResponse> r = CallActive<v1::BrokerHeartbeatResponse>(
        [&](v1::Controller::Stub& s, grpc::ClientContext* ctx, v1::BrokerHeartbeatResponse* out) {
          return s.BrokerHeartbeat(ctx, req, out);
        },
        MonotonicNow() + options_.heartbeat_interval);
    if (r.ok()) {
      if (r->error().code() == v1::STALE_BROKER_EPOCH ||
          r->error().code() == v1::BROKER_ID_NOT_REGISTERED) {
        Fail(absl::FailedPreconditionError(absl::StrCat(
            "the controller no longer knows this registration (another process with node.id ",
            options_.broker_id.value(), "?): ", r->error().message())));
        return;
      }
      if (r->error().code() == v1::NONE) {
        if (fenced_.exchange(r->is_fenced()) != r->is_fenced()) {
          SAMSA_LOG(INFO) << "broker " << options_.broker_id
                          << (r->is_fenced() ? " is fenced" : " is unfenced");
          if (options_.on_fenced) options_.on_fenced(r->is_fenced());
        }
      }
    }
    absl::MutexLock lock(&mu_);
    WaitUnlessStopped(options_.heartbeat_interval);
  }
}

void QuorumClient::FetchLoop() {
  while (!stopping()) {
    const std::shared_ptr<const MetadataImage> current = image();
    v1::FetchMetadataRequest req;
    req.set_from_offset(current->offset());
    req.set_max_wait_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(options_.fetch_wait)));
    v1::FetchMetadataResponse r;
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + options_.fetch_wait + options_.rpc_timeout));
    // From the active controller, as heartbeats find it: a controller cut
    // off from the quorum still serves what it committed, frozen there.
    std::string address;
    v1::Controller::Stub* stub = ActiveStub(&address);
    grpc::Status st;
    {
      {
        absl::MutexLock lock(&mu_);
        if (stop_) return;
        fetch_ctx_ = &ctx;
      }
      st = stub->FetchMetadata(&ctx, req, &r);
      absl::MutexLock lock(&mu_);
      fetch_ctx_ = nullptr;
    }
    if (!st.ok() || r.error().code() != v1::NONE) {
      NoteAnswer(address, CallOutcome::kFailed, nullptr);  // look for the active one again
      absl::MutexLock lock(&mu_);
      WaitUnlessStopped(absl::Milliseconds(50));
      continue;
    }
    if (!r.has_snapshot() && r.entries().empty() && r.offset() <= current->offset()) continue;
    MetadataImage updated = *current;
    if (r.has_snapshot()) {
      absl::StatusOr<MetadataImage> from = MetadataImage::FromSnapshot(r.snapshot());
      if (!from.ok()) {
        Fail(from.status());
        return;
      }
      updated = std::move(*from);
    }
    for (const v1::MetadataEntry& e : r.entries()) {
      if (e.offset() <= updated.offset()) continue;
      if (absl::Status applied = updated.Apply(e.batch(), e.offset()); !applied.ok()) {
        Fail(applied);
        return;
      }
    }
    updated.AdvanceTo(r.offset());
    auto published = std::make_shared<const MetadataImage>(std::move(updated));
    // The broker acts on the image before image() shows it: once Metadata
    // names this broker leader, it serves as one.
    if (options_.on_image) options_.on_image(published);
    absl::MutexLock lock(&mu_);
    image_ = published;
  }
}

absl::StatusOr<v1::AlterPartitionResponse> QuorumClient::AlterPartition(
    const v1::AlterPartitionRequest& request) {
  return CallActive<v1::AlterPartitionResponse>(
      [&](v1::Controller::Stub& s, grpc::ClientContext* ctx, v1::AlterPartitionResponse* out) {
        return s.AlterPartition(ctx, request, out);
      },
      MonotonicNow() + 3 * options_.rpc_timeout);
}

bool QuorumClient::ControlledShutdown(absl::Duration timeout) {
  const absl::Time deadline = MonotonicNow() + timeout;
  v1::ControlledShutdownRequest req;
  req.set_broker_id(options_.broker_id.value());
  req.set_broker_epoch(epoch_.load());
  bool done = false;
  while (!done && MonotonicNow() < deadline) {
    absl::StatusOr<v1::ControlledShutdownResponse> r = CallActive<v1::ControlledShutdownResponse>(
        [&](v1::Controller::Stub& s, grpc::ClientContext* ctx,
            v1::ControlledShutdownResponse* out) { return s.ControlledShutdown(ctx, req, out); },
        deadline);
    if (!r.ok() || r->error().code() != v1::NONE) break;
    done = r->remaining_leaderships() == 0;
    if (!done) {
      SAMSA_LOG(INFO) << "controlled shutdown: " << r->remaining_leaderships()
                      << " leaderships still to move";
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  absl::MutexLock lock(&mu_);
  heartbeats_stopped_ = true;
  return done;
}

}  // namespace samsa::broker
