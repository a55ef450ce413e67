#include "broker/in_process_network.h"

#include "absl/strings/str_cat.h"
#include "broker/wire.h"
#include "common/await.h"

namespace samsa::broker {

class InProcessNetwork::Channel final : public ReplicaChannel {
 public:
  Channel(InProcessNetwork* network, NodeId leader) : network_(network), leader_(leader) {}

  absl::StatusOr<v1::ReplicaFetchResponse> Fetch(const v1::ReplicaFetchRequest& request,
                                                 absl::Duration timeout) override {
    using Answer = absl::StatusOr<v1::ReplicaFetchResponse>;
    return AwaitCallback<Answer>(
        [&](auto done) {
          absl::ReaderMutexLock lock(&network_->mu_);
          auto it = network_->brokers_.find(leader_);
          if (it == network_->brokers_.end()) {
            done(absl::UnavailableError(
                absl::StrCat("broker ", leader_.value(), " is not reachable")));
            return;
          }
          it->second->ReplicaFetch(request, [done](ReplicaFetchAnswer answer) mutable {
            v1::ReplicaFetchResponse response;
            if (!FromWire(ToWire(std::move(answer)), &response)) {
              done(absl::InternalError("a Replica.Fetch answer does not parse"));
              return;
            }
            done(std::move(response));
          });
        },
        timeout, &cancel_);
  }

  void Cancel() override { cancel_.Cancel(); }

 private:
  InProcessNetwork* const network_;
  const NodeId leader_;
  Cancellation cancel_;
};

void InProcessNetwork::Join(NodeId id, ReplicaManager* replicas) {
  absl::MutexLock lock(&mu_);
  brokers_[id] = replicas;
}

void InProcessNetwork::Leave(NodeId id) {
  absl::MutexLock lock(&mu_);
  brokers_.erase(id);
}

ReplicaChannelFactory InProcessNetwork::Channels() {
  return [this](NodeId leader, const std::string&) -> std::unique_ptr<ReplicaChannel> {
    return std::make_unique<Channel>(this, leader);
  };
}

}  // namespace samsa::broker
