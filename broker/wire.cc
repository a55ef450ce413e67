#include "broker/wire.h"

#include <string>
#include <utility>

#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/wire_format_lite.h"
#include "grpcpp/support/proto_buffer_reader.h"

namespace samsa::broker {
namespace {

using google::protobuf::internal::WireFormatLite;

// Record buffers at least this large go out as slices of their own; smaller
// ones are copied (a slice costs an allocation and a refcount).
constexpr size_t kZeroCopyMin = 1024;

// A message under construction as a list of slices: small pieces are
// gathered in `pending_`, record buffers are taken over whole.
class WireWriter {
 public:
  size_t size() const { return size_; }

  void AppendMessage(const google::protobuf::MessageLite& m) {
    const size_t before = pending_.size();
    m.AppendToString(&pending_);
    size_ += pending_.size() - before;
  }

  void AppendStringField(int field, const std::string& value) {
    AppendTag(field);
    AppendVarint(value.size());
    Append(value);
  }

  // The field as tag, length and `bytes`; nothing for an empty buffer (the
  // proto3 default).
  void AppendBytesField(int field, storage::Buffer bytes) {
    if (bytes.empty()) return;
    AppendTag(field);
    AppendVarint(bytes.size());
    if (bytes.size() < kZeroCopyMin) {
      Append(bytes.view());
      return;
    }
    Seal();
    size_ += bytes.size();
    auto* owned = new storage::Buffer(std::move(bytes));
    slices_.emplace_back(
        owned->data(), owned->size(), [](void* p) { delete static_cast<storage::Buffer*>(p); },
        owned);
  }

  void AppendMessageField(int field, WireWriter child) {
    AppendTag(field);
    AppendVarint(child.size());
    child.Seal();
    if (!child.slices_.empty()) {
      Seal();
      for (grpc::Slice& s : child.slices_) slices_.push_back(std::move(s));
    }
    size_ += child.size();
  }

  grpc::ByteBuffer Finish() && {
    Seal();
    return grpc::ByteBuffer(slices_.data(), slices_.size());
  }

 private:
  void AppendTag(int field) {
    AppendVarint(WireFormatLite::MakeTag(field, WireFormatLite::WIRETYPE_LENGTH_DELIMITED));
  }
  void AppendVarint(uint64_t v) {
    uint8_t buf[10];
    uint8_t* end = google::protobuf::io::CodedOutputStream::WriteVarint64ToArray(v, buf);
    Append(std::string_view(reinterpret_cast<const char*>(buf), static_cast<size_t>(end - buf)));
  }
  void Append(std::string_view bytes) {
    pending_.append(bytes);
    size_ += bytes.size();
  }
  // Ends the pending small pieces as one slice.
  void Seal() {
    if (pending_.empty()) return;
    slices_.emplace_back(pending_);
    pending_.clear();
  }

  std::vector<grpc::Slice> slices_;
  std::string pending_;
  size_t size_ = 0;
};

// Appends `partition`, with `records` as its `records` field, to `parent`
// as its field `field`.
template <typename Partition>
void AppendPartition(WireWriter* parent, int field, const Partition& partition,
                     storage::Buffer records) {
  WireWriter out;
  out.AppendMessage(partition);
  out.AppendBytesField(Partition::kRecordsFieldNumber, std::move(records));
  parent->AppendMessageField(field, std::move(out));
}

}  // namespace

grpc::ByteBuffer ToWire(const google::protobuf::MessageLite& message) {
  WireWriter out;
  out.AppendMessage(message);
  return std::move(out).Finish();
}

grpc::ByteBuffer ToWire(FetchAnswer answer) {
  using R = v1::FetchResponse;
  WireWriter out;
  size_t i = 0;
  for (const R::Topic& t : answer.response.topics()) {
    WireWriter topic;
    topic.AppendStringField(R::Topic::kNameFieldNumber, t.name());
    for (const R::Partition& p : t.partitions()) {
      AppendPartition(&topic, R::Topic::kPartitionsFieldNumber, p, std::move(answer.records[i++]));
    }
    out.AppendMessageField(R::kTopicsFieldNumber, std::move(topic));
  }
  return std::move(out).Finish();
}

grpc::ByteBuffer ToWire(ReplicaFetchAnswer answer) {
  using R = v1::ReplicaFetchResponse;
  WireWriter out;
  // The fields beside the partitions first: a parser takes fields in any
  // order.
  google::protobuf::RepeatedPtrField<R::Partition> partitions;
  partitions.Swap(answer.response.mutable_partitions());
  out.AppendMessage(answer.response);
  size_t i = 0;
  for (const R::Partition& p : partitions) {
    AppendPartition(&out, R::kPartitionsFieldNumber, p, std::move(answer.records[i++]));
  }
  return std::move(out).Finish();
}

bool FromWire(const grpc::ByteBuffer& bytes, google::protobuf::MessageLite* message) {
  grpc::ByteBuffer shared(bytes);  // the same slices; the reader consumes its buffer
  grpc::ProtoBufferReader reader(&shared);
  return message->ParseFromZeroCopyStream(&reader);
}

}  // namespace samsa::broker
