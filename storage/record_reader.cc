#include "storage/record_reader.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "common/string_view.h"
#include "common/varint.h"
#include "storage/compression.h"

namespace samsa::storage {
namespace {

// A bounds-checked cursor over one record's bytes.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> in) : in_(in) {}

  bool empty() const { return in_.empty(); }
  const uint8_t* data() const { return in_.data(); }
  size_t remaining() const { return in_.size(); }

  absl::Status Varint(std::string_view what, int64_t* out) {
    const varint::DecodeResult r = varint::DecodeSigned64(in_, out);
    if (!r.ok()) return Corrupt(varint::ToStatus(r.error, what).message());
    in_ = in_.subspan(r.length);
    return absl::OkStatus();
  }

  absl::Status Varint32(std::string_view what, int32_t* out) {
    const varint::DecodeResult r = varint::DecodeSigned32(in_, out);
    if (!r.ok()) return Corrupt(varint::ToStatus(r.error, what).message());
    in_ = in_.subspan(r.length);
    return absl::OkStatus();
  }

  absl::Status Byte(uint8_t* out) {
    if (in_.empty()) return Corrupt("record attributes missing");
    *out = in_[0];
    in_ = in_.subspan(1);
    return absl::OkStatus();
  }

  // A varint length (-1 = null) followed by that many bytes.
  absl::Status Bytes(std::string_view what, std::optional<std::string_view>* out) {
    int32_t len = 0;
    RETURN_IF_ERROR(Varint32(what, &len));
    if (len == -1) {
      *out = std::nullopt;
      return absl::OkStatus();
    }
    if (len < 0 || static_cast<size_t>(len) > in_.size()) {
      return Corrupt(absl::StrCat(ToAbsl(what), " length ", len, " is out of range"));
    }
    *out = std::string_view(reinterpret_cast<const char*>(in_.data()), static_cast<size_t>(len));
    in_ = in_.subspan(static_cast<size_t>(len));
    return absl::OkStatus();
  }

  std::span<const uint8_t> Take(size_t n) {
    std::span<const uint8_t> head = in_.first(n);
    in_ = in_.subspan(n);
    return head;
  }

  static absl::Status Corrupt(absl::string_view why) {
    return absl::DataLossError(absl::StrCat("corrupt record: ", why));
  }

 private:
  std::span<const uint8_t> in_;
};

}  // namespace

absl::Status ForEachRecord(std::span<const uint8_t> batch,
                           absl::FunctionRef<absl::Status(const RecordView&)> fn,
                           size_t max_decompressed_bytes) {
  ASSIGN_OR_RETURN(const BatchHeader h, ValidateBatch(batch));
  std::span<const uint8_t> body = batch.subspan(kBatchHeaderSize, h.size() - kBatchHeaderSize);
  std::string decompressed;
  if (h.compression() != Compression::kNone) {
    RETURN_IF_ERROR(
        CodecFor(h.compression()).Decompress(body, max_decompressed_bytes, &decompressed));
    body = {reinterpret_cast<const uint8_t*>(decompressed.data()), decompressed.size()};
  }

  Cursor in(body);
  std::vector<RecordHeaderView> headers;
  RecordView rec;
  rec.headers = headers;
  int32_t last_delta = -1;
  for (int32_t i = 0; i < h.record_count; ++i) {
    if (in.empty()) {
      return Cursor::Corrupt(
          absl::StrCat("batch ends after ", i, " of ", h.record_count, " records"));
    }
    const uint8_t* record_start = in.data();
    int32_t length = 0;
    RETURN_IF_ERROR(in.Varint32("record length", &length));
    if (length < 0 || static_cast<size_t>(length) > in.remaining()) {
      return Cursor::Corrupt(absl::StrCat("record length ", length, " runs past the batch"));
    }
    Cursor r(in.Take(static_cast<size_t>(length)));
    uint8_t attributes = 0;
    int64_t ts_delta = 0;
    int32_t offset_delta = 0;
    RETURN_IF_ERROR(r.Byte(&attributes));
    RETURN_IF_ERROR(r.Varint("timestamp delta", &ts_delta));
    RETURN_IF_ERROR(r.Varint32("offset delta", &offset_delta));
    // Consecutive from 0 in a producer's batch; increasing with gaps, up to
    // lastOffsetDelta, in a compacted one.
    if (offset_delta <= last_delta || offset_delta > h.last_offset_delta) {
      return Cursor::Corrupt(absl::StrCat("record ", i, " has offset delta ", offset_delta));
    }
    last_delta = offset_delta;
    RETURN_IF_ERROR(r.Bytes("key", &rec.key));
    RETURN_IF_ERROR(r.Bytes("value", &rec.value));
    int32_t header_count = 0;
    RETURN_IF_ERROR(r.Varint32("header count", &header_count));
    if (header_count < 0 || static_cast<size_t>(header_count) > r.remaining() / 2) {
      return Cursor::Corrupt(absl::StrCat("header count ", header_count, " is out of range"));
    }
    headers.clear();
    for (int32_t j = 0; j < header_count; ++j) {
      std::optional<std::string_view> key;
      std::optional<std::string_view> value;
      RETURN_IF_ERROR(r.Bytes("header key", &key));
      if (!key.has_value()) return Cursor::Corrupt("null header key");
      RETURN_IF_ERROR(r.Bytes("header value", &value));
      headers.push_back({*key, value});
    }
    if (!r.empty()) {
      return Cursor::Corrupt(
          absl::StrCat("record ", i, " has ", r.remaining(), " bytes beyond its fields"));
    }
    rec.offset = h.base_offset + offset_delta;
    rec.timestamp = h.timestamp_type() == TimestampType::kLogAppendTime
                        ? h.max_timestamp
                        : h.base_timestamp + ts_delta;
    rec.headers = headers;
    rec.encoded = {record_start, static_cast<size_t>(in.data() - record_start)};
    rec.timestamp_delta = ts_delta;
    RETURN_IF_ERROR(fn(rec));
  }
  if (!in.empty()) {
    return Cursor::Corrupt(absl::StrCat(in.remaining(), " bytes follow the last record"));
  }
  return absl::OkStatus();
}

}  // namespace samsa::storage
