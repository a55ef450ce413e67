#include "broker/broker_service.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/grpc_reply.h"
#include "common/metadata_describe.h"

namespace samsa::broker {
class BrokerService::TimedReactor final : public grpc::ServerUnaryReactor {
 public:
  TimedReactor(BrokerProbe* probe, const char* api)
      : probe_(probe), api_(api), start_(absl::Now()) {}
  void OnDone() override {
    probe_->OnRequest(api_, absl::ToDoubleSeconds(absl::Now() - start_));
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

grpc::ServerUnaryReactor* BrokerService::Metadata(grpc::CallbackServerContext* ctx,
                                                  const v1::MetadataRequest* request,
                                                  v1::MetadataResponse* response) {
  *response = DescribeMetadata(*quorum_->image(), *request, quorum_->active_controller());
  grpc::ServerUnaryReactor* reactor = Timed(ctx, "Metadata");
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

namespace {

// Parses a raw request; false when the bytes are not a `Message`.
template <typename Message>
bool ParseRequest(const grpc::ByteBuffer* in, Message* out) {
  // Deserialize reads (and may release) the buffer, which this call owns.
  return grpc::SerializationTraits<Message>::Deserialize(const_cast<grpc::ByteBuffer*>(in), out)
      .ok();
}

template <typename Message>
void SerializeResponse(const Message& m, grpc::ByteBuffer* out) {
  bool own_buffer = false;
  (void)grpc::SerializationTraits<Message>::Serialize(m, out, &own_buffer);
}

grpc::ServerUnaryReactor* RejectMalformed(grpc::ServerUnaryReactor* reactor, const char* what) {
  reactor->Finish(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                               absl::StrCat("the request body is not a ", what)));
  return reactor;
}

}  // namespace

grpc::ServerUnaryReactor* BrokerService::Produce(grpc::CallbackServerContext* ctx,
                                                 const grpc::ByteBuffer* request,
                                                 grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = Timed(ctx, "Produce");
  v1::ProduceRequest req;
  if (!ParseRequest(request, &req)) return RejectMalformed(reactor, "ProduceRequest");
  replicas_->Produce(req, [reactor, response](v1::ProduceResponse r) {
    SerializeResponse(r, response);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* BrokerService::Fetch(grpc::CallbackServerContext* ctx,
                                               const grpc::ByteBuffer* request,
                                               grpc::ByteBuffer* response) {
  grpc::ServerUnaryReactor* reactor = Timed(ctx, "Fetch");
  v1::FetchRequest req;
  if (!ParseRequest(request, &req)) return RejectMalformed(reactor, "FetchRequest");
  replicas_->Fetch(req, [reactor, response](v1::FetchResponse r) {
    SerializeResponse(r, response);
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

grpc::ServerUnaryReactor* BrokerService::ListOffsets(grpc::CallbackServerContext* ctx,
                                                     const v1::ListOffsetsRequest* request,
                                                     v1::ListOffsetsResponse* response) {
  *response = replicas_->ListOffsets(*request);
  grpc::ServerUnaryReactor* reactor = Timed(ctx, "ListOffsets");
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* BrokerService::InitProducerId(grpc::CallbackServerContext* ctx,
                                                        const v1::InitProducerIdRequest*,
                                                        v1::InitProducerIdResponse* response) {
  grpc::ServerUnaryReactor* reactor = Timed(ctx, "InitProducerId");
  producer_ids_->Next([reactor, response](absl::StatusOr<int64_t> id) {
    if (id.ok()) {
      response->set_producer_id(*id);
      response->set_producer_epoch(0);
    } else {
      response->mutable_error()->set_code(v1::COORDINATOR_NOT_AVAILABLE);
      response->mutable_error()->set_message(
          absl::StrCat("no producer id block from the controller: ", id.status().message()));
    }
    reactor->Finish(grpc::Status::OK);
  });
  return reactor;
}

// Forwards to the active controller; its answer (or an UNAVAILABLE status
// when none answered) goes back as is.
#define SAMSA_FORWARD(Method)                                                                  \
  grpc::ServerUnaryReactor* BrokerService::Method(grpc::CallbackServerContext* ctx,            \
                                                  const v1::Method##Request* request,          \
                                                  v1::Method##Response* response) {            \
    grpc::ServerUnaryReactor* reactor = Timed(ctx, #Method);                                   \
    auto req = std::make_shared<v1::Method##Request>(*request);                                \
    quorum_->Forward<v1::Method##Response>(                                                    \
        [req](v1::Controller::Stub::async_interface* async, grpc::ClientContext* c,            \
              v1::Method##Response* out, std::function<void(grpc::Status)> cb) {               \
          async->Method(c, req.get(), out, std::move(cb));                                     \
        },                                                                                     \
        [reactor, response](grpc::Status st, v1::Method##Response r) {                         \
          if (st.ok()) *response = std::move(r);                                               \
          reactor->Finish(                                                                     \
              st.ok() ? grpc::Status::OK                                                       \
                      : grpc::Status(grpc::StatusCode::UNAVAILABLE,                            \
                                     "no active controller answered: " + st.error_message())); \
        });                                                                                    \
    return reactor;                                                                            \
  }

SAMSA_FORWARD(CreateTopics)
SAMSA_FORWARD(DeleteTopics)
SAMSA_FORWARD(CreatePartitions)
SAMSA_FORWARD(DescribeConfigs)
SAMSA_FORWARD(AlterConfigs)
SAMSA_FORWARD(DescribeCluster)

#undef SAMSA_FORWARD

grpc::ServerUnaryReactor* ReplicaService::Fetch(grpc::CallbackServerContext* ctx,
                                                const v1::ReplicaFetchRequest* request,
                                                v1::ReplicaFetchResponse* response) {
  grpc::ServerUnaryReactor* reactor = ctx->DefaultReactor();
  replicas_->ReplicaFetch(*request, ReplyTo(reactor, response));
  return reactor;
}

}  // namespace samsa::broker
