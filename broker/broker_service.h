// The Broker gRPC service (proto/samsa/v1/broker.proto) over the broker's
// metadata image and replicas, with gRPC's callback API: Produce finishes
// from the flusher or the acks=all wait, Fetch from the long-poll, admin
// calls from the controller's answer (forwarded with the async stub),
// never blocking a thread.
#pragma once

#include "broker/probe.h"
#include "broker/producer_ids.h"
#include "broker/quorum_client.h"
#include "broker/replica_manager.h"
#include "samsa/v1/broker.grpc.pb.h"

namespace samsa::broker {

// Produce and Fetch take raw bytes and parse them here, so a body that is
// not their message is INVALID_ARGUMENT (gRPC's own deserializer would answer
// UNIMPLEMENTED), and so Fetch can later hand out segment bytes without a
// copy.
using BrokerServiceBase = v1::Broker::WithRawCallbackMethod_Produce<
    v1::Broker::WithRawCallbackMethod_Fetch<v1::Broker::CallbackService>>;

class BrokerService final : public BrokerServiceBase {
 public:
  // `quorum` and `replicas` must outlive the service.
  // `probe` (may be null) counts requests and their latency.
  BrokerService(QuorumClient* quorum, ReplicaManager* replicas, ProducerIds* producer_ids,
                BrokerProbe* probe)
      : quorum_(quorum), replicas_(replicas), producer_ids_(producer_ids), probe_(probe) {}

  grpc::ServerUnaryReactor* Metadata(grpc::CallbackServerContext* ctx,
                                     const v1::MetadataRequest* request,
                                     v1::MetadataResponse* response) override;
  grpc::ServerUnaryReactor* Produce(grpc::CallbackServerContext* ctx,
                                    const grpc::ByteBuffer* request,
                                    grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* ctx, const grpc::ByteBuffer* request,
                                  grpc::ByteBuffer* response) override;
  grpc::ServerUnaryReactor* ListOffsets(grpc::CallbackServerContext* ctx,
                                        const v1::ListOffsetsRequest* request,
                                        v1::ListOffsetsResponse* response) override;
  grpc::ServerUnaryReactor* InitProducerId(grpc::CallbackServerContext* ctx,
                                           const v1::InitProducerIdRequest* request,
                                           v1::InitProducerIdResponse* response) override;

#define SAMSA_FORWARDED(Method)                                        \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx,   \
                                   const v1::Method##Request* request, \
                                   v1::Method##Response* response) override;
  SAMSA_FORWARDED(CreateTopics)
  SAMSA_FORWARDED(DeleteTopics)
  SAMSA_FORWARDED(CreatePartitions)
  SAMSA_FORWARDED(DescribeConfigs)
  SAMSA_FORWARDED(AlterConfigs)
  SAMSA_FORWARDED(DescribeCluster)
#undef SAMSA_FORWARDED

 private:
  // A reactor whose Finish also records the request in the probe.
  class TimedReactor;
  grpc::ServerUnaryReactor* Timed(grpc::CallbackServerContext* ctx, const char* api);

  QuorumClient* const quorum_;
  ReplicaManager* const replicas_;
  ProducerIds* const producer_ids_;
  BrokerProbe* const probe_;
};

// The Replica gRPC service: followers' fetches, long-polled by the leader.
class ReplicaService final : public v1::Replica::CallbackService {
 public:
  explicit ReplicaService(ReplicaManager* replicas) : replicas_(replicas) {}

  grpc::ServerUnaryReactor* Fetch(grpc::CallbackServerContext* ctx,
                                  const v1::ReplicaFetchRequest* request,
                                  v1::ReplicaFetchResponse* response) override;

 private:
  ReplicaManager* const replicas_;
};

// The Metadata answer from `image`: requested topics (all when none named),
// unfenced brokers, and the active controller.
v1::MetadataResponse DescribeMetadata(const MetadataImage& image,
                                      const v1::MetadataRequest& request, NodeId active_controller);

}  // namespace samsa::broker
