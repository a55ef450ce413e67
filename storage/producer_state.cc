#include "storage/producer_state.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/crc32c.h"
#include "common/endian.h"

namespace samsa::storage {
namespace {

int32_t LastSequence(const storage::BatchHeader& h) {
  // Sequences wrap past INT32_MAX to 0, as in Kafka.
  const int64_t last = static_cast<int64_t>(h.base_sequence) + h.last_offset_delta;
  return static_cast<int32_t>(last % (int64_t{std::numeric_limits<int32_t>::max()} + 1));
}

int32_t NextSequence(int32_t seq) {
  return seq == std::numeric_limits<int32_t>::max() ? 0 : seq + 1;
}

// Snapshot layout (big-endian): version int16, crc uint32 (CRC-32C of all
// that follows it), offset int64, producer count int32, then per producer
// id int64, epoch int16, batch count int16, and per batch first_seq int32,
// last_seq int32, first_offset int64, last_offset int64.
constexpr int16_t kSnapshotVersion = 1;
constexpr size_t kProducerSize = 8 + 2 + 2;
constexpr size_t kBatchSize = 4 + 4 + 8 + 8;

class Writer {
 public:
  template <std::integral T>
  void Put(T v) {
    uint8_t b[sizeof(T)];
    StoreBE(b, v);
    out_.append(reinterpret_cast<const char*>(b), sizeof(T));
  }
  std::string& out() { return out_; }

 private:
  std::string out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <std::integral T>
  bool Get(T* v) {
    if (in_.size() < sizeof(T)) return false;
    *v = LoadBE<T>(reinterpret_cast<const uint8_t*>(in_.data()));
    in_.remove_prefix(sizeof(T));
    return true;
  }
  size_t left() const { return in_.size(); }

 private:
  std::string_view in_;
};

}  // namespace

std::string ProducerState::Encode(Offset offset) const {
  std::vector<int64_t> ids;
  ids.reserve(producers_.size());
  for (const auto& [id, p] : producers_) ids.push_back(id);
  std::sort(ids.begin(), ids.end());
  Writer w;
  w.Put(kSnapshotVersion);
  w.Put(uint32_t{0});  // the CRC, set below
  w.Put(offset.value());
  w.Put(static_cast<int32_t>(ids.size()));
  for (int64_t id : ids) {
    const Producer& p = producers_.at(id);
    w.Put(id);
    w.Put(p.epoch);
    w.Put(static_cast<int16_t>(p.batches.size()));
    for (const Batch& b : p.batches) {
      w.Put(b.first_seq);
      w.Put(b.last_seq);
      w.Put(b.first_offset.value());
      w.Put(b.last_offset.value());
    }
  }
  std::string& out = w.out();
  StoreBE(reinterpret_cast<uint8_t*>(out.data()) + 2,
          crc32c::Value(out.data() + 6, out.size() - 6));
  return std::move(out);
}

absl::StatusOr<ProducerState::Snapshot> ProducerState::Decode(std::string_view bytes) {
  Reader r(bytes);
  int16_t version = 0;
  uint32_t crc = 0;
  if (!r.Get(&version) || !r.Get(&crc)) {
    return absl::DataLossError(absl::StrCat("a producer snapshot of ", bytes.size(), " bytes"));
  }
  if (version != kSnapshotVersion) {
    return absl::DataLossError(
        absl::StrCat("producer snapshot version ", version, ", not ", kSnapshotVersion));
  }
  const uint32_t actual = crc32c::Value(bytes.data() + 6, bytes.size() - 6);
  if (actual != crc) {
    return absl::DataLossError(
        absl::StrCat("producer snapshot CRC ", actual, " does not match the stored ", crc));
  }
  Snapshot s;
  int64_t offset = 0;
  int32_t count = 0;
  if (!r.Get(&offset) || !r.Get(&count) || offset < 0 || count < 0 ||
      static_cast<size_t>(count) > r.left() / kProducerSize) {
    return absl::DataLossError("a producer snapshot header out of range");
  }
  s.offset = Offset(offset);
  for (int32_t i = 0; i < count; ++i) {
    int64_t id = 0;
    int16_t epoch = 0, batches = 0;
    if (!r.Get(&id) || !r.Get(&epoch) || !r.Get(&batches) || batches < 0 ||
        static_cast<size_t>(batches) > kBatchesKept || r.left() < batches * kBatchSize) {
      return absl::DataLossError(absl::StrCat("producer snapshot entry ", i, " is cut short"));
    }
    Producer& p = s.state.producers_[id];
    p.epoch = epoch;
    for (int16_t b = 0; b < batches; ++b) {
      int32_t first_seq = 0, last_seq = 0;
      int64_t first = 0, last = 0;
      (void)(r.Get(&first_seq) && r.Get(&last_seq) && r.Get(&first) && r.Get(&last));
      p.batches.push_back({first_seq, last_seq, Offset(first), Offset(last)});
    }
  }
  if (r.left() != 0) {
    return absl::DataLossError(absl::StrCat(r.left(), " bytes after the last producer"));
  }
  return s;
}

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

}  // namespace samsa::storage
