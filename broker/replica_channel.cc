#include "broker/replica_channel.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/grpc_channel.h"
#include "samsa/v1/broker.grpc.pb.h"

namespace samsa::broker {
namespace {

class GrpcReplicaChannel final : public ReplicaChannel {
 public:
  explicit GrpcReplicaChannel(const std::string& address)
      : address_(address), stub_(v1::Replica::NewStub(NewChannel(address))) {}

  absl::StatusOr<v1::ReplicaFetchResponse> Fetch(const v1::ReplicaFetchRequest& request,
                                                 absl::Duration timeout) override {
    grpc::ClientContext ctx;
    ctx.set_wait_for_ready(true);
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    {
      absl::MutexLock lock(&mu_);
      if (cancelled_) return absl::CancelledError("replica channel closed");
      in_flight_ = &ctx;
    }
    v1::ReplicaFetchResponse response;
    const grpc::Status status = stub_->Fetch(&ctx, request, &response);
    {
      absl::MutexLock lock(&mu_);
      in_flight_ = nullptr;
    }
    if (!status.ok()) {
      return absl::Status(
          static_cast<absl::StatusCode>(status.error_code()),
          absl::StrCat("Replica.Fetch to ", address_, ": ", status.error_message()));
    }
    return response;
  }

  void Cancel() override {
    absl::MutexLock lock(&mu_);
    cancelled_ = true;
    // A long-poll in flight is cancelled rather than waited out.
    if (in_flight_ != nullptr) in_flight_->TryCancel();
  }

 private:
  const std::string address_;
  const std::unique_ptr<v1::Replica::Stub> stub_;
  absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  // The call in flight; cleared before the context it points to goes away.
  grpc::ClientContext* in_flight_ ABSL_GUARDED_BY(mu_) = nullptr;
};

}  // namespace

std::unique_ptr<ReplicaChannel> NewGrpcReplicaChannel(NodeId, const std::string& address) {
  return std::make_unique<GrpcReplicaChannel>(address);
}

}  // namespace samsa::broker
