// Transport: how the client reaches brokers. The producer and consumer speak
// to it, never to gRPC directly, so tests can put a fake in between that
// drops, delays and reorders answers. GrpcTransport is the real one: one
// channel per broker address, shared by every call to it (gRPC multiplexes
// them over one HTTP/2 connection), asynchronous calls with a deadline.
//
// Callbacks run on a gRPC thread (or the fake's); they must not block.
#pragma once

#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "samsa/v1/broker.grpc.pb.h"

namespace samsa::client {

template <typename Response>
using Reply = absl::AnyInvocable<void(absl::StatusOr<Response>)>;

class Transport {
 public:
  virtual ~Transport() = default;
  // Each call goes to the broker at `address` (host:port) and answers
  // within `timeout`: the response, or the failed call as a status.
  virtual void Metadata(const std::string& address, v1::MetadataRequest request,
                        absl::Duration timeout, Reply<v1::MetadataResponse> reply) = 0;
  virtual void InitProducerId(const std::string& address, v1::InitProducerIdRequest request,
                              absl::Duration timeout, Reply<v1::InitProducerIdResponse> reply) = 0;
  virtual void Produce(const std::string& address, v1::ProduceRequest request,
                       absl::Duration timeout, Reply<v1::ProduceResponse> reply) = 0;
  virtual void Fetch(const std::string& address, v1::FetchRequest request, absl::Duration timeout,
                     Reply<v1::FetchResponse> reply) = 0;
  virtual void ListOffsets(const std::string& address, v1::ListOffsetsRequest request,
                           absl::Duration timeout, Reply<v1::ListOffsetsResponse> reply) = 0;
  // Consumer groups (groups.proto).
  virtual void FindCoordinator(const std::string& address, v1::FindCoordinatorRequest request,
                               absl::Duration timeout,
                               Reply<v1::FindCoordinatorResponse> reply) = 0;
  virtual void ConsumerGroupHeartbeat(const std::string& address,
                                      v1::ConsumerGroupHeartbeatRequest request,
                                      absl::Duration timeout,
                                      Reply<v1::ConsumerGroupHeartbeatResponse> reply) = 0;
  virtual void OffsetCommit(const std::string& address, v1::OffsetCommitRequest request,
                            absl::Duration timeout, Reply<v1::OffsetCommitResponse> reply) = 0;
  virtual void OffsetFetch(const std::string& address, v1::OffsetFetchRequest request,
                           absl::Duration timeout, Reply<v1::OffsetFetchResponse> reply) = 0;
};

class GrpcTransport final : public Transport {
 public:
  // Waits for the calls in flight (each has a deadline): their channels
  // are destroyed only once every callback has returned.
  ~GrpcTransport() override;

  void Metadata(const std::string& address, v1::MetadataRequest request, absl::Duration timeout,
                Reply<v1::MetadataResponse> reply) override;
  void InitProducerId(const std::string& address, v1::InitProducerIdRequest request,
                      absl::Duration timeout, Reply<v1::InitProducerIdResponse> reply) override;
  void Produce(const std::string& address, v1::ProduceRequest request, absl::Duration timeout,
               Reply<v1::ProduceResponse> reply) override;
  void Fetch(const std::string& address, v1::FetchRequest request, absl::Duration timeout,
             Reply<v1::FetchResponse> reply) override;
  void ListOffsets(const std::string& address, v1::ListOffsetsRequest request,
                   absl::Duration timeout, Reply<v1::ListOffsetsResponse> reply) override;
  void FindCoordinator(const std::string& address, v1::FindCoordinatorRequest request,
                       absl::Duration timeout, Reply<v1::FindCoordinatorResponse> reply) override;
  void ConsumerGroupHeartbeat(const std::string& address, v1::ConsumerGroupHeartbeatRequest request,
                              absl::Duration timeout,
                              Reply<v1::ConsumerGroupHeartbeatResponse> reply) override;
  void OffsetCommit(const std::string& address, v1::OffsetCommitRequest request,
                    absl::Duration timeout, Reply<v1::OffsetCommitResponse> reply) override;
  void OffsetFetch(const std::string& address, v1::OffsetFetchRequest request,
                   absl::Duration timeout, Reply<v1::OffsetFetchResponse> reply) override;

  // The stub for `address`, created on first use (the admin client calls
  // it directly).
  v1::Broker::Stub* Stub(const std::string& address);

  // Fails every call in flight with CANCELLED (their replies come at once);
  // later calls go out as usual. For an owner that stops while brokers do
  // not answer (a consumer's Close).
  void CancelAll();

 private:
  // One asynchronous unary call; `start(async, ctx, request, response, done)`
  // starts it.
  template <typename Request, typename Response, typename Start>
  void Call(const std::string& address, const char* name, Request request, absl::Duration timeout,
            Reply<Response> reply, Start start);

  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<v1::Broker::Stub>> stubs_ ABSL_GUARDED_BY(mu_);
  // The calls in flight by id, with their contexts (kept alive here until
  // the call's reply has run, so CancelAll can reach them).
  uint64_t next_call_ ABSL_GUARDED_BY(mu_) = 0;
  absl::flat_hash_map<uint64_t, std::shared_ptr<grpc::ClientContext>> in_flight_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace samsa::client
