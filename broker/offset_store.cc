#include "broker/offset_store.h"

#include "absl/strings/str_cat.h"
#include "common/endian.h"
#include "common/offset_records.h"
#include "common/string_view.h"
#include "rocksdb/write_batch.h"
#include "storage/record_reader.h"

namespace samsa::broker {
namespace {

void PutInt32(std::string* out, int32_t v) {
  uint8_t b[4];
  StoreBE(b, v);
  out->append(reinterpret_cast<const char*>(b), 4);
}

void PutString(std::string* out, const std::string& s) {
  PutInt32(out, static_cast<int32_t>(s.size()));
  out->append(s);
}

std::string PartitionPrefix(char kind, PartitionId partition) {
  std::string key(1, kind);
  PutInt32(&key, partition.value());
  return key;
}

std::string GroupPrefix(PartitionId partition, const std::string& group) {
  std::string key = PartitionPrefix('o', partition);
  PutString(&key, group);
  return key;
}

std::string OffsetKey(PartitionId partition, const std::string& group, const std::string& topic,
                      PartitionId part) {
  std::string key = GroupPrefix(partition, group);
  PutString(&key, topic);
  PutInt32(&key, part.value());
  return key;
}

// Reads a length-prefixed string at `*at` of `key`; false when it does not
// fit.
bool GetString(std::string_view key, size_t* at, std::string* out) {
  if (key.size() < *at + 4) return false;
  const auto n =
      static_cast<size_t>(LoadBE<int32_t>(reinterpret_cast<const uint8_t*>(key.data() + *at)));
  *at += 4;
  if (key.size() < *at + n) return false;
  out->assign(key.substr(*at, n));
  *at += n;
  return true;
}

absl::Status FromRocks(const rocksdb::Status& st, std::string_view what) {
  if (st.ok()) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat("group offsets: ", ToAbsl(what), ": ", st.ToString()));
}

}  // namespace

absl::StatusOr<std::unique_ptr<OffsetStore>> OffsetStore::Open(const std::string& dir,
                                                               rocksdb::Env* env) {
  rocksdb::Options options;
  options.create_if_missing = true;
  if (env != nullptr) options.env = env;
  rocksdb::DB* db = nullptr;
  if (absl::Status st =
          FromRocks(rocksdb::DB::Open(options, dir, &db), absl::StrCat("opening ", dir));
      !st.ok()) {
    return st;
  }
  return std::unique_ptr<OffsetStore>(new OffsetStore(std::unique_ptr<rocksdb::DB>(db)));
}

absl::Status OffsetStore::ApplyBatches(PartitionId partition, std::span<const uint8_t> batches) {
  absl::StatusOr<std::pair<Offset, Epoch>> applied = Applied(partition);
  if (!applied.ok()) return applied.status();
  int64_t next = applied->first.value();
  int32_t epoch = applied->second.value();
  rocksdb::WriteBatch write;
  std::span<const uint8_t> rest = batches;
  while (!rest.empty()) {
    absl::StatusOr<storage::BatchHeader> h = storage::ParseBatchHeader(rest);
    if (!h.ok()) return h.status();
    if (h->size() > rest.size()) {
      return absl::DataLossError("a __consumer_offsets batch runs past the bytes read");
    }
    const int64_t before = next;
    absl::Status st =
        storage::ForEachRecord(rest.first(h->size()), [&](const storage::RecordView& r) {
          if (r.offset.value() < next) return absl::OkStatus();
          next = r.offset.value() + 1;
          if (h->control()) return absl::OkStatus();
          absl::StatusOr<OffsetCommitRecord> commit = DecodeOffsetCommitRecord(r.key, r.value);
          if (!commit.ok()) {
            return absl::DataLossError(absl::StrCat("__consumer_offsets record at ",
                                                    r.offset.value(), ": ",
                                                    commit.status().message()));
          }
          const v1::OffsetCommitKey& key = commit->key;
          const std::string k =
              OffsetKey(partition, key.group(), key.topic(), PartitionId(key.partition()));
          if (!commit->value.has_value()) {
            write.Delete(k);
            return absl::OkStatus();
          }
          write.Put(k, commit->value->SerializeAsString());
          return absl::OkStatus();
        });
    if (!st.ok()) return st;
    if (h->last_offset().value() + 1 > before) {  // this batch was (partly) applied
      next = std::max(next, h->last_offset().value() + 1);
      epoch = h->leader_epoch.value();
    }
    rest = rest.subspan(h->size());
  }
  if (next == applied->first.value()) return absl::OkStatus();
  uint8_t b[12];
  StoreBE(b, next);
  StoreBE(b + 8, epoch);
  write.Put(PartitionPrefix('a', partition), rocksdb::Slice(reinterpret_cast<const char*>(b), 12));
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &write), "write");
}

