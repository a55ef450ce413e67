// ReplicaManager's read paths (replica_manager.h): consumer Fetch with its
// long-poll, ListOffsets, and the leader's side of followers' fetches.
#include <algorithm>
#include <span>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "broker/replica_manager.h"
#include "common/wire_error.h"
#include "storage/record_batch.h"
#include "storage/record_reader.h"

namespace samsa::broker {

v1::ListOffsetsResponse ReplicaManager::ListOffsets(const v1::ListOffsetsRequest& request) {
  v1::ListOffsetsResponse response;
  for (const v1::ListOffsetsRequest::Topic& t : request.topics()) {
    v1::ListOffsetsResponse::Topic* tout = response.add_topics();
    tout->set_name(t.name());
    for (const v1::ListOffsetsRequest::Partition& in : t.partitions()) {
      v1::ListOffsetsResponse::Partition* out = tout->add_partitions();
      out->set_partition(in.partition());
      out->set_offset(-1);
      out->set_timestamp(-1);
      std::shared_ptr<Partition> partition = LeaderFor(
          t.name(), in.partition(),
          in.has_current_leader_epoch() ? std::optional(in.current_leader_epoch()) : std::nullopt,
          out->mutable_error(), out->mutable_leader());
      if (partition == nullptr) continue;
      out->set_leader_epoch(partition->state()->leader_epoch.value());
      const Offset hw = partition->high_watermark();
      if (in.timestamp() == -2) {
        out->set_offset(partition->log()->log_start_offset().value());
        continue;
      }
      if (in.timestamp() == -1) {
        if (std::optional<Offset> latest = partition->LatestOffset(); latest.has_value()) {
          out->set_offset(latest->value());
        } else {
          SetError(out->mutable_error(), v1::OFFSET_NOT_AVAILABLE,
                   absl::StrCat(t.name(), "-", in.partition(),
                                ": the new leader's high watermark has not caught up yet"));
        }
        continue;
      }
      if (in.timestamp() < 0) {
        SetError(out->mutable_error(), v1::INVALID_REQUEST,
                 absl::StrCat("timestamp ", in.timestamp(), ": -2, -1 or a time in ms"));
        continue;
      }
      absl::StatusOr<std::optional<storage::TimestampOffset>> found =
          partition->log()->OffsetForTimestamp(in.timestamp());
      if (!found.ok()) {
        SetError(out->mutable_error(), v1::KAFKA_STORAGE_ERROR,
                 std::string(found.status().message()));
        continue;
      }
      if (found->has_value() && (*found)->offset < hw) {  // only committed records
        out->set_offset((*found)->offset.value());
        out->set_timestamp((*found)->timestamp);
      }
    }
  }
  return response;
}

// A fetch parked until a partition it reads has news for it, or its
// leadership moved (or the partition went) since it parked: then its
// answer is made again from scratch. It holds the partitions it watches, so
// their addresses, its purgatory keys, stay theirs while it waits.
template <typename Request, typename Answer>
class ReplicaManager::ParkedFetch : public DelayedOperation {
 public:
  ParkedFetch(ReplicaManager* replicas, std::vector<WatchedPartition> watched, absl::Time deadline,
              Request request, Done<Answer> done)
      : DelayedOperation(deadline),
        replicas_(replicas),
        watched_(std::move(watched)),
        request_(std::move(request)),
        done_(std::move(done)) {}

  std::vector<Purgatory::Key> keys() const {
    std::vector<Purgatory::Key> out;
    out.reserve(watched_.size());
    for (const WatchedPartition& w : watched_) out.push_back(w.partition.get());
    return out;
  }

 protected:
  // Whether any of `watched` has what the fetch waits for.
  virtual bool Satisfied(std::span<const WatchedPartition> watched) = 0;

  // Its leadership moved or it is no longer this broker's replica: the
  // answer has an error for it.
  bool Moved(const WatchedPartition& w) const {
    const std::shared_ptr<const PartitionState> s = w.partition->state();
    return !s->leader || s->leader_epoch != w.epoch ||
           replicas_->Find(w.partition->tp()) != w.partition;
  }

  ReplicaManager* const replicas_;
  const std::vector<WatchedPartition> watched_;
  const Request request_;
  Done<Answer> done_;

