#include "tests/chaos/replicas.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "storage/env.h"

namespace samsa::chaos {
namespace {

uint64_t BigEndian(const std::string& b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i)
    v = (v << 8) | static_cast<uint8_t>(b[at + static_cast<size_t>(i)]);
  return v;
}

}  // namespace

absl::StatusOr<std::vector<BatchId>> BatchesBelow(const std::string& dir, int64_t high_watermark) {
  storage::Env* env = storage::Env::Default();
  absl::StatusOr<std::vector<std::string>> names = env->ListDir(dir);
  if (!names.ok()) return names.status();
  std::vector<BatchId> out;
  for (const std::string& name : *names) {  // sorted: segments in offset order
    if (!absl::EndsWith(name, ".log")) continue;
    absl::StatusOr<std::string> bytes = env->ReadFile(storage::JoinPath(dir, name));
    if (!bytes.ok()) return bytes.status();
    // RecordBatch v2: baseOffset int64, batchLength int32, epoch int32,
    // magic int8, crc uint32, attributes int16, lastOffsetDelta int32, ...
    size_t at = 0;
    while (at + 27 <= bytes->size()) {
      const int64_t base = static_cast<int64_t>(BigEndian(*bytes, at, 8));
      const uint64_t length = BigEndian(*bytes, at + 8, 4);
      if (length < 15 || at + 12 + length > bytes->size()) break;  // a torn tail
      if (base >= high_watermark) return out;
      out.push_back({.base_offset = base,
                     .last_offset = base + static_cast<int64_t>(BigEndian(*bytes, at + 23, 4)),
                     .crc = static_cast<uint32_t>(BigEndian(*bytes, at + 17, 4))});
      at += 12 + length;
    }
  }
  return out;
}

std::string CompareReplicas(const std::vector<std::string>& replica_dirs, int64_t high_watermark) {
  std::vector<std::vector<BatchId>> all;
  for (const std::string& dir : replica_dirs) {
    absl::StatusOr<std::vector<BatchId>> batches = BatchesBelow(dir, high_watermark);
    if (!batches.ok()) return absl::StrCat(dir, ": ", batches.status().message());
    if (high_watermark > 0 &&
        (batches->empty() || batches->back().last_offset + 1 < high_watermark)) {
      absl::StatusOr<std::vector<std::string>> names = storage::Env::Default()->ListDir(dir);
      return absl::StrCat(dir, " ends at ", batches->empty() ? 0 : batches->back().last_offset + 1,
                          ", below the high watermark ", high_watermark, " (files: ",
                          names.ok() ? absl::StrJoin(*names, " ") : names.status().ToString(), ")");
    }
    all.push_back(*std::move(batches));
  }
  for (size_t r = 1; r < all.size(); ++r) {
    const size_t n = std::min(all[0].size(), all[r].size());
    for (size_t i = 0; i < n; ++i) {
      if (!(all[0][i] == all[r][i])) {
        return absl::StrCat(replica_dirs[0], " and ", replica_dirs[r], " differ at the batch at ",
                            all[0][i].base_offset, " / ", all[r][i].base_offset, " (crc ",
                            all[0][i].crc, " / ", all[r][i].crc, ")");
      }
    }
    if (all[0].size() != all[r].size()) {
      return absl::StrCat(replica_dirs[0], " and ", replica_dirs[r], " hold ", all[0].size(),
                          " and ", all[r].size(), " batches below ", high_watermark);
    }
  }
  return "";
}

}  // namespace samsa::chaos
