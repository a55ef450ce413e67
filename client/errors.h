// Errors a client hands its caller: an absl::Status whose message starts
// with the Kafka error code's name ("NOT_ENOUGH_REPLICAS: ...") and which
// carries the code itself, so code can branch on it and people can read it.
#pragma once

#include <optional>
#include <string_view>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"
#include "samsa/v1/common.pb.h"

namespace samsa::client {

// A status for a Kafka error code (never NONE).
absl::Status KafkaError(v1::ErrorCode code, std::string_view message);
absl::Status KafkaError(const v1::Error& error);
// The Kafka error code a status carries, if it came from KafkaError.
std::optional<v1::ErrorCode> KafkaCodeOf(const absl::Status& status);
// `status` with "`prefix`: " before its message, keeping its Kafka code.
absl::Status WithContext(const absl::Status& status, std::string_view prefix);
// A failed gRPC call as a status ("Produce to 127.0.0.1:9092: ...").
absl::Status RpcError(std::string_view what, const grpc::Status& status);

// Whether a produce or fetch failing with `code` may succeed if retried
// (after a metadata refresh).
bool IsRetriable(v1::ErrorCode code);

}  // namespace samsa::client
