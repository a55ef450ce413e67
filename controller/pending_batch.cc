#include "controller/pending_batch.h"

namespace samsa::controller {

absl::Status PendingBatch::Add(v1::MetadataRecord record) {
  // The batch's offset is its Raft index, known once it commits; until then
  // records count as at the next offset.
  if (absl::Status st = image_.ApplyRecord(record, image_.offset() + 1); !st.ok()) return st;
  *batch_.add_records() = std::move(record);
  return absl::OkStatus();
}

}  // namespace samsa::controller
