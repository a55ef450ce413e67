#include "client/producer.h"

#include <algorithm>
#include <deque>
#include <map>
#include <thread>

#include "absl/container/btree_set.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/errors.h"
#include "client/metadata.h"
#include "common/await.h"
#include "common/clock.h"
#include "common/endian.h"
#include "common/murmur2.h"
#include "storage/batch_builder.h"

namespace samsa::client {
namespace {

using PartitionKey = std::pair<std::string, int32_t>;

// A record's share of buffer.memory and of its batch: its bytes plus the
// per-record framing a batch adds (at most this much).
int64_t RecordBytes(const ProducerRecord& r) {
  int64_t n =
      21 + static_cast<int64_t>((r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0));
  for (const auto& [k, v] : r.headers)
    n += 10 + static_cast<int64_t>(k.size() + (v ? v->size() : 0));
  return n;
}

// Writes producer id, epoch and base sequence into an encoded batch and
// recomputes its CRC (which covers them).
void StampProducer(std::string& batch, int64_t producer_id, int16_t epoch, int32_t sequence) {
  auto* p = reinterpret_cast<uint8_t*>(batch.data());
  StoreBE(p + storage::kProducerIdPos, producer_id);
  StoreBE(p + storage::kProducerEpochPos, epoch);
  StoreBE(p + storage::kBaseSequencePos, sequence);
  storage::UpdateBatchCrc({p, batch.size()});
}

}  // namespace

class Producer::Impl {
 public:
  Impl(ProducerConfig config, std::shared_ptr<Transport> transport,
       std::vector<std::string> bootstrap)
      : config_(std::move(config)),
        transport_(std::move(transport)),
        metadata_(transport_.get(), std::move(bootstrap)) {}

  ~Impl() { (void)Close(absl::Minutes(1)); }

  absl::Status Start() {
    if (config_.idempotence) {
      absl::StatusOr<v1::InitProducerIdResponse> id = InitProducerId();
      if (!id.ok()) return id.status();
      producer_id_ = id->producer_id();
      base_epoch_ = static_cast<int16_t>(id->producer_epoch());
    }
    sender_ = std::thread([this] { SenderLoop(); });
    return absl::OkStatus();
  }

  void Send(ProducerRecord record, DeliveryCallback done);
  absl::Status Flush(absl::Duration timeout);
  absl::Status Close(absl::Duration timeout);

 private:
  enum class State { kOpen, kReady, kInFlight, kRetry, kDone };

  struct Batch {
    uint64_t id = 0;
    PartitionKey tp;
    storage::BatchBuilder builder;
    std::string encoded;
    std::vector<DeliveryCallback> callbacks;
    std::vector<int64_t> timestamps;
    int64_t bytes = 0;
    absl::Time created;
    absl::Time deadline;
    State state = State::kOpen;
    int32_t base_sequence = -1;  // -1: none yet (or not idempotent)
    absl::Time retry_at = absl::InfinitePast();
    bool sent_behind = false;  // others of its partition were in flight when it was sent
    absl::Status result;       // kDone: OK or why it failed
    int64_t base_offset = -1;
    int64_t append_time = -1;
  };

  struct PartitionQueue {
    std::deque<std::unique_ptr<Batch>> batches;  // in sequence order
    int in_flight = 0;
    int16_t epoch = 0;
    int32_t next_sequence = 0;
    bool needs_new_epoch = false;  // a sequenced batch failed for good
  };

  // A batch handed to the transport, with where its answer belongs.
  struct Sent {
    Batch* batch;
    PartitionQueue* queue;
  };

