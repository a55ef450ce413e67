#include "broker/broker_service.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/metadata_describe.h"
#include "common/wire_error.h"

namespace samsa::broker {
class BrokerService::TimedReactor final : public grpc::ServerUnaryReactor {
 public:
  TimedReactor(BrokerProbe* probe, const char* api)
      : probe_(probe), api_(api), start_(MonotonicNow()) {}
  void OnDone() override {
    probe_->OnRequest(api_, absl::ToDoubleSeconds(MonotonicNow() - start_));
    delete this;
  }

 private:
  BrokerProbe* const probe_;
  const char* const api_;
  const absl::Time start_;
};

grpc::ServerUnaryReactor* BrokerService::Timed(grpc::CallbackServerContext* ctx, const char* api) {
  if (probe_ == nullptr) return ctx->DefaultReactor();
  return new TimedReactor(probe_, api);
}

v1::MetadataResponse DescribeMetadata(const MetadataImage& image,
                                      const v1::MetadataRequest& request,
                                      NodeId active_controller) {
  v1::MetadataResponse r;
  r.set_metadata_offset(image.offset());
  r.set_controller_id(active_controller.value());
  for (const auto& [id, b] : image.brokers()) {
    if (!b.fenced) DescribeBroker(b, r.add_brokers());
  }
  DescribeTopics(image, request.topics(), r.mutable_topics());
  return r;
}

namespace {

// Parses `in` into `out`; when the bytes are not that message, finishes
// `reactor` with INVALID_ARGUMENT and returns false.
bool ParseOrReject(const grpc::ByteBuffer& in, google::protobuf::Message* out,
                   grpc::ServerUnaryReactor* reactor) {
  if (FromWire(in, out)) return true;
  reactor->Finish(
      grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                   absl::StrCat("the request body is not a ", out->GetDescriptor()->full_name())));
  return false;
}

}  // namespace

