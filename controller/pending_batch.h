// PendingBatch: the records one controller decision writes, checked as they
// are added by applying each to a scratch copy of the image, so later
// choices in the same decision (a second topic's placement, an election
// after a fence) see the earlier ones. The batch commits as one Raft entry.
#pragma once

#include "common/metadata_image.h"

namespace samsa::controller {

class PendingBatch {
 public:
  explicit PendingBatch(const MetadataImage& base) : image_(base) {}

  // Applies `record` to the scratch image and keeps it; an error means the
  // controller built a record that does not fit (a bug), and nothing is kept.
  absl::Status Add(v1::MetadataRecord record);

  // The image with every added record applied.
  const MetadataImage& image() const { return image_; }
  MetadataImage TakeImage() && { return std::move(image_); }
  const v1::MetadataBatch& batch() const { return batch_; }
  bool empty() const { return batch_.records_size() == 0; }

 private:
  MetadataImage image_;
  v1::MetadataBatch batch_;
};

}  // namespace samsa::controller
