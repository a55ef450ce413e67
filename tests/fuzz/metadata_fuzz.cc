// libFuzzer target: bytes as the controller quorum's metadata log would carry
// them (a MetadataBatch) or as a snapshot file holds them (a
// MetadataSnapshot), from a damaged disk or a faulty peer. Applying them
// must return an error or a new image, never crash, and an image rebuilt
// from its own snapshot must equal it.
#include <cstddef>
#include <cstdint>

#include "common/metadata_image.h"
#include "samsa/v1/metadata.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool snapshot = data[0] & 1;
  const void* bytes = data + 1;
  const int n = static_cast<int>(size - 1);
  samsa::MetadataImage image;
  if (snapshot) {
    samsa::v1::MetadataSnapshot s;
    if (!s.ParseFromArray(bytes, n)) return 0;
    absl::StatusOr<samsa::MetadataImage> restored = samsa::MetadataImage::FromSnapshot(s);
    if (!restored.ok()) return 0;
    image = *std::move(restored);
  } else {
    samsa::v1::MetadataBatch batch;
    if (!batch.ParseFromArray(bytes, n)) return 0;
    // Twice: the second application meets the state the first one built.
    (void)image.Apply(batch, 1);
    (void)image.Apply(batch, 2);
  }
  absl::StatusOr<samsa::MetadataImage> again =
      samsa::MetadataImage::FromSnapshot(image.ToSnapshot());
  if (!again.ok() || again->SerializeSnapshot() != image.SerializeSnapshot()) __builtin_trap();
  return 0;
}