  absl::StatusOr<v1::InitProducerIdResponse> InitProducerId();
  // How many partitions `record`'s topic has, or why it has none: its
  // metadata is fetched when unknown, unless the producer is closed.
  absl::StatusOr<int32_t> PartitionCount(const ProducerRecord& record);
  // The partition for `record` of a topic with `count` partitions.
  int32_t ChoosePartition(const ProducerRecord& record, int32_t count)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The queue of a partition (the last one used is remembered: one
  // producer mostly sends to one partition at a time).
  PartitionQueue& QueueFor(const std::string& topic, int32_t partition)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SenderLoop();
  // Picks the batches to send now, per broker address; marks them in flight.
  std::map<std::string, std::vector<std::vector<Sent>>> Drain(absl::Time now, bool* need_metadata)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Encodes an open batch: assigns its sequence, builds the bytes.
  absl::Status Seal(PartitionQueue& q, Batch& b) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SendRequest(const std::string& address, std::vector<Sent> batches);
  void OnResponse(const std::vector<Sent>& batches, const absl::StatusOr<v1::ProduceResponse>& r);
  // Applies one batch's outcome.
  void Settle(PartitionQueue& q, Batch& b, const absl::Status& error, bool retriable,
              absl::Time now, bool* need_metadata) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Fails batches that waited past their delivery timeout.
  void ExpireLocked(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Moves finished batches off the front of `q` into `finished_`.
  void PopFinished(PartitionQueue& q) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunCompletions();
  // The sender has work.
  void Wake() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    wake_ = true;
    changed_.Notify();
  }
  // The window: a batch of `q` is sent only within this many batches of
  // the oldest unanswered one (finished batches wait behind it). The broker
  // keeps a producer's last five batches; were a newer one sent while an
  // older one is unanswered, a retry of the older could fall out of that
  // window and no longer be recognized as written. While a batch is being
  // retried, one batch at a time, in order.
  int Window(const PartitionQueue& q) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time NextWake(absl::Time now) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Why the buffer does not drain, when a batch's retries say (else "").
  std::string StuckBecause() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ProducerConfig config_;
  const std::shared_ptr<Transport> transport_;
  Metadata metadata_;
  int64_t producer_id_ = storage::kNoProducerId;
  int16_t base_epoch_ = 0;
  std::thread sender_;

  absl::Mutex mu_;
  // Every wait here (the sender's, Send's for buffer room, Flush's, Close's)
  // is timed on the monotonic clock, so a stepped wall clock neither holds
  // a batch past its linger nor expires it early; whoever changes what they
  // wait for (wake_, stop_, closed_, buffered_, incomplete_,
  // outstanding_rpcs_) calls changed_.Notify().
  Wakeup changed_;
  // node_hash_map: requests in flight point at their queue.
  absl::node_hash_map<PartitionKey, PartitionQueue> queues_ ABSL_GUARDED_BY(mu_);
  const PartitionKey* last_key_ ABSL_GUARDED_BY(mu_) = nullptr;  // QueueFor's
  PartitionQueue* last_queue_ ABSL_GUARDED_BY(mu_) = nullptr;
  absl::flat_hash_map<std::string, int32_t> sticky_ ABSL_GUARDED_BY(mu_);
  // Ids of batches whose callbacks have not all run (Flush waits on them).
  absl::btree_set<uint64_t> incomplete_ ABSL_GUARDED_BY(mu_);
  uint64_t next_batch_id_ ABSL_GUARDED_BY(mu_) = 1;
  int64_t buffered_ ABSL_GUARDED_BY(mu_) = 0;
  int flushing_ ABSL_GUARDED_BY(mu_) = 0;
  bool need_metadata_ ABSL_GUARDED_BY(mu_) = false;
  bool wake_ ABSL_GUARDED_BY(mu_) = false;  // the sender has work (set with Wake)
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int outstanding_rpcs_ ABSL_GUARDED_BY(mu_) = 0;
  // Batches whose callbacks are to run (outside mu_, in RunCompletions).
  std::vector<std::unique_ptr<Batch>> finished_ ABSL_GUARDED_BY(mu_);
  absl::Mutex completion_mu_;  // callbacks run one batch after another
  absl::BitGen rng_ ABSL_GUARDED_BY(mu_);
};

absl::StatusOr<v1::InitProducerIdResponse> Producer::Impl::InitProducerId() {
  const absl::Time deadline = MonotonicNow() + config_.max_block;
  absl::Status last = absl::UnavailableError("no broker answered");
  while (MonotonicNow() < deadline) {
    absl::StatusOr<v1::InitProducerIdResponse> r =
        AwaitCallback<absl::StatusOr<v1::InitProducerIdResponse>>(
            [&](auto reply) {
              transport_->InitProducerId(
                  metadata_.AnyBroker(), {},
                  std::min(config_.request_timeout, deadline - MonotonicNow()), std::move(reply));
            },
            config_.request_timeout + absl::Seconds(5));
    if (r.ok() && r->error().code() == v1::NONE) return r;
    last = r.ok() ? KafkaError(r->error()) : r.status();
    absl::SleepFor(config_.retry_backoff);
  }
  return absl::Status(last.code(), absl::StrCat("no producer id: ", last.message()));
}

absl::StatusOr<int32_t> Producer::Impl::PartitionCount(const ProducerRecord& record) {
  absl::StatusOr<int32_t> count = metadata_.PartitionCount(record.topic);
  if (absl::IsNotFound(count.status()) && !KafkaCodeOf(count.status()).has_value()) {
    {
      absl::MutexLock lock(&mu_);
      if (closed_) return absl::FailedPreconditionError("the producer is closed");
    }
    if (absl::Status st = metadata_.Refresh({record.topic}, config_.max_block); !st.ok()) {
      return st;
    }
    count = metadata_.PartitionCount(record.topic);
  }
  if (!count.ok()) return count.status();
  if (record.partition.has_value() && (*record.partition < 0 || *record.partition >= *count)) {
    return KafkaError(
        v1::UNKNOWN_TOPIC_OR_PARTITION,
        absl::StrCat(record.topic, " has ", *count, " partitions, not ", *record.partition + 1));
  }
  return count;
}

int32_t Producer::Impl::ChoosePartition(const ProducerRecord& record, int32_t count) {
  if (record.partition.has_value()) return *record.partition;
  if (record.key.has_value()) return PartitionForKey(*record.key, count);
  auto it = sticky_.find(record.topic);
  if (it == sticky_.end() || it->second >= count) {
    it = sticky_.insert_or_assign(record.topic, absl::Uniform<int32_t>(rng_, 0, count)).first;
  }
  return it->second;
}

Producer::Impl::PartitionQueue& Producer::Impl::QueueFor(const std::string& topic,
                                                         int32_t partition) {
  if (last_key_ == nullptr || last_key_->second != partition || last_key_->first != topic) {
    auto it = queues_.try_emplace(PartitionKey(topic, partition)).first;
    last_key_ = &it->first;
    last_queue_ = &it->second;
  }
  return *last_queue_;
}

void Producer::Impl::Send(ProducerRecord record, DeliveryCallback done) {
  const int64_t bytes = RecordBytes(record);
  if (bytes > config_.max_request_size) {
    done(KafkaError(v1::MESSAGE_TOO_LARGE,
                    absl::StrCat("a record of about ", bytes, " bytes is over max.request.size ",
                                 config_.max_request_size)));
    return;
  }
  absl::StatusOr<int32_t> count = PartitionCount(record);
  if (!count.ok()) {
    done(count.status());
    return;
  }
  const int64_t ts =
      record.timestamp_ms >= 0 ? record.timestamp_ms : absl::ToUnixMillis(absl::Now());
  mu_.Lock();
  auto room = [this, bytes]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return closed_ || buffered_ == 0 || buffered_ + bytes <= config_.buffer_memory;
  };
  if ((!room() && !changed_.Wait(mu_, room, config_.max_block)) || closed_) {
    const bool closed = closed_;
    const std::string why = closed ? "" : StuckBecause();
    mu_.Unlock();
    done(closed ? absl::FailedPreconditionError("the producer is closed")
                : absl::ResourceExhaustedError(absl::StrCat(
                      "buffer.memory (", config_.buffer_memory, " bytes) stayed full for ",
                      absl::FormatDuration(config_.max_block), why)));
    return;
  }
  const int32_t partition = ChoosePartition(record, *count);
  PartitionQueue& q = QueueFor(record.topic, partition);
  Batch* b = q.batches.empty() ? nullptr : q.batches.back().get();
  if (b == nullptr || b->state != State::kOpen ||
      (b->bytes > 0 && b->bytes + bytes > config_.batch_size)) {
    if (b != nullptr && b->state == State::kOpen) Wake();  // a full batch to send
    auto fresh = std::make_unique<Batch>();
    fresh->id = next_batch_id_++;
    fresh->tp = PartitionKey(record.topic, partition);
    fresh->builder = storage::BatchBuilder(
        {.compression = config_.compression,
         .expected_bytes = static_cast<size_t>(std::max(config_.batch_size, 0))});
    fresh->created = MonotonicNow();
    fresh->deadline = fresh->created + config_.delivery_timeout;
    // The sender may be asleep until a later deadline: it must be up by
    // this batch's linger.
    Wake();
    incomplete_.insert(fresh->id);
    b = fresh.get();
    q.batches.push_back(std::move(fresh));
  }
  std::vector<storage::RecordHeaderView> headers;
  for (const auto& [k, v] : record.headers) {
    headers.push_back({k, v.has_value() ? std::optional<std::string_view>(*v) : std::nullopt});
  }
  auto view = [](const std::optional<std::string>& s) {
    return s.has_value() ? std::optional<std::string_view>(*s) : std::nullopt;
  };
  b->builder.Append(ts, view(record.key), view(record.value), headers);
  b->callbacks.push_back(std::move(done));
  b->timestamps.push_back(ts);
  b->bytes += bytes;
  buffered_ += bytes;
  if (b->bytes >= config_.batch_size) Wake();
  mu_.Unlock();
}

std::string Producer::Impl::StuckBecause() const {
  for (const auto& [tp, q] : queues_) {
    for (const auto& b : q.batches) {
      if (b->state != State::kDone && !b->result.ok()) {  // failed before, sent again or not yet
        return absl::StrCat("; batches are being retried, ", tp.first, "-", tp.second,
                            "'s last error: ", b->result.message());
      }
    }
  }
  return "";
}

absl::Status Producer::Impl::Seal(PartitionQueue& q, Batch& b) {
  absl::StatusOr<std::string> encoded = b.builder.Build();
  if (!encoded.ok()) return encoded.status();
  b.encoded = std::move(*encoded);
  if (config_.idempotence) {
    b.base_sequence = q.next_sequence;
    q.next_sequence += static_cast<int32_t>(b.callbacks.size());
    StampProducer(b.encoded, producer_id_, static_cast<int16_t>(base_epoch_ + q.epoch),
                  b.base_sequence);
  }
  b.state = State::kReady;
  // The sticky partition moves on once its batch is on its way.
  auto it = sticky_.find(b.tp.first);
  if (it != sticky_.end() && it->second == b.tp.second) sticky_.erase(it);
  return absl::OkStatus();
}

std::map<std::string, std::vector<std::vector<Producer::Impl::Sent>>> Producer::Impl::Drain(
    absl::Time now, bool* need_metadata) {
  std::map<std::string, std::vector<std::vector<Sent>>> out;
  for (auto& [tp, q] : queues_) {
    if (q.needs_new_epoch && q.in_flight == 0) {
      // What the failed batch's sequences meant is unknown to us; a new
      // epoch restarts them at 0 for everything still to be sent.
      q.needs_new_epoch = false;
      ++q.epoch;
      q.next_sequence = 0;
      for (auto& b : q.batches) {
        if (b->state != State::kReady && b->state != State::kRetry) continue;
        b->base_sequence = q.next_sequence;
        q.next_sequence += static_cast<int32_t>(b->callbacks.size());
        StampProducer(b->encoded, producer_id_, static_cast<int16_t>(base_epoch_ + q.epoch),
                      b->base_sequence);
      }
    }
    if (q.batches.empty()) continue;
    const int limit = Window(q);
    std::optional<LeaderInfo> leader;
    int index = 0;
    int position = -1;
    for (auto& bp : q.batches) {
      Batch& b = *bp;
      ++position;
      if (b.state == State::kInFlight || b.state == State::kDone) continue;
      if (position >= limit || q.needs_new_epoch) break;
      if (b.state == State::kRetry && b.retry_at > now) break;
      if (b.state == State::kOpen) {
        const bool ready = b.bytes >= config_.batch_size || now - b.created >= config_.linger ||
                           flushing_ > 0 || closed_ || &bp != &q.batches.back();
        if (!ready) break;
        if (absl::Status st = Seal(q, b); !st.ok()) {
          b.state = State::kDone;
          b.result = st;
          continue;
        }
      }
      if (!leader.has_value()) {
        leader = metadata_.Leader(tp.first, tp.second);
        if (!leader.has_value()) {
          *need_metadata = true;
          break;
        }
      }
      std::vector<std::vector<Sent>>& requests = out[leader->address];
      if (requests.size() <= static_cast<size_t>(index)) requests.resize(index + 1);
      requests[index++].push_back({&b, &q});
      b.sent_behind = q.in_flight > 0;
      b.state = State::kInFlight;
      ++q.in_flight;
    }
  }
  return out;
}

void Producer::Impl::SendRequest(const std::string& address, std::vector<Sent> batches) {
  v1::ProduceRequest req;
  req.set_acks(config_.acks);
  req.set_timeout_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(config_.request_timeout)));
  absl::flat_hash_map<std::string, v1::ProduceRequest::Topic*> topics;
  for (const Sent& s : batches) {
    v1::ProduceRequest::Topic*& t = topics[s.batch->tp.first];
    if (t == nullptr) {
      t = req.add_topics();
      t->set_name(s.batch->tp.first);
    }
    v1::ProduceRequest::Partition* p = t->add_partitions();
    p->set_partition(s.batch->tp.second);
    p->set_records(s.batch->encoded);
  }
  transport_->Produce(address, std::move(req), config_.request_timeout + absl::Seconds(5),
                      [this, batches = std::move(batches)](absl::StatusOr<v1::ProduceResponse> r) {
                        OnResponse(batches, r);
                      });
}