template <typename Request, typename Handle>
grpc::ServerUnaryReactor* BrokerService::Serve(grpc::CallbackServerContext* ctx, const char* api,
                                               const grpc::ByteBuffer* request,
                                               grpc::ByteBuffer* response, Handle handle) {
  grpc::ServerUnaryReactor* reactor = Timed(ctx, api);
  Request req;
  if (!ParseOrReject(*request, &req, reactor)) return reactor;
  handle(req, [reactor, response](auto r) {
    *response = ToWire(std::move(r));
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* BrokerService::Metadata(grpc::CallbackServerContext* ctx,
                                                  const grpc::ByteBuffer* request,
                                                  grpc::ByteBuffer* response) {
  return Serve<v1::MetadataRequest>(
      ctx, "Metadata", request, response, [this](const v1::MetadataRequest& req, auto reply) {
        reply(DescribeMetadata(*quorum_->image(), req, quorum_->active_controller()));
      });
}

grpc::ServerUnaryReactor* BrokerService::Produce(grpc::CallbackServerContext* ctx,
                                                 const grpc::ByteBuffer* request,
                                                 grpc::ByteBuffer* response) {
  return Serve<v1::ProduceRequest>(
      ctx, "Produce", request, response, [this](v1::ProduceRequest& req, auto reply) {
        // Internal topics (__consumer_offsets) are written by brokers only.
        v1::ProduceResponse refused;
        for (const v1::ProduceRequest::Topic& t : req.topics()) {
          if (!t.name().starts_with("__")) continue;
          v1::ProduceResponse::Topic* out = refused.add_topics();
          out->set_name(t.name());
          for (const v1::ProduceRequest::Partition& p : t.partitions()) {
            v1::ProduceResponse::Partition* po = out->add_partitions();
            po->set_partition(p.partition());
            po->set_base_offset(-1);
            SetError(po->mutable_error(), v1::INVALID_TOPIC_EXCEPTION,
                     absl::StrCat(t.name(), " is internal: clients cannot produce to it"));
          }
        }
        if (refused.topics().empty()) return replicas_->Produce(std::move(req), reply);
        auto* topics = req.mutable_topics();
        topics->erase(std::remove_if(topics->begin(), topics->end(),
                                     [](const v1::ProduceRequest::Topic& t) {
                                       return t.name().starts_with("__");
                                     }),
                      topics->end());
        replicas_->Produce(std::move(req), [refused, reply](v1::ProduceResponse r) mutable {
          for (v1::ProduceResponse::Topic& t : *refused.mutable_topics()) {
            *r.add_topics() = std::move(t);
          }
          reply(std::move(r));
        });
      });
}

grpc::ServerUnaryReactor* BrokerService::Fetch(grpc::CallbackServerContext* ctx,
                                               const grpc::ByteBuffer* request,
                                               grpc::ByteBuffer* response) {
  return Serve<v1::FetchRequest>(
      ctx, "Fetch", request, response,
      [this](const v1::FetchRequest& req, auto reply) { replicas_->Fetch(req, reply); });
}

grpc::ServerUnaryReactor* BrokerService::ListOffsets(grpc::CallbackServerContext* ctx,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  return Serve<v1::ListOffsetsRequest>(ctx, "ListOffsets", request, response,
                                       [this](const v1::ListOffsetsRequest& req, auto reply) {
                                         reply(replicas_->ListOffsets(req));
                                       });
}

grpc::ServerUnaryReactor* BrokerService::InitProducerId(grpc::CallbackServerContext* ctx,
                                                        const grpc::ByteBuffer* request,
                                                        grpc::ByteBuffer* response) {
  return Serve<v1::InitProducerIdRequest>(
      ctx, "InitProducerId", request, response,
      [this](const v1::InitProducerIdRequest&, auto reply) {
        producer_ids_->Next([reply](absl::StatusOr<int64_t> id) mutable {
          v1::InitProducerIdResponse r;
          if (id.ok()) {
            r.set_producer_id(*id);
            r.set_producer_epoch(0);
          } else {
            SetError(
                r.mutable_error(), v1::COORDINATOR_NOT_AVAILABLE,
                absl::StrCat("no producer id block from the controller: ", id.status().message()));
          }
          reply(std::move(r));
        });
      });
}

grpc::ServerUnaryReactor* BrokerService::FindCoordinator(grpc::CallbackServerContext* ctx,
                                                         const grpc::ByteBuffer* request,
                                                         grpc::ByteBuffer* response) {
  return Serve<v1::FindCoordinatorRequest>(
      ctx, "FindCoordinator", request, response,
      [this](const v1::FindCoordinatorRequest& req, auto reply) {
        reply(groups_->FindCoordinator(req));
      });
}

grpc::ServerUnaryReactor* BrokerService::ConsumerGroupHeartbeat(grpc::CallbackServerContext* ctx,
                                                                const grpc::ByteBuffer* request,
                                                                grpc::ByteBuffer* response) {
  return Serve<v1::ConsumerGroupHeartbeatRequest>(
      ctx, "ConsumerGroupHeartbeat", request, response,
      [this](const v1::ConsumerGroupHeartbeatRequest& req, auto reply) {
        reply(groups_->Heartbeat(req));
      });
}

grpc::ServerUnaryReactor* BrokerService::OffsetCommit(grpc::CallbackServerContext* ctx,
                                                      const grpc::ByteBuffer* request,
                                                      grpc::ByteBuffer* response) {
  return Serve<v1::OffsetCommitRequest>(ctx, "OffsetCommit", request, response,
                                        [this](const v1::OffsetCommitRequest& req, auto reply) {
                                          groups_->OffsetCommit(req, reply);
                                        });
}

grpc::ServerUnaryReactor* BrokerService::OffsetFetch(grpc::CallbackServerContext* ctx,
                                                     const grpc::ByteBuffer* request,
                                                     grpc::ByteBuffer* response) {
  return Serve<v1::OffsetFetchRequest>(
      ctx, "OffsetFetch", request, response,
      [this](const v1::OffsetFetchRequest& req, auto reply) { reply(groups_->OffsetFetch(req)); });
}

grpc::ServerUnaryReactor* BrokerService::ListGroups(grpc::CallbackServerContext* ctx,
                                                    const grpc::ByteBuffer* request,
                                                    grpc::ByteBuffer* response) {
  return Serve<v1::ListGroupsRequest>(
      ctx, "ListGroups", request, response,
      [this](const v1::ListGroupsRequest&, auto reply) { reply(groups_->ListGroups()); });
}

grpc::ServerUnaryReactor* BrokerService::DescribeGroups(grpc::CallbackServerContext* ctx,
                                                        const grpc::ByteBuffer* request,
                                                        grpc::ByteBuffer* response) {
  return Serve<v1::DescribeGroupsRequest>(ctx, "DescribeGroups", request, response,
                                          [this](const v1::DescribeGroupsRequest& req, auto reply) {
                                            reply(groups_->DescribeGroups(req));
                                          });
}

grpc::ServerUnaryReactor* BrokerService::DeleteGroups(grpc::CallbackServerContext* ctx,
                                                      const grpc::ByteBuffer* request,
                                                      grpc::ByteBuffer* response) {
  return Serve<v1::DeleteGroupsRequest>(ctx, "DeleteGroups", request, response,
                                        [this](const v1::DeleteGroupsRequest& req, auto reply) {
                                          groups_->DeleteGroups(req, reply);
                                        });
}

template <typename Request, typename Response, typename Call>
grpc::ServerUnaryReactor* BrokerService::Forward(grpc::CallbackServerContext* ctx, const char* api,
                                                 const grpc::ByteBuffer* request,
                                                 grpc::ByteBuffer* response, Call call) {
  grpc::ServerUnaryReactor* reactor = Timed(ctx, api);
  auto req = std::make_shared<Request>();
  if (!ParseOrReject(*request, req.get(), reactor)) return reactor;
  quorum_->Forward<Response>(
      [req, call](v1::Controller::Stub::async_interface* async, grpc::ClientContext* c,
                  Response* out, std::function<void(grpc::Status)> cb) {
        call(async, c, req.get(), out, std::move(cb));
      },
      [reactor, response](grpc::Status st, Response r) {
        if (st.ok()) *response = ToWire(r);
        reactor->Finish(st.ok()
                            ? grpc::Status::OK
                            : grpc::Status(grpc::StatusCode::UNAVAILABLE,
                                           "no active controller answered: " + st.error_message()));
      });
  return reactor;
}

// Forwards to the active controller; its answer (or an UNAVAILABLE status
// when none answered) goes back as is.
#define SAMSA_FORWARD(Method)                                                                     \
  grpc::ServerUnaryReactor* BrokerService::Method(grpc::CallbackServerContext* ctx,               \
                                                  const grpc::ByteBuffer* request,                \
                                                  grpc::ByteBuffer* response) {                   \
    return Forward<v1::Method##Request, v1::Method##Response>(                                    \
        ctx, #Method, request, response,                                                          \
        [](v1::Controller::Stub::async_interface* async, grpc::ClientContext* c,                  \
           const v1::Method##Request* req, v1::Method##Response* out,                             \
           std::function<void(grpc::Status)> cb) { async->Method(c, req, out, std::move(cb)); }); \
  }

SAMSA_FORWARD(CreateTopics)
SAMSA_FORWARD(DeleteTopics)
SAMSA_FORWARD(CreatePartitions)
SAMSA_FORWARD(DescribeConfigs)
SAMSA_FORWARD(AlterConfigs)
SAMSA_FORWARD(DescribeCluster)
SAMSA_FORWARD(DescribeQuorum)
SAMSA_FORWARD(AlterPartitionReassignments)
SAMSA_FORWARD(ListPartitionReassignments)
SAMSA_FORWARD(DecommissionBroker)
SAMSA_FORWARD(BalancePartitions)

#undef SAMSA_FORWARD

grpc::ServerUnaryReactor* ReplicaService::Fetch(grpc::CallbackServerContext* ctx,
                                                const grpc::ByteBuffer* request,
                                                grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  v1::ReplicaFetchRequest req;
  if (!ParseOrReject(*request, &req, reactor)) return reactor;
  replicas_->ReplicaFetch(req, [reactor, response](ReplicaFetchAnswer answer) {
    *response = ToWire(std::move(answer));
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

}  // namespace samsa::broker
