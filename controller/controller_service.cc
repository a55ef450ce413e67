#include "controller/controller_service.h"

#include "absl/strings/str_cat.h"
#include "common/grpc_reply.h"

namespace samsa::controller {
namespace {

template <typename Response>
grpc::ServerUnaryReactor* Answer(grpc::CallbackServerContext* ctx, Response* out, Response r) {
  *out = std::move(r);
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* Reject(grpc::CallbackServerContext* ctx, std::string message) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::move(message)));
  return reactor;
}

}  // namespace

#define SAMSA_CONTROLLER_WRITE(Method)                                                    \
  grpc::ServerUnaryReactor* ControllerService::Method(grpc::CallbackServerContext* ctx,   \
                                                      const v1::Method##Request* request, \
                                                      v1::Method##Response* response) {   \
    grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();                            \
    controller_->Method(*request, ReplyTo(reactor, response));                            \
    return reactor;                                                                       \
  }

SAMSA_CONTROLLER_WRITE(CreateTopics)
SAMSA_CONTROLLER_WRITE(DeleteTopics)
SAMSA_CONTROLLER_WRITE(CreatePartitions)
SAMSA_CONTROLLER_WRITE(AlterConfigs)
SAMSA_CONTROLLER_WRITE(RegisterBroker)
SAMSA_CONTROLLER_WRITE(BrokerHeartbeat)
SAMSA_CONTROLLER_WRITE(AlterPartition)
SAMSA_CONTROLLER_WRITE(ControlledShutdown)
SAMSA_CONTROLLER_WRITE(AllocateProducerIds)
SAMSA_CONTROLLER_WRITE(AlterPartitionReassignments)
SAMSA_CONTROLLER_WRITE(ListPartitionReassignments)
SAMSA_CONTROLLER_WRITE(DecommissionBroker)
SAMSA_CONTROLLER_WRITE(BalancePartitions)

#undef SAMSA_CONTROLLER_WRITE

grpc::ServerUnaryReactor* ControllerService::FetchMetadata(grpc::CallbackServerContext* ctx,
                                                           const v1::FetchMetadataRequest* request,
                                                           v1::FetchMetadataResponse* response) {
  if (request->from_offset() < 0 || request->max_wait_ms() < 0 ||
      request->max_wait_ms() > kMaxWaitMs || request->max_batches() < 0) {
    return Reject(ctx, absl::StrCat("FetchMetadata needs from_offset >= 0, max_batches >= 0 and "
                                    "max_wait_ms in [0, ",
                                    kMaxWaitMs, "]"));
  }
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  controller_->FetchMetadata(*request, ReplyTo(reactor, response));
  return reactor;
}

grpc::ServerUnaryReactor* ControllerService::DescribeConfigs(
    grpc::CallbackServerContext* ctx, const v1::DescribeConfigsRequest* request,
    v1::DescribeConfigsResponse* response) {
  return Answer(ctx, response, controller_->DescribeConfigs(*request));
}

grpc::ServerUnaryReactor* ControllerService::DescribeTopics(
    grpc::CallbackServerContext* ctx, const v1::DescribeTopicsRequest* request,
    v1::DescribeTopicsResponse* response) {
  return Answer(ctx, response, controller_->DescribeTopics(*request));
}

grpc::ServerUnaryReactor* ControllerService::DescribeCluster(
    grpc::CallbackServerContext* ctx, const v1::DescribeClusterRequest*,
    v1::DescribeClusterResponse* response) {
  return Answer(ctx, response, controller_->DescribeCluster());
}

grpc::ServerUnaryReactor* ControllerService::DescribeQuorum(grpc::CallbackServerContext* ctx,
                                                            const v1::DescribeQuorumRequest*,
                                                            v1::DescribeQuorumResponse* response) {
  return Answer(ctx, response, controller_->DescribeQuorum());
}

}  // namespace samsa::controller