void Producer::Impl::OnResponse(const std::vector<Sent>& batches,
                                const absl::StatusOr<v1::ProduceResponse>& r) {
  {
    absl::MutexLock lock(&mu_);
    const absl::Time now = MonotonicNow();
    bool need_metadata = false;
    for (const Sent& s : batches) {
      --s.queue->in_flight;
      if (!r.ok()) {
        // No answer: the batch may or may not be written; resending it is
        // safe with idempotence (a duplicate is recognized).
        Settle(*s.queue, *s.batch, r.status(), true, now, &need_metadata);
        continue;
      }
      const v1::ProduceResponse::Partition* found = nullptr;
      for (const v1::ProduceResponse::Topic& t : r->topics()) {
        if (t.name() != s.batch->tp.first) continue;
        for (const v1::ProduceResponse::Partition& p : t.partitions()) {
          if (p.partition() == s.batch->tp.second) found = &p;
        }
      }
      if (found == nullptr) {
        Settle(*s.queue, *s.batch,
               absl::InternalError("the broker did not answer for the partition"), true, now,
               &need_metadata);
        continue;
      }
      const v1::ErrorCode code = found->error().code();
      if (code == v1::NONE) {
        s.batch->state = State::kDone;
        s.batch->result = absl::OkStatus();
        s.batch->base_offset = found->base_offset();
        s.batch->append_time = found->log_append_time_ms();
        continue;
      }
      // OUT_OF_ORDER_SEQUENCE_NUMBER: an earlier batch is being retried.
      const bool retriable =
          IsRetriable(code) || (config_.idempotence && code == v1::OUT_OF_ORDER_SEQUENCE_NUMBER);
      Settle(*s.queue, *s.batch, KafkaError(found->error()), retriable, now, &need_metadata);
    }
    for (const Sent& s : batches) PopFinished(*s.queue);
    need_metadata_ = need_metadata_ || need_metadata;
    Wake();  // and whoever waits for buffer room
  }
  RunCompletions();
  // Only now is this answer done with the producer: Close, waiting for
  // none to be outstanding, may free it as soon as the lock is released.
  absl::MutexLock lock(&mu_);
  --outstanding_rpcs_;
  changed_.Notify();
}

