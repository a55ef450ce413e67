// The Broker gRPC service (proto/samsa/v1/broker.proto) over the broker's
// metadata image, with gRPC's callback API.
#pragma once

#include "broker/quorum_client.h"
#include "samsa/v1/broker.grpc.pb.h"

namespace samsa::broker {

class BrokerService final : public v1::Broker::CallbackService {
 public:
  // `quorum` must outlive the service.
  explicit BrokerService(const QuorumClient* quorum) : quorum_(quorum) {}

  grpc::ServerUnaryReactor* Metadata(grpc::CallbackServerContext* ctx,
                                     const v1::MetadataRequest* request,
                                     v1::MetadataResponse* response) override;

 private:
  const QuorumClient* const quorum_;
};

// The Metadata answer from `image`: requested topics (all when none named),
// unfenced brokers, and the active controller.
v1::MetadataResponse DescribeMetadata(const MetadataImage& image, const v1::MetadataRequest& request,
                                      NodeId active_controller);

}  // namespace samsa::broker
