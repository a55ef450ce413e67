// ReplicaManager's read paths (replica_manager.h): consumer Fetch with its
// long-poll, ListOffsets, and the leader's side of followers' fetches.
#include <algorithm>

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

void ReplicaManager::ReplicaFetch(const v1::ReplicaFetchRequest& request,
                                  Done<ReplicaFetchAnswer> done) {
  while (true) {
    uint64_t seen;
    {
      absl::MutexLock lock(&mu_);
      seen = appends_;
    }
    bool news = false;
    ReplicaFetchAnswer answer = AnswerReplicaFetch(request, &news);
    ReleaseConsumers();  // high watermarks may have moved
    if (!news && request.max_wait_ms() > 0) {
      if (options_.before_parking_fetch) options_.before_parking_fetch();
      absl::MutexLock lock(&mu_);
      if (appends_ != seen) continue;  // records came since it looked
      if (!stop_) {
        fetch_waiters_.push_back(
            {request, MonotonicNow() + absl::Milliseconds(request.max_wait_ms()), std::move(done)});
        return;
      }
    }
    return done(std::move(answer));
  }
}

void ReplicaManager::ReleaseFetchers(Release which) {
  const bool everyone = which == Release::kEveryone;
  std::vector<FetchWaiter> released;
  {
    absl::MutexLock lock(&mu_);
    if (everyone) ++appends_;
    const absl::Time now = MonotonicNow();
    for (auto it = fetch_waiters_.begin(); it != fetch_waiters_.end();) {
      if (everyone || it->deadline <= now || stop_) {
        released.push_back(std::move(*it));
        it = fetch_waiters_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (FetchWaiter& w : released) {
    bool news = false;
    w.done(AnswerReplicaFetch(w.request, &news));
  }
}

ReplicaFetchAnswer ReplicaManager::AnswerReplicaFetch(const v1::ReplicaFetchRequest& request,
                                                      bool* has_news) {
  ReplicaFetchAnswer answer;
  int64_t budget = request.max_bytes() > 0 ? request.max_bytes() : 8 << 20;
  const absl::Time now = MonotonicNow();
  const NodeId replica(request.replica_id());
  for (const v1::ReplicaFetchRequest::Partition& in : request.partitions()) {
    v1::ReplicaFetchResponse::Partition* out = answer.response.add_partitions();
    answer.records.emplace_back();
    out->set_topic(in.topic());
    out->set_partition(in.partition());
    std::shared_ptr<Partition> partition = Find({in.topic(), PartitionId(in.partition())});
    if (partition == nullptr) {
      SetError(out->mutable_error(), v1::UNKNOWN_TOPIC_OR_PARTITION,
               absl::StrCat("no partition ", in.topic(), "-", in.partition(), " here"));
      *has_news = true;
      continue;
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
      continue;
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
        continue;
      }
    }
    if (fetch_offset < log->log_start_offset() || fetch_offset > log->log_end_offset()) {
      SetError(
          out->mutable_error(), v1::OFFSET_OUT_OF_RANGE,
          absl::StrCat("offset ", in.fetch_offset(), " is outside [",
                       log->log_start_offset().value(), ", ", log->log_end_offset().value(), "]"));
      *has_news = true;
      continue;
    }
    const Offset acked =
        s.flush_always ? std::min(fetch_offset, Offset(in.durable_offset())) : fetch_offset;
    partition->OnFollowerFetch(replica, fetch_offset, acked, now);
    acks_all_.Check(partition.get());  // the high watermark may have moved
    const Offset hw = partition->high_watermark();
    out->set_high_watermark(hw.value());
    if (fetch_offset < log->log_end_offset() && budget > 0) {
      const int64_t cap = in.max_bytes() > 0 ? std::min<int64_t>(in.max_bytes(), budget) : budget;
      absl::StatusOr<storage::ReadSlice> slice =
          log->Read(fetch_offset, static_cast<size_t>(cap), log->log_end_offset(),
                    storage::FirstBatch::kAlways);
      if (!slice.ok()) {
        SetError(out->mutable_error(), v1::KAFKA_STORAGE_ERROR,
                 std::string(slice.status().message()));
        *has_news = true;
        continue;
      }
      budget -= static_cast<int64_t>(slice->bytes.size());
      *has_news = *has_news || !slice->bytes.empty();
      answer.records.back() = std::move(slice->bytes);
    }
    // Nothing the follower lacks: a follower of many partitions gets an
    // answer the size of what changed, not of all it follows.
    if (answer.records.back().span().empty() && hw.value() == in.high_watermark()) {
      answer.response.mutable_partitions()->RemoveLast();
      answer.records.pop_back();
    }
  }
  return answer;
}

void ReplicaManager::Fetch(const v1::FetchRequest& request, Done<FetchAnswer> done) {
  while (true) {
    uint64_t seen;
    {
      absl::MutexLock lock(&mu_);
      seen = advances_;
    }
    int64_t bytes = 0;
    bool error = false;
    FetchAnswer answer = AnswerFetch(request, &bytes, &error);
    if (!error && bytes < std::max(1, request.min_bytes()) && request.max_wait_ms() > 0) {
      if (options_.before_parking_fetch) options_.before_parking_fetch();
      absl::MutexLock lock(&mu_);
      if (advances_ != seen) continue;  // a high watermark may have moved since it looked
      if (!stop_) {
        consumer_waiters_.push_back(
            {request, MonotonicNow() + absl::Milliseconds(request.max_wait_ms()), std::move(done)});
        return;
      }
    }
    return Deliver(std::move(answer), done);
  }
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

void ReplicaManager::ReleaseConsumers() {
  std::vector<ConsumerWaiter> waiting;
  uint64_t seen;
  {
    absl::MutexLock lock(&mu_);
    seen = ++advances_;
    if (consumer_waiters_.empty()) return;
    waiting.swap(consumer_waiters_);
  }
  while (true) {
    const absl::Time now = MonotonicNow();
    std::vector<ConsumerWaiter> still;
    for (ConsumerWaiter& w : waiting) {
      int64_t bytes = 0;
      bool error = false;
      FetchAnswer r = AnswerFetch(w.request, &bytes, &error);
      if (error || bytes >= std::max(1, w.request.min_bytes()) || w.deadline <= now) {
        Deliver(std::move(r), w.done);
      } else {
        still.push_back(std::move(w));
      }
    }
    waiting = std::move(still);
    absl::MutexLock lock(&mu_);
    if (stop_) break;
    // Another release that ran meanwhile did not see these: look again.
    if (advances_ != seen && !waiting.empty()) {
      seen = advances_;
      continue;
    }
    for (ConsumerWaiter& w : waiting) consumer_waiters_.push_back(std::move(w));
    return;
  }
  for (ConsumerWaiter& w : waiting) {  // shutting down: answer with what there is
    int64_t bytes = 0;
    bool error = false;
    Deliver(AnswerFetch(w.request, &bytes, &error), w.done);
  }
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