void Producer::Impl::Settle(PartitionQueue& q, Batch& b, const absl::Status& error, bool retriable,
                            absl::Time now, bool* need_metadata) {
  const std::optional<v1::ErrorCode> code = KafkaCodeOf(error);
  if (!code.has_value() || *code == v1::NOT_LEADER_OR_FOLLOWER ||
      *code == v1::UNKNOWN_TOPIC_OR_PARTITION || *code == v1::LEADER_NOT_AVAILABLE ||
      *code == v1::FENCED_LEADER_EPOCH) {
    *need_metadata = true;
  }
  if (retriable && now < b.deadline) {
    // Requests in flight together can reach the broker in another order
    // (gRPC does not keep the order of calls): a batch sent behind others
    // and refused as out of order goes again as soon as those are answered
    // (Drain keeps a retry behind them), without waiting out a backoff.
    b.state = State::kRetry;
    b.retry_at = code == v1::OUT_OF_ORDER_SEQUENCE_NUMBER && b.sent_behind
                     ? now
                     : now + config_.retry_backoff;
    b.result = error;
    return;
  }
  b.state = State::kDone;
  b.result =
      retriable
          ? absl::DeadlineExceededError(absl::StrCat("not delivered within delivery.timeout.ms (",
                                                     absl::FormatDuration(config_.delivery_timeout),
                                                     "); last error: ", error.message()))
          : error;
  if (config_.idempotence) q.needs_new_epoch = true;
}