absl::StatusOr<std::pair<Offset, Epoch>> OffsetStore::Applied(PartitionId partition) const {
  std::string value;
  rocksdb::Status st = db_->Get(rocksdb::ReadOptions(), PartitionPrefix('a', partition), &value);
  if (st.IsNotFound()) return std::make_pair(Offset(0), Epoch(-1));
  if (absl::Status s = FromRocks(st, "reading the applied offset"); !s.ok()) return s;
  if (value.size() != 12) return absl::DataLossError("group offsets: a malformed applied offset");
  const auto* p = reinterpret_cast<const uint8_t*>(value.data());
  return std::make_pair(Offset(LoadBE<int64_t>(p)), Epoch(LoadBE<int32_t>(p + 8)));
}

absl::StatusOr<Offset> OffsetStore::AppliedOffset(PartitionId partition) const {
  absl::StatusOr<std::pair<Offset, Epoch>> a = Applied(partition);
  if (!a.ok()) return a.status();
  return a->first;
}

absl::StatusOr<Epoch> OffsetStore::AppliedEpoch(PartitionId partition) const {
  absl::StatusOr<std::pair<Offset, Epoch>> a = Applied(partition);
  if (!a.ok()) return a.status();
  return a->second;
}

absl::Status OffsetStore::ResetPartition(PartitionId partition) {
  rocksdb::WriteBatch write;
  for (char kind : {'o', 'a'}) {
    const std::string begin = PartitionPrefix(kind, partition);
    const std::string end = PartitionPrefix(kind, PartitionId(partition.value() + 1));
    write.DeleteRange(begin, end);
  }
  return FromRocks(db_->Write(rocksdb::WriteOptions(), &write), "reset");
}

absl::StatusOr<std::optional<v1::OffsetCommitValue>> OffsetStore::Get(PartitionId partition,
                                                                      const std::string& group,
                                                                      const std::string& topic,
                                                                      PartitionId part) const {
  std::string bytes;
  rocksdb::Status st =
      db_->Get(rocksdb::ReadOptions(), OffsetKey(partition, group, topic, part), &bytes);
  if (st.IsNotFound()) return std::nullopt;
  if (absl::Status s = FromRocks(st, "get"); !s.ok()) return s;
  v1::OffsetCommitValue value;
  if (!value.ParseFromString(bytes)) return absl::DataLossError("group offsets: a malformed value");
  return value;
}

absl::StatusOr<std::map<std::pair<std::string, PartitionId>, v1::OffsetCommitValue>>
OffsetStore::GroupOffsets(PartitionId partition, const std::string& group) const {
  std::map<std::pair<std::string, PartitionId>, v1::OffsetCommitValue> out;
  const std::string prefix = GroupPrefix(partition, group);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    const std::string_view key(it->key().data(), it->key().size());
    size_t at = prefix.size();
    std::string topic;
    v1::OffsetCommitValue value;
    if (!GetString(key, &at, &topic) || key.size() != at + 4 ||
        !value.ParseFromArray(it->value().data(), static_cast<int>(it->value().size()))) {
      return absl::DataLossError("group offsets: a malformed entry");
    }
    out[{topic, PartitionId(LoadBE<int32_t>(reinterpret_cast<const uint8_t*>(key.data() + at)))}] =
        value;
  }
  if (absl::Status st = FromRocks(it->status(), "scan"); !st.ok()) return st;
  return out;
}

absl::StatusOr<std::vector<std::string>> OffsetStore::Groups(PartitionId partition) const {
  std::vector<std::string> out;
  const std::string prefix = PartitionPrefix('o', partition);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);) {
    const std::string_view key(it->key().data(), it->key().size());
    size_t at = prefix.size();
    std::string group;
    if (!GetString(key, &at, &group)) return absl::DataLossError("group offsets: a malformed key");
    out.push_back(group);
    // Skip the rest of this group's keys.
    std::string next = GroupPrefix(partition, group);
    next.push_back('\xff');
    it->Seek(next);
  }
  if (absl::Status st = FromRocks(it->status(), "scan"); !st.ok()) return st;
  return out;
}

}  // namespace samsa::broker
