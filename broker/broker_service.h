// The Broker gRPC service (proto/samsa/v1/broker.proto) over the broker's
// metadata image and replicas, with gRPC's callback API: Produce finishes
// from the flusher or the acks=all wait, Fetch from the long-poll, admin
// calls from the controller's answer (forwarded with the async stub),
// never blocking a thread.
#pragma once

#include "broker/group_runtime.h"
#include "broker/probe.h"
#include "broker/producer_ids.h"
#include "broker/quorum_client.h"
#include "broker/replica_manager.h"
#include "samsa/v1/broker.grpc.pb.h"

namespace samsa::broker {

// Every method takes and gives raw bytes: a body that is not the method's
// request is INVALID_ARGUMENT (gRPC's own deserializer would answer
// UNIMPLEMENTED), and Fetch hands out record bytes without copying them
// (broker/wire.h).
template <typename Base, template <typename> class... Methods>
struct WithRawMethods {
  using type = Base;
};
template <typename Base, template <typename> class First, template <typename> class... Rest>
struct WithRawMethods<Base, First, Rest...> {
  using type = First<typename WithRawMethods<Base, Rest...>::type>;
};
using BrokerServiceBase = WithRawMethods<
    v1::Broker::Service, v1::Broker::WithRawCallbackMethod_Metadata,
    v1::Broker::WithRawCallbackMethod_Produce, v1::Broker::WithRawCallbackMethod_Fetch,
    v1::Broker::WithRawCallbackMethod_ListOffsets, v1::Broker::WithRawCallbackMethod_InitProducerId,
    v1::Broker::WithRawCallbackMethod_CreateTopics, v1::Broker::WithRawCallbackMethod_DeleteTopics,
    v1::Broker::WithRawCallbackMethod_CreatePartitions,
    v1::Broker::WithRawCallbackMethod_DescribeConfigs,
    v1::Broker::WithRawCallbackMethod_AlterConfigs,
    v1::Broker::WithRawCallbackMethod_DescribeCluster,
    v1::Broker::WithRawCallbackMethod_DescribeQuorum,
    v1::Broker::WithRawCallbackMethod_AlterPartitionReassignments,
    v1::Broker::WithRawCallbackMethod_ListPartitionReassignments,
    v1::Broker::WithRawCallbackMethod_DecommissionBroker,
    v1::Broker::WithRawCallbackMethod_BalancePartitions,
    v1::Broker::WithRawCallbackMethod_FindCoordinator,
    v1::Broker::WithRawCallbackMethod_ConsumerGroupHeartbeat,
    v1::Broker::WithRawCallbackMethod_OffsetCommit, v1::Broker::WithRawCallbackMethod_OffsetFetch,
    v1::Broker::WithRawCallbackMethod_ListGroups, v1::Broker::WithRawCallbackMethod_DescribeGroups,
    v1::Broker::WithRawCallbackMethod_DeleteGroups>::type;

class BrokerService final : public BrokerServiceBase {
 public:
  // `replicas` must outlive the service; so must `quorum`, `producer_ids`
  // and `groups`, which only Metadata, the admin calls, InitProducerId and
  // the group calls use. `probe` (may be null) counts requests and their
  // latency.
  BrokerService(QuorumClient* quorum, ReplicaManager* replicas, ProducerIds* producer_ids,
                GroupRuntime* groups, BrokerProbe* probe)
      : quorum_(quorum),
        replicas_(replicas),
        producer_ids_(producer_ids),
        groups_(groups),
        probe_(probe) {}

#define SAMSA_RAW_METHOD(Method)                                                                \
  grpc::ServerUnaryReactor* Method(grpc::CallbackServerContext* ctx,                            \
                                   const grpc::ByteBuffer* request, grpc::ByteBuffer* response) \
      override;
  SAMSA_RAW_METHOD(Metadata)
  SAMSA_RAW_METHOD(Produce)
  SAMSA_RAW_METHOD(Fetch)
  SAMSA_RAW_METHOD(ListOffsets)
  SAMSA_RAW_METHOD(InitProducerId)
  SAMSA_RAW_METHOD(CreateTopics)
  SAMSA_RAW_METHOD(DeleteTopics)
  SAMSA_RAW_METHOD(CreatePartitions)
  SAMSA_RAW_METHOD(DescribeConfigs)
  SAMSA_RAW_METHOD(AlterConfigs)
  SAMSA_RAW_METHOD(DescribeCluster)
  SAMSA_RAW_METHOD(DescribeQuorum)
  SAMSA_RAW_METHOD(AlterPartitionReassignments)
  SAMSA_RAW_METHOD(ListPartitionReassignments)
  SAMSA_RAW_METHOD(DecommissionBroker)
  SAMSA_RAW_METHOD(BalancePartitions)
  SAMSA_RAW_METHOD(FindCoordinator)
  SAMSA_RAW_METHOD(ConsumerGroupHeartbeat)
  SAMSA_RAW_METHOD(OffsetCommit)
  SAMSA_RAW_METHOD(OffsetFetch)
  SAMSA_RAW_METHOD(ListGroups)
  SAMSA_RAW_METHOD(DescribeGroups)
  SAMSA_RAW_METHOD(DeleteGroups)

 private:
  // A reactor whose Finish also records the request in the probe.
  class TimedReactor;
  grpc::ServerUnaryReactor* Timed(grpc::CallbackServerContext* ctx, const char* api);
  // Parses `request` as a `Request` and calls `handle(request, reply)`;
  // reply(response) sends the response. Unparsable bytes: INVALID_ARGUMENT.
  template <typename Request, typename Handle>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* ctx, const char* api,
                                  const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                                  Handle handle);
  // Sends the request to the active controller and its answer back.
  template <typename Request, typename Response, typename Call>
  grpc::ServerUnaryReactor* Forward(grpc::CallbackServerContext* ctx, const char* api,
                                    const grpc::ByteBuffer* request, grpc::ByteBuffer* response,
                                    Call call);

  QuorumClient* const quorum_;
  ReplicaManager* const replicas_;
  ProducerIds* const producer_ids_;
  GroupRuntime* const groups_;
  BrokerProbe* const probe_;
};

// The Replica gRPC service: followers' fetches, long-polled by the leader.
// Raw, like BrokerService, so records go out without a copy.
class ReplicaService final : public v1::Replica::WithRawCallbackMethod_Fetch<v1::Replica::Service> {
 public:
  explicit ReplicaService(ReplicaManager* replicas) : replicas_(replicas) {}

  SAMSA_RAW_METHOD(Fetch)
#undef SAMSA_RAW_METHOD

 private:
  ReplicaManager* const replicas_;
};

// The Metadata answer from `image`: requested topics (all when none named),
// unfenced brokers, and the active controller.
v1::MetadataResponse DescribeMetadata(const MetadataImage& image,
                                      const v1::MetadataRequest& request, NodeId active_controller);

}  // namespace samsa::broker