void Producer::Impl::ExpireLocked(absl::Time now) {
  for (auto& [tp, q] : queues_) {
    for (auto& b : q.batches) {
      if (b->state == State::kInFlight || b->state == State::kDone) continue;
      if (now < b->deadline) break;  // deadlines follow creation order
      const bool sequenced = b->base_sequence >= 0;
      b->state = State::kDone;
      b->result = absl::DeadlineExceededError(
          absl::StrCat("not delivered within delivery.timeout.ms (",
                       absl::FormatDuration(config_.delivery_timeout), ")",
                       b->result.ok() ? "" : absl::StrCat("; last error: ", b->result.message())));
      if (config_.idempotence && sequenced) q.needs_new_epoch = true;
    }
    PopFinished(q);
  }
}

void Producer::Impl::PopFinished(PartitionQueue& q) {
  while (!q.batches.empty() && q.batches.front()->state == State::kDone) {
    buffered_ -= q.batches.front()->bytes;
    finished_.push_back(std::move(q.batches.front()));
    q.batches.pop_front();
  }
}

void Producer::Impl::RunCompletions() {
  absl::MutexLock order(&completion_mu_);
  std::vector<std::unique_ptr<Batch>> run;
  {
    absl::MutexLock lock(&mu_);
    run.swap(finished_);
  }
  for (const std::unique_ptr<Batch>& b : run) {
    for (size_t i = 0; i < b->callbacks.size(); ++i) {
      if (!b->result.ok()) {
        b->callbacks[i](b->result);
        continue;
      }
      RecordMetadata m;
      m.topic = b->tp.first;
      m.partition = b->tp.second;
      m.offset = b->base_offset < 0 ? -1 : b->base_offset + static_cast<int64_t>(i);
      m.timestamp_ms = b->append_time >= 0 ? b->append_time : b->timestamps[i];
      b->callbacks[i](std::move(m));
    }
  }
  // Only now are these batches complete for Flush: their callbacks ran.
  absl::MutexLock lock(&mu_);
  for (const std::unique_ptr<Batch>& b : run) incomplete_.erase(b->id);
  changed_.Notify();
}