 private:
  bool Ready() final { return Satisfied(watched_); }
  // A scan of pointers: a parked fetch sees an event or two before it
  // completes, cheaper than an index built for each one that parks.
  bool ReadyAfter(const void* key) final {
    for (const WatchedPartition& w : watched_) {
      if (w.partition.get() == key) return Satisfied(std::span(&w, 1));
    }
    return false;
  }
};

// A follower's fetch with nothing to take: waits for an append.
class ReplicaManager::FollowerFetchWait final
    : public ParkedFetch<v1::ReplicaFetchRequest, ReplicaFetchAnswer> {
 public:
  using ParkedFetch::ParkedFetch;

 protected:
  bool Satisfied(std::span<const WatchedPartition> watched) override {
    for (const WatchedPartition& w : watched) {
      if (Moved(w) || w.partition->log()->log_end_offset() > w.from) return true;
    }
    return false;
  }
  void Complete(Outcome) override {
    bool news = false;
    done_(replicas_->AnswerReplicaFetch(request_, &news));
  }
};

// A consumer's fetch short of its min_bytes: waits for high watermarks.
class ReplicaManager::ConsumerFetchWait final : public ParkedFetch<v1::FetchRequest, FetchAnswer> {
 public:
  using ParkedFetch::ParkedFetch;

 protected:
  bool Satisfied(std::span<const WatchedPartition> watched) override {
    bool readable = false;
    for (const WatchedPartition& w : watched) {
      if (Moved(w)) return true;
      readable = readable || w.partition->high_watermark() > w.from;
    }
    if (!readable || request_.min_bytes() <= 1) return readable;
    int64_t bytes = 0;
    bool error = false;
    replicas_->AnswerFetch(request_, &bytes, &error);
    return error || bytes >= request_.min_bytes();
  }
  void Complete(Outcome) override {
    int64_t bytes = 0;
    bool error = false;
    replicas_->Deliver(replicas_->AnswerFetch(request_, &bytes, &error), done_);
  }
};

// A session's long-poll: waits for an event that touches the session
// with news (an append, a leadership change) or its closing.
class ReplicaManager::SessionFetchWait final : public DelayedOperation {
 public:
  SessionFetchWait(ReplicaManager* replicas, std::shared_ptr<FetchSession> session,
                   absl::Time deadline, int32_t max_bytes, Done<ReplicaFetchAnswer> done)
      : DelayedOperation(deadline),
        replicas_(replicas),
        session_(std::move(session)),
        max_bytes_(max_bytes),
        done_(std::move(done)) {}

 protected:
  bool Ready() override { return replicas_->sessions_.Woken(*session_); }
  void Complete(Outcome) override {
    FetchSessions& sessions = replicas_->sessions_;
    const std::vector<FetchSession::Entry*> entries = sessions.TakeTouched(
        *session_, MonotonicNow(),
        [this](const storage::TopicPartitionName& tp) { return replicas_->Find(tp); });
    bool news = false;
    ReplicaFetchAnswer answer = replicas_->AnswerSession(
        *session_, entries, std::vector<bool>(entries.size(), false), max_bytes_, &news);
    answer.response.set_session_id(sessions.Release(*session_) ? session_->id() : 0);
    done_(std::move(answer));
  }

