#include "controller/pending_batch.h"

namespace samsa::controller {

absl::Status PendingBatch::Add(v1::MetadataRecord record) {
  v1::MetadataBatch one;
  *one.add_records() = record;
  // Scratch offsets only have to grow; the batch's real offset is its Raft
  // index, known once it commits.
  if (absl::Status st = image_.Apply(one, image_.offset() + 1); !st.ok()) return st;
  *batch_.add_records() = std::move(record);
  return absl::OkStatus();
}

}  // namespace samsa::controller
