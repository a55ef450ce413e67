// libFuzzer target: arbitrary bytes as a record set from the network or a
// damaged disk. Validation and decoding must return an error or records, and
// never read out of bounds, loop forever or allocate without bound.
//
// The first input byte picks a mode: even, the bytes are taken as they are
// (most mutations then die at the CRC check, as they should); odd, each
// batch's CRC is resealed first, so the fuzzer reaches the record decoder
// and the codecs behind it.
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "storage/record_batch.h"
#include "storage/record_reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool reseal = data[0] & 1;
  std::vector<uint8_t> bytes(data + 1, data + size);
  std::span<uint8_t> in(bytes);
  while (!in.empty()) {
    if (reseal) {
      auto parsed = samsa::storage::ParseBatchHeader(in);
      if (parsed.ok() && parsed->batch_length >= 0 &&
          parsed->size() >= samsa::storage::kBatchHeaderSize && parsed->size() <= in.size()) {
        samsa::storage::UpdateBatchCrc(in.first(parsed->size()));
      }
    }
    auto header = samsa::storage::ValidateBatch(in);
    if (!header.ok()) break;
    size_t total = 0;
    (void)samsa::storage::ForEachRecord(
        in.first(header->size()),
        [&](const samsa::storage::RecordView& r) {
          total += r.key.value_or("").size() + r.value.value_or("").size() + r.headers.size();
          return absl::OkStatus();
        },
        /*max_decompressed_bytes=*/1 << 20);
    in = in.subspan(header->size());
  }
  return 0;
}
