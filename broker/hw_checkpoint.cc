#include "broker/hw_checkpoint.h"

#include <algorithm>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/string_view.h"

namespace samsa::broker {

std::string EncodeHighWatermarks(const HighWatermarks& hws) {
  std::vector<std::pair<storage::TopicPartitionName, Offset>> sorted(hws.begin(), hws.end());
  std::sort(sorted.begin(), sorted.end());
  std::string out = absl::StrCat("0\n", sorted.size(), "\n");
  for (const auto& [tp, hw] : sorted) {
    absl::StrAppend(&out, tp.topic, " ", tp.partition.value(), " ", hw.value(), "\n");
  }
  return out;
}

absl::StatusOr<HighWatermarks> DecodeHighWatermarks(std::string_view text) {
  std::vector<absl::string_view> lines = absl::StrSplit(ToAbsl(text), '\n', absl::SkipEmpty());
  if (lines.size() < 2 || lines[0] != "0") {
    return absl::DataLossError("high-watermark checkpoint: missing or unknown version line");
  }
  size_t count = 0;
  if (!absl::SimpleAtoi(lines[1], &count) || count != lines.size() - 2) {
    return absl::DataLossError(absl::StrCat("high-watermark checkpoint: count line '", lines[1],
                                            "' does not match ", lines.size() - 2, " entries"));
  }
  HighWatermarks out;
  for (size_t i = 2; i < lines.size(); ++i) {
    std::vector<absl::string_view> f = absl::StrSplit(lines[i], ' ');
    int32_t partition = 0;
    int64_t hw = 0;
    if (f.size() != 3 || f[0].empty() || !absl::SimpleAtoi(f[1], &partition) ||
        !absl::SimpleAtoi(f[2], &hw) || partition < 0 || hw < 0) {
      return absl::DataLossError(absl::StrCat("high-watermark checkpoint: line ", i + 1, " '",
                                              lines[i], "' is malformed"));
    }
    out[{std::string(f[0]), PartitionId(partition)}] = Offset(hw);
  }
  return out;
}

absl::StatusOr<HighWatermarks> ReadHighWatermarks(storage::Env* env, const std::string& path) {
  absl::StatusOr<bool> exists = env->FileExists(path);
  if (!exists.ok()) return exists.status();
  if (!*exists) return HighWatermarks();
  absl::StatusOr<std::string> text = env->ReadFile(path);
  if (!text.ok()) return text.status();
  return DecodeHighWatermarks(*text);
}

absl::Status WriteHighWatermarks(storage::Env* env, const std::string& path,
                                 const HighWatermarks& hws) {
  return env->WriteFileAtomically(path, EncodeHighWatermarks(hws));
}

}  // namespace samsa::broker
