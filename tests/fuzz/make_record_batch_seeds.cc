// Writes the starting corpus for the record-batch fuzz target: valid record
// sets of every codec and shape, made by the current encoder, so the fuzzer
// starts from inputs that reach deep into the decoder.
//   samsa-fuzz-record_batch-seeds DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "storage/batch_builder.h"
#include "storage/compression.h"

namespace samsa::storage {
namespace {

std::string Batch(BatchOptions options, int records, bool headers) {
  BatchBuilder b(options);
  const RecordHeaderView h[] = {{"trace", "abc"}, {"null", std::nullopt}};
  for (int i = 0; i < records; ++i) {
    b.Append(1700000000000 + i, i % 3 == 0 ? std::nullopt : std::optional<std::string_view>("key"),
             std::string(i % 50, 'v'),
             headers ? std::span<const RecordHeaderView>(h) : std::span<const RecordHeaderView>());
  }
  return *b.Build();
}

}  // namespace
}  // namespace samsa::storage

int main(int argc, char** argv) {
  using namespace samsa::storage;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  int n = 0;
  // The fuzz target's first byte is its mode; write each seed in both.
  auto write = [&](const std::string& bytes) {
    for (char mode : {'\0', '\1'}) {
      std::ofstream(dir + "/seed-" + std::to_string(n++), std::ios::binary) << mode << bytes;
    }
  };
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kSnappy,
                        Compression::kLz4, Compression::kZstd}) {
    write(Batch({.compression = c}, 1, false));
    write(Batch({.compression = c, .producer_id = 9, .producer_epoch = 1, .base_sequence = 0}, 20,
                true));
  }
  write(Batch({.timestamp_type = TimestampType::kLogAppendTime}, 3, false) +
        Batch({.compression = Compression::kLz4}, 5, true));
  return 0;
}