int Producer::Impl::Window(const PartitionQueue& q) const {
  if (!config_.idempotence) return config_.max_in_flight;
  for (const auto& b : q.batches) {
    if (b->state == State::kRetry) return 1;
  }
  return config_.max_in_flight;
}

absl::Time Producer::Impl::NextWake(absl::Time now) const {
  absl::Time wake = now + absl::Milliseconds(100);
  for (const auto& [tp, q] : queues_) {
    // Deadlines follow creation order, and Drain sends from the front: only
    // the first batch not yet on its way matters, for its delivery
    // deadline and, inside the window, its linger or retry backoff (a
    // batch beyond the window waits for an answer, which wakes the sender).
    const int limit = Window(q);
    int position = -1;
    for (const auto& b : q.batches) {
      ++position;
      if (b->state == State::kInFlight || b->state == State::kDone) continue;
      wake = std::min(wake, b->deadline);
      if (position >= limit || q.needs_new_epoch) break;
      if (b->state == State::kRetry) wake = std::min(wake, b->retry_at);
      if (b->state == State::kOpen) wake = std::min(wake, b->created + config_.linger);
      break;
    }
  }
  // What is due but cannot go yet (no leader known) is not polled for in a
  // tight loop: answers and metadata wake the sender themselves.
  return std::max(wake, now + absl::Milliseconds(1));
}

void Producer::Impl::SenderLoop() {
  absl::Time last_refresh = absl::InfinitePast();
  while (true) {
    std::map<std::string, std::vector<std::vector<Sent>>> requests;
    bool refresh = false;
    {
      absl::MutexLock lock(&mu_);
      const absl::Time wake = NextWake(MonotonicNow());
      changed_.WaitUntil(
          mu_, [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return wake_ || stop_; }, wake);
      wake_ = false;
      if (stop_) return;
      const absl::Time now = MonotonicNow();
      ExpireLocked(now);
      changed_.Notify();  // expired batches freed buffer room
      bool need_metadata = need_metadata_;
      requests = Drain(now, &need_metadata);
      refresh = need_metadata && now - last_refresh >= config_.retry_backoff;
      need_metadata_ = need_metadata && !refresh;
      for (const auto& [address, list] : requests) {
        outstanding_rpcs_ += static_cast<int>(list.size());
      }
    }
    RunCompletions();
    for (auto& [address, list] : requests) {
      for (std::vector<Sent>& batches : list) SendRequest(address, std::move(batches));
    }
    if (refresh) {
      last_refresh = MonotonicNow();
      (void)metadata_.Refresh({}, std::min(config_.request_timeout, absl::Seconds(5)));
      absl::MutexLock lock(&mu_);
      Wake();
    }
  }
}

