// The records of the internal topic __consumer_offsets: each is a committed
// offset, its key an OffsetCommitKey and its value an OffsetCommitValue
// (proto/samsa/v1/groups.proto), serialized; a null value (a tombstone)
// deletes that offset. Brokers write and apply them; the CLI prints them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "samsa/v1/groups.pb.h"

namespace samsa {

inline constexpr char kOffsetsTopic[] = "__consumer_offsets";

struct OffsetCommitRecord {
  v1::OffsetCommitKey key;
  std::optional<v1::OffsetCommitValue> value;  // none: the offset is deleted
};

// A commit record's key bytes.
std::string EncodeOffsetCommitKey(const std::string& group, const std::string& topic,
                                  int32_t partition);

// DATA_LOSS saying which half is not what a commit record holds.
absl::StatusOr<OffsetCommitRecord> DecodeOffsetCommitRecord(std::optional<std::string_view> key,
                                                            std::optional<std::string_view> value);

}  // namespace samsa
