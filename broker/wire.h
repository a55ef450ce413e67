// The wire form of Broker and Replica responses. Fetch answers carry their
// record bytes outside the protobuf: each partition's batches stay in the
// buffer the log read them into, and the encoded response is a list of
// gRPC slices in which those buffers are slices of their own. A `bytes`
// field on the wire is tag, length, raw bytes, so the message a client
// parses is the same as if the records had been set in the protobuf, without
// the two copies (into a std::string, then into the serialized message) that
// would cost.
#pragma once

#include <vector>

#include "google/protobuf/message_lite.h"
#include "grpcpp/support/byte_buffer.h"
#include "samsa/v1/broker.pb.h"
#include "storage/buffer.h"

namespace samsa::broker {

// A response whose partitions' `records` fields are left empty in
// `response` and held in `records`, one entry per partition in the order the
// response lists them (an empty buffer for none).
template <typename Response>
struct WithRecords {
  Response response;
  std::vector<storage::Buffer> records;
};
using FetchAnswer = WithRecords<v1::FetchResponse>;
using ReplicaFetchAnswer = WithRecords<v1::ReplicaFetchResponse>;

grpc::ByteBuffer ToWire(const google::protobuf::MessageLite& message);
grpc::ByteBuffer ToWire(FetchAnswer answer);
grpc::ByteBuffer ToWire(ReplicaFetchAnswer answer);

// Parses a request or response; false when the bytes are not a `Message`.
bool FromWire(const grpc::ByteBuffer& bytes, google::protobuf::MessageLite* message);

}  // namespace samsa::broker
