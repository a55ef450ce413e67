#include "raft/durable_log.h"

#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/crc32c.h"
#include "common/endian.h"
#include "common/status.h"
#include "storage/batch_builder.h"
#include "storage/record_reader.h"

namespace samsa::raft {
namespace {

constexpr char kHardStateFile[] = "hard-state";
constexpr char kSnapshotFile[] = "snapshot";
constexpr char kSnapshotMagic[] = "SAMSNAP1";
constexpr size_t kHardStateSize = 24;

// Appends big-endian integers to a string.
class Writer {
 public:
  template <typename T>
  void Put(T v) {
    uint8_t b[sizeof(T)];
    StoreBE<T>(b, v);
    out_.append(reinterpret_cast<const char*>(b), sizeof(T));
  }
  void Bytes(std::string_view s) { out_.append(s.data(), s.size()); }
  void SealWithCrc() { Put<uint32_t>(crc32c::Value(out_.data(), out_.size())); }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads big-endian integers from bytes, failing softly past the end.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  template <typename T>
  bool Get(T* v) {
    if (in_.size() - pos_ < sizeof(T)) return false;
    *v = LoadBE<T>(reinterpret_cast<const uint8_t*>(in_.data()) + pos_);
    pos_ += sizeof(T);
    return true;
  }
  bool Bytes(size_t n, std::string* out) {
    if (in_.size() - pos_ < n) return false;
    out->assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  size_t pos() const { return pos_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

bool CrcMatches(std::string_view bytes) {
  if (bytes.size() < 4) return false;
  const size_t body = bytes.size() - 4;
  return crc32c::Value(bytes.data(), body) ==
         LoadBE<uint32_t>(reinterpret_cast<const uint8_t*>(bytes.data()) + body);
}

}  // namespace

DurableLog::DurableLog(storage::Env* env, std::string dir, ConfState bootstrap)
    : env_(env),
      dir_(std::move(dir)),
      bootstrap_(std::move(bootstrap)),
      files_(env, 16),
      health_(dir_) {}

absl::StatusOr<std::unique_ptr<DurableLog>> DurableLog::Open(storage::Env* env, std::string dir,
                                                             ConfState bootstrap, Clock* clock) {
  std::unique_ptr<DurableLog> d(new DurableLog(env, std::move(dir), std::move(bootstrap)));
  RETURN_IF_ERROR(env->CreateDirs(d->dir_));
  storage::LogConfig config;
  config.segment_bytes = 64 << 20;
  config.segment_age = absl::InfiniteDuration();
  config.retention_age = absl::InfiniteDuration();
  ASSIGN_OR_RETURN(d->log_, storage::PartitionLog::Open(storage::JoinPath(d->dir_, "log"),
                                                        {config, &d->files_, &d->health_, clock}));
  return d;
}

std::string DurableLog::EncodeHardState(const HardState& hs) {
  Writer w;
  w.Put<int64_t>(hs.term.value());
  w.Put<int32_t>(hs.vote.value());
  w.Put<int64_t>(hs.commit.value());
  w.SealWithCrc();
  return w.Take();
}

absl::StatusOr<HardState> DurableLog::DecodeHardState(std::string_view bytes) {
  if (bytes.size() != kHardStateSize || !CrcMatches(bytes)) {
    return absl::DataLossError("raft hard-state file is damaged (size or CRC)");
  }
  Reader r(bytes);
  int64_t term = 0;
  int32_t vote = 0;
  int64_t commit = 0;
  r.Get(&term);
  r.Get(&vote);
  r.Get(&commit);
  if (term < 0 || commit < 0) return absl::DataLossError("raft hard-state has negative fields");
  return HardState{Term(term), NodeId(vote), Index(commit)};
}

std::string DurableLog::EncodeSnapshot(const SnapshotMeta& meta, const std::string& data) {
  Writer w;
  w.Bytes(kSnapshotMagic);
  w.Put<int64_t>(meta.index.value());
  w.Put<int64_t>(meta.term.value());
  for (const std::vector<NodeId>* ids : {&meta.conf.voters, &meta.conf.learners}) {
    w.Put<int32_t>(static_cast<int32_t>(ids->size()));
    for (NodeId id : *ids) w.Put<int32_t>(id.value());
  }
  w.Put<int64_t>(static_cast<int64_t>(data.size()));
  w.Bytes(data);
  w.SealWithCrc();
  return w.Take();
}

absl::StatusOr<Snapshot> DurableLog::DecodeSnapshot(std::string_view bytes) {
  auto bad = [](std::string_view why) {
    return absl::DataLossError(
        absl::StrCat("raft snapshot file is damaged: ", absl::string_view(why.data(), why.size())));
  };
  if (!CrcMatches(bytes)) return bad("CRC mismatch");
  Reader r(bytes.substr(0, bytes.size() - 4));
  std::string magic;
  Snapshot s;
  int64_t index = 0;
  int64_t term = 0;
  if (!r.Bytes(8, &magic) || magic != kSnapshotMagic) return bad("magic");
  if (!r.Get(&index) || !r.Get(&term) || index < 0 || term < 0) return bad("index/term");
  s.meta.index = Index(index);
  s.meta.term = Term(term);
  for (std::vector<NodeId>* ids : {&s.meta.conf.voters, &s.meta.conf.learners}) {
    int32_t n = 0;
    if (!r.Get(&n) || n < 0 || n > 1000) return bad("membership");
    for (int32_t i = 0; i < n; ++i) {
      int32_t id = 0;
      if (!r.Get(&id)) return bad("membership");
      ids->push_back(NodeId(id));
    }
  }
  int64_t len = 0;
  if (!r.Get(&len) || len < 0 || !r.Bytes(static_cast<size_t>(len), &s.data)) return bad("data");
  if (r.pos() != bytes.size() - 4) return bad("trailing bytes");
  return s;
}

absl::StatusOr<Restored> DurableLog::Load() {
  Restored r;
  r.snapshot.conf = bootstrap_;
  const std::string hs_path = storage::JoinPath(dir_, kHardStateFile);
  const std::string snap_path = storage::JoinPath(dir_, kSnapshotFile);
  ASSIGN_OR_RETURN(bool has_hs, env_->FileExists(hs_path));
  if (has_hs) {
    ASSIGN_OR_RETURN(std::string bytes, env_->ReadFile(hs_path));
    ASSIGN_OR_RETURN(r.hard_state, DecodeHardState(bytes));
    written_ = r.hard_state;
  }
  ASSIGN_OR_RETURN(bool has_snap, env_->FileExists(snap_path));
  if (has_snap) {
    ASSIGN_OR_RETURN(std::string bytes, env_->ReadFile(snap_path));
    ASSIGN_OR_RETURN(Snapshot s, DecodeSnapshot(bytes));
    r.snapshot = s.meta;
    r.snapshot_data = std::move(s.data);
  }
  // Entries after the snapshot, in order, without gaps.
  Index next = r.snapshot.index + 1;
  Offset at = std::max(log_->log_start_offset(), Offset(next.value()));
  if (log_->log_start_offset() > Offset(next.value()) &&
      log_->log_end_offset() > log_->log_start_offset()) {
    return absl::DataLossError(absl::StrCat("raft log starts at ", log_->log_start_offset().value(),
                                            " but the snapshot ends at ",
                                            r.snapshot.index.value()));
  }
  while (at < log_->log_end_offset()) {
    ASSIGN_OR_RETURN(storage::ReadSlice slice,
                     log_->Read(at, 1 << 20, Offset::Max(), storage::FirstBatch::kAlways));
    if (slice.bytes.empty()) break;
    std::span<const uint8_t> in = slice.bytes.span();
    while (!in.empty()) {
      ASSIGN_OR_RETURN(storage::BatchHeader h, storage::ValidateBatch(in));
      absl::Status st =
          storage::ForEachRecord(in.first(h.size()), [&](const storage::RecordView& rec) {
            const Index index(rec.offset.value());
            if (index < next) return absl::OkStatus();  // covered by the snapshot
            if (index != next || !rec.key.has_value() || rec.key->size() != 1 ||
                static_cast<uint8_t>((*rec.key)[0]) > 1) {
              return absl::DataLossError(
                  absl::StrCat("raft log entry at ", index.value(), " is malformed"));
            }
            r.entries.push_back(Entry{Term(h.leader_epoch.value()), index,
                                      static_cast<EntryType>((*rec.key)[0]),
                                      std::string(rec.value.value_or(""))});
            next = index + 1;
            return absl::OkStatus();
          });
      RETURN_IF_ERROR(st);
      in = in.subspan(h.size());
    }
    at = slice.next_offset;
  }
  // A crash may have left the hard state's commit beyond a torn log tail
  // only if the log lost synced data, which storage/ does not do.
  if (r.hard_state.commit > r.snapshot.index + static_cast<int64_t>(r.entries.size())) {
    return absl::DataLossError(
        absl::StrCat("raft commit index ", r.hard_state.commit.value(), " is beyond the log end ",
                     (r.snapshot.index + static_cast<int64_t>(r.entries.size())).value()));
  }
  return r;
}

absl::Status DurableLog::Save(const Ready& rd) {
  if (rd.snapshot.has_value()) {
    RETURN_IF_ERROR(
        env_->WriteFileAtomically(storage::JoinPath(dir_, kSnapshotFile),
                                  EncodeSnapshot(rd.snapshot->meta, rd.snapshot->data)));
    // Everything before it is replaced: the log restarts after the snapshot.
    RETURN_IF_ERROR(log_->TruncateFullyAndStartAt(Offset(rd.snapshot->meta.index.value() + 1)));
  }
  RETURN_IF_ERROR(Write(rd.entries));
  // Also what earlier Write()s left unsynced (a leader's, Ready::may_sync_later).
  RETURN_IF_ERROR(Sync());
  if (rd.hard_state.has_value() &&
      (!written_.has_value() || written_->term != rd.hard_state->term ||
       written_->vote != rd.hard_state->vote)) {
    RETURN_IF_ERROR(env_->WriteFileAtomically(storage::JoinPath(dir_, kHardStateFile),
                                              EncodeHardState(*rd.hard_state)));
    written_ = rd.hard_state;
  }
  return absl::OkStatus();
}

absl::Status DurableLog::Sync() { return log_->Flush(); }

absl::Status DurableLog::Write(const std::vector<Entry>& entries) {
  if (entries.empty()) return absl::OkStatus();
  const Offset first(entries.front().index.value());
  if (log_->log_end_offset() == Offset(0) && log_->log_start_offset() == Offset(0)) {
    RETURN_IF_ERROR(log_->TruncateFullyAndStartAt(first));  // a new log starts at index 1
  } else if (first < log_->log_end_offset()) {
    RETURN_IF_ERROR(log_->TruncateTo(first));  // a new leader replaced our suffix (§5.3)
  }
  std::string batches;
  for (const Entry& e : entries) {
    if (e.term.value() > std::numeric_limits<int32_t>::max()) {
      return absl::OutOfRangeError("raft term does not fit the batch epoch field");
    }
    storage::BatchBuilder b;
    const char type = static_cast<char>(e.type);
    b.Append(0, std::string_view(&type, 1), e.data);
    ASSIGN_OR_RETURN(std::string batch, b.Build());
    storage::StampBatch({reinterpret_cast<uint8_t*>(batch.data()), batch.size()},
                        Offset(e.index.value()), Epoch(static_cast<int32_t>(e.term.value())));
    batches += batch;
  }
  return log_->AppendAsFollower({reinterpret_cast<const uint8_t*>(batches.data()), batches.size()})
      .status();
}

absl::Status DurableLog::SaveSnapshot(const SnapshotMeta& meta, const std::string& data) {
  RETURN_IF_ERROR(env_->WriteFileAtomically(storage::JoinPath(dir_, kSnapshotFile),
                                            EncodeSnapshot(meta, data)));
  return log_->DeleteSegmentsBelow(Offset(meta.index.value() + 1)).status();
}

}  // namespace samsa::raft
