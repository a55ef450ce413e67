#include "broker/producer_state.h"

#include <limits>

#include "absl/strings/str_cat.h"

namespace samsa::broker {
namespace {

int32_t LastSequence(const storage::BatchHeader& h) {
  // Sequences wrap past INT32_MAX to 0, as in Kafka.
  const int64_t last = static_cast<int64_t>(h.base_sequence) + h.last_offset_delta;
  return static_cast<int32_t>(last % (int64_t{std::numeric_limits<int32_t>::max()} + 1));
}

int32_t NextSequence(int32_t seq) {
  return seq == std::numeric_limits<int32_t>::max() ? 0 : seq + 1;
}

}  // namespace

ProducerState::Verdict ProducerState::Check(const storage::BatchHeader& h) const {
  Verdict v;
  if (h.producer_id == storage::kNoProducerId) return v;
  auto it = producers_.find(h.producer_id);
  if (it == producers_.end() || h.producer_epoch > it->second.epoch) {
    if (h.base_sequence != 0) {
      v.kind = Verdict::Kind::kOutOfOrder;
      v.message = absl::StrCat("producer ", h.producer_id, " epoch ", h.producer_epoch,
                               " must start at sequence 0, not ", h.base_sequence);
    }
    return v;
  }
  const Producer& p = it->second;
  if (h.producer_epoch < p.epoch) {
    v.kind = Verdict::Kind::kFencedEpoch;
    v.message = absl::StrCat("producer ", h.producer_id, " epoch ", h.producer_epoch,
                             " is older than its current epoch ", p.epoch);
    return v;
  }
  const int32_t last_seq = LastSequence(h);
  for (const Batch& b : p.batches) {
    if (b.first_seq == h.base_sequence && b.last_seq == last_seq) {
      v.kind = Verdict::Kind::kDuplicate;
      v.duplicate_first = b.first_offset;
      v.duplicate_last = b.last_offset;
      return v;
    }
  }
  if (!p.batches.empty() && h.base_sequence != NextSequence(p.batches.back().last_seq)) {
    v.kind = Verdict::Kind::kOutOfOrder;
    v.message = absl::StrCat("producer ", h.producer_id, " sent sequence ", h.base_sequence,
                             " after ", p.batches.back().last_seq);
  }
  return v;
}

void ProducerState::Update(const storage::BatchHeader& h) {
  if (h.producer_id == storage::kNoProducerId) return;
  Producer& p = producers_[h.producer_id];
  if (h.producer_epoch > p.epoch) p.batches.clear();
  p.epoch = std::max(p.epoch, h.producer_epoch);
  p.batches.push_back({h.base_sequence, LastSequence(h), h.base_offset, h.last_offset()});
  while (p.batches.size() > kBatchesKept) p.batches.pop_front();
}

absl::Status ProducerState::UpdateAll(std::span<const uint8_t> records) {
  while (!records.empty()) {
    absl::StatusOr<storage::BatchHeader> h = storage::ParseBatchHeader(records);
    if (!h.ok()) return h.status();
    if (h->size() > records.size()) return absl::DataLossError("a batch runs past its records");
    Update(*h);
    records = records.subspan(h->size());
  }
  return absl::OkStatus();
}

}  // namespace samsa::broker