 private:
  ReplicaManager* const replicas_;
  const std::shared_ptr<FetchSession> session_;
  const int32_t max_bytes_;
  Done<ReplicaFetchAnswer> done_;
};

void ReplicaManager::ReplicaFetch(const v1::ReplicaFetchRequest& request,
                                  Done<ReplicaFetchAnswer> done) {
  const absl::Time now = MonotonicNow();
  FetchSessions::Begun begun = sessions_.Begin(request, now);
  if (begun.error != v1::NONE) {
    ReplicaFetchAnswer refused;
    SetError(refused.response.mutable_error(), begun.error, std::move(begun.message));
    return done(std::move(refused));
  }
  bool news = false;
  if (begun.session != nullptr) {
    FetchSession& session = *begun.session;
    std::vector<bool> named;
    const std::vector<FetchSession::Entry*> entries = sessions_.Update(
        session, request, now, [this](const storage::TopicPartitionName& tp) { return Find(tp); },
        &named);
    ReplicaFetchAnswer answer = AnswerSession(session, entries, named, request.max_bytes(), &news);
    if (news || request.max_wait_ms() <= 0) {
      answer.response.set_session_id(sessions_.Release(session) ? session.id() : 0);
      return done(std::move(answer));
    }
    if (options_.before_parking_fetch) options_.before_parking_fetch();
    const Purgatory::Key key[] = {begun.session.get()};
    follower_fetches_.Watch(
        std::make_shared<SessionFetchWait>(this, std::move(begun.session),
                                           now + absl::Milliseconds(request.max_wait_ms()),
                                           request.max_bytes(), std::move(done)),
        key);
    return;
  }
  ReplicaFetchAnswer answer = AnswerReplicaFetch(request, &news);
  if (news || request.max_wait_ms() <= 0) return done(std::move(answer));
  // Nothing to take: every partition is led here in the epoch the
  // follower named, and it is at the log end.
  std::vector<WatchedPartition> watched;
  for (const v1::ReplicaFetchRequest::Partition& in : request.partitions()) {
    std::shared_ptr<Partition> p = Find({in.topic(), PartitionId(in.partition())});
    if (p == nullptr) return done(AnswerReplicaFetch(request, &news));  // it just went
    watched.push_back({std::move(p), Offset(in.fetch_offset()), Epoch(in.current_leader_epoch())});
  }
  if (options_.before_parking_fetch) options_.before_parking_fetch();
  auto wait = std::make_shared<FollowerFetchWait>(this, std::move(watched),
                                                  now + absl::Milliseconds(request.max_wait_ms()),
                                                  request, std::move(done));
  const std::vector<Purgatory::Key> keys = wait->keys();
  follower_fetches_.Watch(std::move(wait), keys);
}

ReplicaFetchAnswer ReplicaManager::AnswerReplicaFetch(const v1::ReplicaFetchRequest& request,
                                                      bool* has_news) {
  ReplicaFetchAnswer answer;
  int64_t budget = request.max_bytes() > 0 ? request.max_bytes() : 8 << 20;
  const absl::Time now = MonotonicNow();
  const NodeId replica(request.replica_id());
  for (const v1::ReplicaFetchRequest::Partition& in : request.partitions()) {
    AnswerReplicaPartition(Find({in.topic(), PartitionId(in.partition())}), in, replica,
                           /*reported=*/true, now, &budget, &answer, has_news);
  }
  return answer;
}

ReplicaFetchAnswer ReplicaManager::AnswerSession(FetchSession& session,
                                                 const std::vector<FetchSession::Entry*>& entries,
                                                 const std::vector<bool>& named, int32_t max_bytes,
                                                 bool* has_news) {
  ReplicaFetchAnswer answer;
  int64_t budget = max_bytes > 0 ? max_bytes : 8 << 20;
  const absl::Time now = MonotonicNow();
  for (size_t i = 0; i < entries.size(); ++i) {
    FetchSession::Entry* e = entries[i];
    if (AnswerReplicaPartition(e->partition, e->said, session.replica(), named[i], now, &budget,
                               &answer, has_news)) {
      sessions_.KeepTouched(session, e);
    }
  }
  return answer;
}

bool ReplicaManager::AnswerReplicaPartition(const std::shared_ptr<Partition>& partition,
                                            const v1::ReplicaFetchRequest::Partition& in,
                                            NodeId replica, bool reported, absl::Time now,
                                            int64_t* budget, ReplicaFetchAnswer* answer,
                                            bool* has_news) {
  v1::ReplicaFetchResponse::Partition* out = answer->response.add_partitions();
  answer->records.emplace_back();
  out->set_topic(in.topic());
  out->set_partition(in.partition());
  if (partition == nullptr) {
    SetError(out->mutable_error(), v1::UNKNOWN_TOPIC_OR_PARTITION,
             absl::StrCat("no partition ", in.topic(), "-", in.partition(), " here"));
    *has_news = true;
    return false;
  }
  const std::shared_ptr<const PartitionState> held = partition->state();
  const PartitionState& s = *held;
  if (in.current_leader_epoch() != s.leader_epoch.value() || !s.leader) {
    const bool older = in.current_leader_epoch() < s.leader_epoch.value();
    SetError(out->mutable_error(),
             !s.leader ? v1::NOT_LEADER_OR_FOLLOWER
             : older   ? v1::FENCED_LEADER_EPOCH
                       : v1::UNKNOWN_LEADER_EPOCH,
             absl::StrCat("leader epoch ", in.current_leader_epoch(), " against ",
                          s.leader_epoch.value(), s.leader ? "" : " (not the leader)"));
    *has_news = true;
    return false;
  }
  storage::PartitionLog* log = partition->log();
  out->set_log_start_offset(log->log_start_offset().value());
  const Offset fetch_offset(in.fetch_offset());
  if (in.last_fetched_epoch() >= 0 && fetch_offset > log->log_start_offset()) {
    // KIP-320: does the follower's last epoch end where ours does?
    const auto [epoch, end] = log->EndOffsetForEpoch(Epoch(in.last_fetched_epoch()));
    if (epoch != Epoch(in.last_fetched_epoch()) || end < fetch_offset) {
      out->set_diverging(true);
      out->set_diverging_epoch(epoch.value());
      out->set_diverging_end_offset(std::max(end, log->log_start_offset()).value());
      out->set_high_watermark(partition->high_watermark().value());
      *has_news = true;
      return false;
    }
  }
  const Offset log_end = log->log_end_offset();
  if (fetch_offset < log->log_start_offset() || fetch_offset > log_end) {
    SetError(out->mutable_error(), v1::OFFSET_OUT_OF_RANGE,
             absl::StrCat("offset ", in.fetch_offset(), " is outside [",
                          log->log_start_offset().value(), ", ", log_end.value(), "]"));
    *has_news = true;
    return false;
  }
  if (!reported) {
    partition->OnFollowerStillFetching(replica, fetch_offset, now);
  } else {
    const Offset acked =
        s.flush_always ? std::min(fetch_offset, Offset(in.durable_offset())) : fetch_offset;
    if (partition->OnFollowerFetch(replica, fetch_offset, acked, now)) {
      OnHighWatermark(partition.get());
    }
    if (!ContainsId(s.isr, replica)) isr_.CheckSoon(partition);  // it may rejoin
  }
  const Offset hw = partition->high_watermark();
  out->set_high_watermark(hw.value());
  bool held_back = false;
  if (fetch_offset < log_end) {
    if (*budget > 0) {
      const int64_t cap = in.max_bytes() > 0 ? std::min<int64_t>(in.max_bytes(), *budget) : *budget;
      absl::StatusOr<storage::ReadSlice> slice =
          log->Read(fetch_offset, static_cast<size_t>(cap), log_end, storage::FirstBatch::kAlways);
      if (!slice.ok()) {
        SetError(out->mutable_error(), v1::KAFKA_STORAGE_ERROR,
                 std::string(slice.status().message()));
        *has_news = true;
        return false;
      }
      *budget -= static_cast<int64_t>(slice->bytes.size());
      *has_news = *has_news || !slice->bytes.empty();
      held_back = slice->bytes.empty();
      answer->records.back() = std::move(slice->bytes);
    } else {
      held_back = true;
    }
  }
  // Nothing the follower lacks: a follower of many partitions gets an
  // answer the size of what changed, not of all it follows.
  if (answer->records.back().span().empty() && hw.value() == in.high_watermark()) {
    answer->response.mutable_partitions()->RemoveLast();
    answer->records.pop_back();
  }
  return held_back;
}

void ReplicaManager::Fetch(const v1::FetchRequest& request, Done<FetchAnswer> done) {
  int64_t bytes = 0;
  bool error = false;
  FetchAnswer answer = AnswerFetch(request, &bytes, &error);
  if (error || bytes >= std::max(1, request.min_bytes()) || request.max_wait_ms() <= 0) {
    return Deliver(std::move(answer), done);
  }
  // Short of min_bytes, without an error: every partition is led here.
  std::vector<WatchedPartition> watched;
  for (const v1::FetchRequest::Topic& t : request.topics()) {
    for (const v1::FetchRequest::Partition& in : t.partitions()) {
      std::shared_ptr<Partition> p = Find({t.name(), PartitionId(in.partition())});
      if (p == nullptr) return Deliver(AnswerFetch(request, &bytes, &error), done);  // it just went
      const Epoch epoch = p->state()->leader_epoch;
      watched.push_back({std::move(p), Offset(in.offset()), epoch});
    }
  }
  if (options_.before_parking_fetch) options_.before_parking_fetch();
  auto wait = std::make_shared<ConsumerFetchWait>(
      this, std::move(watched), MonotonicNow() + absl::Milliseconds(request.max_wait_ms()), request,
      std::move(done));
  const std::vector<Purgatory::Key> keys = wait->keys();
  consumer_fetches_.Watch(std::move(wait), keys);
}

void ReplicaManager::Deliver(FetchAnswer answer, Done<FetchAnswer>& done) {
  if (options_.probe != nullptr) {
    size_t i = 0;
    for (const v1::FetchResponse::Topic& t : answer.response.topics()) {
      int64_t bytes = 0, records = 0;
      for (const v1::FetchResponse::Partition& p : t.partitions()) {
        std::span<const uint8_t> rest = answer.records[i++].span();
        bytes += static_cast<int64_t>(rest.size());
        while (!rest.empty()) {
          absl::StatusOr<storage::BatchHeader> h = storage::ParseBatchHeader(rest);
          if (!h.ok() || h->size() > rest.size()) break;
          records += h->record_count;
          rest = rest.subspan(h->size());
        }
        records += p.decoded_size();
        for (const v1::Record& r : p.decoded()) {
          bytes += static_cast<int64_t>(r.key().size() + r.value().size());
        }
      }
      if (bytes > 0) options_.probe->OnFetch(t.name(), bytes, records);
    }
  }
  done(std::move(answer));
}

FetchAnswer ReplicaManager::AnswerFetch(const v1::FetchRequest& request, int64_t* bytes,
                                        bool* error) {
  FetchAnswer answer;
  int64_t budget = request.max_bytes() > 0 ? request.max_bytes() : 50 << 20;
  bool first = true;
  for (const v1::FetchRequest::Topic& t : request.topics()) {
    v1::FetchResponse::Topic* tout = answer.response.add_topics();
    tout->set_name(t.name());
    for (const v1::FetchRequest::Partition& in : t.partitions()) {
      v1::FetchResponse::Partition* out = tout->add_partitions();
      answer.records.emplace_back();
      out->set_partition(in.partition());
      out->set_high_watermark(-1);
      out->set_log_start_offset(-1);
      std::shared_ptr<Partition> partition = LeaderFor(
          t.name(), in.partition(),
          in.has_current_leader_epoch() ? std::optional(in.current_leader_epoch()) : std::nullopt,
          out->mutable_error(), out->mutable_leader());
      if (partition == nullptr) continue;
      storage::PartitionLog* log = partition->log();
      const Offset hw = partition->high_watermark();
      out->set_high_watermark(hw.value());
      out->set_log_start_offset(log->log_start_offset().value());
      const Offset from(in.offset());
      if (from < log->log_start_offset() || from > log->log_end_offset()) {
        SetError(
            out->mutable_error(), v1::OFFSET_OUT_OF_RANGE,
            absl::StrCat("offset ", in.offset(), " is outside [", log->log_start_offset().value(),
                         ", ", log->log_end_offset().value(), "]"));
        continue;
      }
      if (from >= hw || (budget <= 0 && !first)) continue;
      const int64_t cap = in.max_bytes() > 0 ? std::min<int64_t>(in.max_bytes(), budget) : budget;
      absl::StatusOr<storage::ReadSlice> slice =
          log->Read(from, static_cast<size_t>(std::max<int64_t>(cap, 0)), hw,
                    first ? storage::FirstBatch::kAlways : storage::FirstBatch::kIfItFits);
      if (!slice.ok()) {
        SetError(out->mutable_error(),
                 slice.status().code() == absl::StatusCode::kOutOfRange ? v1::OFFSET_OUT_OF_RANGE
                                                                        : v1::KAFKA_STORAGE_ERROR,
                 std::string(slice.status().message()));
        continue;
      }
      budget -= static_cast<int64_t>(slice->bytes.size());
      *bytes += static_cast<int64_t>(slice->bytes.size());
      first = first && slice->bytes.empty();
      if (!request.decoded()) {
        answer.records.back() = std::move(slice->bytes);
        continue;
      }
      std::span<const uint8_t> rest = slice->bytes.span();
      while (!rest.empty()) {
        absl::StatusOr<storage::BatchHeader> h = storage::ParseBatchHeader(rest);
        if (!h.ok()) break;
        absl::Status st =
            storage::ForEachRecord(rest.subspan(0, h->size()), [&](const storage::RecordView& r) {
              if (r.offset < from) return absl::OkStatus();
              v1::Record* rec = out->add_decoded();
              rec->set_offset(r.offset.value());
              rec->set_timestamp_ms(r.timestamp);
              if (r.key.has_value()) rec->set_key(std::string(*r.key));
              if (r.value.has_value()) rec->set_value(std::string(*r.value));
              for (const storage::RecordHeaderView& hv : r.headers) {
                v1::RecordHeader* hd = rec->add_headers();
                hd->set_key(std::string(hv.key));
                if (hv.value.has_value()) hd->set_value(std::string(*hv.value));
              }
              return absl::OkStatus();
            });
        if (!st.ok()) {
          SetError(out->mutable_error(), v1::CORRUPT_MESSAGE, std::string(st.message()));
          break;
        }
        rest = rest.subspan(h->size());
      }
    }
  }
  for (const v1::FetchResponse::Topic& t : answer.response.topics()) {
    for (const v1::FetchResponse::Partition& p : t.partitions()) {
      *error = *error || p.error().code() != v1::NONE;
    }
  }
  return answer;
}

}  // namespace samsa::broker
