// The Controller gRPC service (proto/samsa/v1/controller.proto) over a
// QuorumController, with gRPC's callback API: no handler blocks a thread;
// writes finish when their batch commits, FetchMetadata when a batch is
// committed or its wait ends. Malformed requests (negative offsets or
// waits) are INVALID_ARGUMENT.
#pragma once

#include "controller/quorum_controller.h"
#include "samsa/v1/controller.grpc.pb.h"

namespace samsa::controller {

class ControllerService final : public v1::Controller::CallbackService {
 public:
  // Longest FetchMetadata long-poll accepted.
  static constexpr int32_t kMaxWaitMs = 60000;

  explicit ControllerService(QuorumController* controller) : controller_(controller) {}

  grpc::ServerUnaryReactor* CreateTopics(grpc::CallbackServerContext* ctx,
                                         const v1::CreateTopicsRequest* request,
                                         v1::CreateTopicsResponse* response) override;
  grpc::ServerUnaryReactor* DeleteTopics(grpc::CallbackServerContext* ctx,
                                         const v1::DeleteTopicsRequest* request,
                                         v1::DeleteTopicsResponse* response) override;
  grpc::ServerUnaryReactor* CreatePartitions(grpc::CallbackServerContext* ctx,
                                             const v1::CreatePartitionsRequest* request,
                                             v1::CreatePartitionsResponse* response) override;
  grpc::ServerUnaryReactor* DescribeConfigs(grpc::CallbackServerContext* ctx,
                                            const v1::DescribeConfigsRequest* request,
                                            v1::DescribeConfigsResponse* response) override;
  grpc::ServerUnaryReactor* AlterConfigs(grpc::CallbackServerContext* ctx,
                                         const v1::AlterConfigsRequest* request,
                                         v1::AlterConfigsResponse* response) override;
  grpc::ServerUnaryReactor* DescribeTopics(grpc::CallbackServerContext* ctx,
                                           const v1::DescribeTopicsRequest* request,
                                           v1::DescribeTopicsResponse* response) override;
  grpc::ServerUnaryReactor* DescribeCluster(grpc::CallbackServerContext* ctx,
                                            const v1::DescribeClusterRequest* request,
                                            v1::DescribeClusterResponse* response) override;
  grpc::ServerUnaryReactor* RegisterBroker(grpc::CallbackServerContext* ctx,
                                           const v1::RegisterBrokerRequest* request,
                                           v1::RegisterBrokerResponse* response) override;
  grpc::ServerUnaryReactor* BrokerHeartbeat(grpc::CallbackServerContext* ctx,
                                            const v1::BrokerHeartbeatRequest* request,
                                            v1::BrokerHeartbeatResponse* response) override;
  grpc::ServerUnaryReactor* AlterPartition(grpc::CallbackServerContext* ctx,
                                           const v1::AlterPartitionRequest* request,
                                           v1::AlterPartitionResponse* response) override;
  grpc::ServerUnaryReactor* ControlledShutdown(grpc::CallbackServerContext* ctx,
                                               const v1::ControlledShutdownRequest* request,
                                               v1::ControlledShutdownResponse* response) override;
  grpc::ServerUnaryReactor* AllocateProducerIds(grpc::CallbackServerContext* ctx,
                                                const v1::AllocateProducerIdsRequest* request,
                                                v1::AllocateProducerIdsResponse* response) override;
  grpc::ServerUnaryReactor* AlterPartitionReassignments(
      grpc::CallbackServerContext* ctx, const v1::AlterPartitionReassignmentsRequest* request,
      v1::AlterPartitionReassignmentsResponse* response) override;
  grpc::ServerUnaryReactor* ListPartitionReassignments(
      grpc::CallbackServerContext* ctx, const v1::ListPartitionReassignmentsRequest* request,
      v1::ListPartitionReassignmentsResponse* response) override;
  grpc::ServerUnaryReactor* DecommissionBroker(grpc::CallbackServerContext* ctx,
                                               const v1::DecommissionBrokerRequest* request,
                                               v1::DecommissionBrokerResponse* response) override;
  grpc::ServerUnaryReactor* BalancePartitions(grpc::CallbackServerContext* ctx,
                                              const v1::BalancePartitionsRequest* request,
                                              v1::BalancePartitionsResponse* response) override;
  grpc::ServerUnaryReactor* FetchMetadata(grpc::CallbackServerContext* ctx,
                                          const v1::FetchMetadataRequest* request,
                                          v1::FetchMetadataResponse* response) override;
  grpc::ServerUnaryReactor* DescribeQuorum(grpc::CallbackServerContext* ctx,
                                           const v1::DescribeQuorumRequest* request,
                                           v1::DescribeQuorumResponse* response) override;

 private:
  QuorumController* const controller_;
};

}  // namespace samsa::controller
