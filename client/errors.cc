#include "client/errors.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/string_view.h"

namespace samsa::client {
namespace {
constexpr char kPayloadUrl[] = "type.samsa.dev/samsa.v1.ErrorCode";

absl::StatusCode CanonicalCode(v1::ErrorCode code) {
  switch (code) {
    case v1::UNKNOWN_TOPIC_OR_PARTITION:
    case v1::GROUP_ID_NOT_FOUND:
    case v1::RESOURCE_NOT_FOUND:
      return absl::StatusCode::kNotFound;
    case v1::TOPIC_ALREADY_EXISTS:
      return absl::StatusCode::kAlreadyExists;
    case v1::REQUEST_TIMED_OUT:
      return absl::StatusCode::kDeadlineExceeded;
    case v1::OFFSET_OUT_OF_RANGE:
      return absl::StatusCode::kOutOfRange;
    default:
      return IsRetriable(code) ? absl::StatusCode::kUnavailable
                               : absl::StatusCode::kFailedPrecondition;
  }
}
}  // namespace

absl::Status KafkaError(v1::ErrorCode code, std::string_view message) {
  absl::Status st(CanonicalCode(code),
                  ToAbsl(absl::StrCat(v1::ErrorCode_Name(code), ": ", ToAbsl(message))));
  st.SetPayload(kPayloadUrl, absl::Cord(absl::StrCat(static_cast<int>(code))));
  return st;
}

absl::Status KafkaError(const v1::Error& error) {
  return KafkaError(error.code(), error.message());
}

std::optional<v1::ErrorCode> KafkaCodeOf(const absl::Status& status) {
  auto payload = status.GetPayload(kPayloadUrl);
  int code = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &code) ||
      !v1::ErrorCode_IsValid(code)) {
    return std::nullopt;
  }
  return static_cast<v1::ErrorCode>(code);
}

absl::Status WithContext(const absl::Status& status, std::string_view prefix) {
  absl::Status out(status.code(), ToAbsl(absl::StrCat(ToAbsl(prefix), ": ", status.message())));
  status.ForEachPayload(
      [&out](absl::string_view url, const absl::Cord& payload) { out.SetPayload(url, payload); });
  return out;
}

absl::Status RpcError(std::string_view what, const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                      ToAbsl(absl::StrCat(ToAbsl(what), ": ", status.error_message())));
}

bool IsRetriable(v1::ErrorCode code) {
  switch (code) {
    case v1::UNKNOWN_TOPIC_OR_PARTITION:
    case v1::LEADER_NOT_AVAILABLE:
    case v1::NOT_LEADER_OR_FOLLOWER:
    case v1::REQUEST_TIMED_OUT:
    case v1::BROKER_NOT_AVAILABLE:
    case v1::REPLICA_NOT_AVAILABLE:
    case v1::NETWORK_EXCEPTION:
    case v1::NOT_ENOUGH_REPLICAS:
    case v1::NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case v1::KAFKA_STORAGE_ERROR:
    case v1::FENCED_LEADER_EPOCH:
    case v1::UNKNOWN_LEADER_EPOCH:
    case v1::OFFSET_NOT_AVAILABLE:
    case v1::COORDINATOR_NOT_AVAILABLE:
    case v1::COORDINATOR_LOAD_IN_PROGRESS:
    case v1::NOT_COORDINATOR:
    case v1::NOT_CONTROLLER:
    case v1::UNKNOWN_SERVER_ERROR:
      return true;
    default:
      return false;
  }
}

}  // namespace samsa::client
