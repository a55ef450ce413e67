#include "common/offset_records.h"

namespace samsa {

std::string EncodeOffsetCommitKey(const std::string& group, const std::string& topic,
                                  int32_t partition) {
  v1::OffsetCommitKey key;
  key.set_group(group);
  key.set_topic(topic);
  key.set_partition(partition);
  return key.SerializeAsString();
}

absl::StatusOr<OffsetCommitRecord> DecodeOffsetCommitRecord(std::optional<std::string_view> key,
                                                            std::optional<std::string_view> value) {
  OffsetCommitRecord r;
  if (!key.has_value() || !r.key.ParseFromArray(key->data(), static_cast<int>(key->size()))) {
    return absl::DataLossError("not a commit key");
  }
  if (!value.has_value()) return r;
  if (!r.value.emplace().ParseFromArray(value->data(), static_cast<int>(value->size()))) {
    return absl::DataLossError("not a commit value");
  }
  return r;
}

}  // namespace samsa