absl::Status Producer::Impl::Flush(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  const uint64_t marker = next_batch_id_;
  ++flushing_;
  Wake();
  auto flushed = [this, marker]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return incomplete_.empty() || *incomplete_.begin() >= marker;
  };
  const bool ok = changed_.Wait(mu_, flushed, timeout);
  --flushing_;
  if (ok) return absl::OkStatus();
  int states[5] = {};
  for (const auto& [tp, q] : queues_) {
    for (const auto& b : q.batches) ++states[static_cast<int>(b->state)];
  }
  return absl::DeadlineExceededError(
      absl::StrCat(incomplete_.size(), " batches unanswered after ", absl::FormatDuration(timeout),
                   " (", states[static_cast<int>(State::kInFlight)], " sent, ",
                   states[static_cast<int>(State::kRetry)], " to be retried, ",
                   states[static_cast<int>(State::kOpen)] + states[static_cast<int>(State::kReady)],
                   " not sent yet)"));
}

absl::Status Producer::Impl::Close(absl::Duration timeout) {
  {
    absl::MutexLock lock(&mu_);
    if (closed_ && stop_) return absl::OkStatus();
    closed_ = true;
    changed_.Notify();  // a Send waiting for buffer room fails now
  }
  const absl::Time deadline = MonotonicNow() + timeout;
  absl::Status flushed = Flush(timeout);
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
    changed_.Notify();
  }
  if (sender_.joinable()) sender_.join();
  {
    // Answers to requests in flight still arrive here: wait for them (each
    // has a deadline), then fail what is left.
    absl::MutexLock lock(&mu_);
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return outstanding_rpcs_ == 0; };
    changed_.WaitUntil(
        mu_, idle, std::max(deadline, MonotonicNow() + config_.request_timeout + absl::Seconds(6)));
    for (auto& [tp, q] : queues_) {
      for (auto& b : q.batches) {
        if (b->state == State::kDone) continue;
        b->state = State::kDone;
        b->result = absl::FailedPreconditionError("the producer closed before delivering it");
      }
      PopFinished(q);
    }
  }
  RunCompletions();
  return flushed;
}

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(ProducerConfig config,
                                                           std::shared_ptr<Transport> transport) {
  if (config.acks != -1 && config.acks != 0 && config.acks != 1) {
    return absl::InvalidArgumentError(absl::StrCat("acks ", config.acks, ": -1 (all), 0 or 1"));
  }
  if (config.idempotence && (config.acks != -1 || config.max_in_flight > 5)) {
    return absl::InvalidArgumentError(
        "idempotence needs acks=all and at most 5 batches in flight per partition");
  }
  if (config.max_in_flight < 1 || config.batch_size < 1 || config.buffer_memory < 1) {
    return absl::InvalidArgumentError(
        "max_in_flight, batch_size and buffer_memory must be positive");
  }
  absl::StatusOr<std::vector<std::string>> bootstrap = ParseBootstrap(config.bootstrap);
  if (!bootstrap.ok()) return bootstrap.status();
  if (transport == nullptr) transport = std::make_shared<GrpcTransport>();
  auto impl =
      std::make_unique<Impl>(std::move(config), std::move(transport), *std::move(bootstrap));
  if (absl::Status st = impl->Start(); !st.ok()) return st;
  return std::unique_ptr<Producer>(new Producer(std::move(impl)));
}

Producer::Producer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Producer::~Producer() = default;

void Producer::Send(ProducerRecord record, DeliveryCallback done) {
  impl_->Send(std::move(record), std::move(done));
}

std::future<absl::StatusOr<RecordMetadata>> Producer::Send(ProducerRecord record) {
  auto promise = std::make_shared<std::promise<absl::StatusOr<RecordMetadata>>>();
  std::future<absl::StatusOr<RecordMetadata>> f = promise->get_future();
  impl_->Send(std::move(record),
              [promise](absl::StatusOr<RecordMetadata> m) { promise->set_value(std::move(m)); });
  return f;
}

absl::Status Producer::Flush(absl::Duration timeout) { return impl_->Flush(timeout); }
absl::Status Producer::Close(absl::Duration timeout) { return impl_->Close(timeout); }

}  // namespace samsa::client
