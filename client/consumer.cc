#include "client/consumer.h"

#include <algorithm>
#include <deque>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "client/errors.h"
#include "client/group_member.h"
#include "client/metadata.h"
#include "common/await.h"
#include "common/clock.h"
#include "storage/record_reader.h"

namespace samsa::client {
namespace {

// What a buffered record counts against max_partition_fetch_bytes.
int64_t PayloadBytes(const ConsumerRecord& r) {
  return static_cast<int64_t>((r.key ? r.key->size() : 0) + (r.value ? r.value->size() : 0));
}

}  // namespace

Consumer::Consumer(ConsumerConfig config, std::shared_ptr<Transport> transport,
                   GrpcTransport* own_transport, std::vector<std::string> bootstrap)
    : config_(std::move(config)),
      transport_(std::move(transport)),
      own_transport_(own_transport),
      metadata_(transport_.get(), std::move(bootstrap)) {
  if (!config_.group_id.empty()) {
    group_ = std::make_unique<GroupMember>(
        &config_, transport_.get(), &metadata_,
        GroupMember::Host{
            .positions =
                [this](const std::vector<TopicPartition>& tps) { return PositionsOf(tps); },
            .assign = [this](std::vector<TopicPartition> tps) { Assign(std::move(tps)); },
            .seek = [this](const TopicPartition& tp, int64_t offset) { (void)Seek(tp, offset); },
            .changed =
                [this] {
                  NotifyingLock lock(&mu_, &changed_);
                  group_changed_ = true;
                }});
  }
  thread_ = std::thread([this] { Loop(); });
}

Consumer::~Consumer() { Close(); }

void Consumer::Assign(std::vector<TopicPartition> partitions) {
  NotifyingLock lock(&mu_, &changed_);
  std::map<TopicPartition, Partition> next;
  for (TopicPartition& tp : partitions) {
    auto it = parts_.find(tp);
    if (it != parts_.end()) {
      next.emplace(tp, std::move(it->second));
    } else {
      next.emplace(std::move(tp), Partition{});
    }
  }
  parts_ = std::move(next);
  need_metadata_ = true;
  wake_ = true;
}

std::vector<TopicPartition> Consumer::assignment() const {
  absl::MutexLock lock(&mu_);
  std::vector<TopicPartition> out;
  for (const auto& [tp, p] : parts_) out.push_back(tp);
  return out;
}

absl::Status Consumer::Seek(const TopicPartition& tp, int64_t offset) {
  if (offset < 0) return absl::InvalidArgumentError(absl::StrCat("offset ", offset, " < 0"));
  NotifyingLock lock(&mu_, &changed_);
  auto it = parts_.find(tp);
  if (it == parts_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat(tp.topic, "-", tp.partition, " is not assigned"));
  }
  Partition& p = it->second;
  p.position = offset;
  p.fetch_offset = offset;
  ++p.epoch;
  p.buffer.clear();
  p.buffered_bytes = 0;
  p.retry_at = absl::InfinitePast();
  wake_ = true;
  return absl::OkStatus();
}

absl::StatusOr<int64_t> Consumer::Position(const TopicPartition& tp, absl::Duration timeout) {
  NotifyingLock lock(&mu_, &changed_);
  auto known = [this, &tp]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    auto it = parts_.find(tp);
    return it == parts_.end() || it->second.position.has_value() || !errors_.empty();
  };
  changed_.Wait(mu_, known, timeout);
  auto it = parts_.find(tp);
  if (it == parts_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat(tp.topic, "-", tp.partition, " is not assigned"));
  }
  if (it->second.position.has_value()) return *it->second.position;
  if (!errors_.empty()) return errors_.front();
  return absl::DeadlineExceededError(absl::StrCat("no position for ", tp.topic, "-", tp.partition,
                                                  " within ", absl::FormatDuration(timeout)));
}

void Consumer::StartListOffset(const TopicPartition& tp, bool earliest,
                               absl::AnyInvocable<void(absl::StatusOr<int64_t>)> done) {
  std::optional<LeaderInfo> leader = metadata_.Leader(tp.topic, tp.partition);
  if (!leader.has_value()) {
    done(KafkaError(v1::LEADER_NOT_AVAILABLE,
                    absl::StrCat("no known leader for ", tp.topic, "-", tp.partition)));
    return;
  }
  v1::ListOffsetsRequest req;
  v1::ListOffsetsRequest::Topic* t = req.add_topics();
  t->set_name(tp.topic);
  v1::ListOffsetsRequest::Partition* p = t->add_partitions();
  p->set_partition(tp.partition);
  p->set_timestamp(earliest ? -2 : -1);
  transport_->ListOffsets(
      leader->address, req, config_.request_timeout,
      [done = std::move(done)](absl::StatusOr<v1::ListOffsetsResponse> r) mutable {
        if (!r.ok()) return done(r.status());
        if (r->topics_size() != 1 || r->topics(0).partitions_size() != 1) {
          return done(absl::InternalError("a ListOffsets answer without the partition"));
        }
        const v1::ListOffsetsResponse::Partition& p = r->topics(0).partitions(0);
        if (p.error().code() != v1::NONE) return done(KafkaError(p.error()));
        done(p.offset());
      });
}

absl::StatusOr<int64_t> Consumer::ListOffset(const TopicPartition& tp, bool earliest,
                                             absl::Duration timeout) {
  const absl::Time deadline = MonotonicNow() + timeout;
  absl::Status last;
  while (true) {
    if (!metadata_.Leader(tp.topic, tp.partition).has_value()) {
      last = metadata_.Refresh({tp.topic}, deadline - MonotonicNow());
    }
    absl::StatusOr<int64_t> offset = AwaitCallback<absl::StatusOr<int64_t>>(
        [&](auto reply) { StartListOffset(tp, earliest, std::move(reply)); },
        config_.request_timeout + absl::Seconds(5));
    if (offset.ok()) return offset;
    last = offset.status();
    const std::optional<v1::ErrorCode> code = KafkaCodeOf(last);
    if ((code.has_value() && !IsRetriable(*code)) ||
        MonotonicNow() + config_.retry_backoff > deadline) {
      return last;
    }
    absl::SleepFor(config_.retry_backoff);
    (void)metadata_.Refresh({tp.topic}, std::max(deadline - MonotonicNow(), absl::Milliseconds(1)));
  }
}

absl::Status Consumer::Subscribe(std::vector<std::string> topics, RebalanceListener listener) {
  if (group_ == nullptr) {
    return absl::FailedPreconditionError("Subscribe needs ConsumerConfig::group_id");
  }
  if (topics.empty()) return absl::InvalidArgumentError("Subscribe needs at least one topic");
  group_->Subscribe(std::move(topics), std::move(listener));
  return absl::OkStatus();
}

absl::Status Consumer::Commit(absl::Duration timeout) {
  if (group_ == nullptr) return absl::FailedPreconditionError("not in a group: Subscribe first");
  return group_->Commit(timeout);
}

void Consumer::ApplyGroupChanges() {
  {
    NotifyingLock lock(&mu_, &changed_);
    group_changed_ = false;
  }
  if (group_ != nullptr) group_->ApplyChanges();
}

std::map<TopicPartition, int64_t> Consumer::PositionsOf(
    const std::vector<TopicPartition>& partitions) {
  std::map<TopicPartition, int64_t> out;
  NotifyingLock lock(&mu_, &changed_);
  for (const TopicPartition& tp : partitions) {
    auto it = parts_.find(tp);
    if (it != parts_.end() && it->second.position.has_value()) out[tp] = *it->second.position;
  }
  return out;
}

absl::StatusOr<std::vector<ConsumerRecord>> Consumer::Poll(absl::Duration timeout) {
  const absl::Time deadline = MonotonicNow() + timeout;
  ApplyGroupChanges();
  NotifyingLock lock(&mu_, &changed_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!errors_.empty() || group_changed_) return true;
    for (const auto& [tp, p] : parts_) {
      if (!p.paused && !p.buffer.empty()) return true;
    }
    return false;
  };
  while (changed_.WaitUntil(mu_, ready, deadline) && group_changed_) {
    // The group's assignment changed while waiting: adopt it and wait on.
    mu_.Unlock();
    ApplyGroupChanges();
    mu_.Lock();
  }
  if (!errors_.empty()) {
    absl::Status error = errors_.front();
    errors_.erase(errors_.begin());
    return error;
  }
  std::vector<ConsumerRecord> out;
  // Round-robin over partitions, starting one further each call.
  std::vector<Partition*> order;
  size_t buffered = 0;
  for (auto& [tp, p] : parts_) {
    order.push_back(&p);
    if (!p.paused) buffered += p.buffer.size();
  }
  out.reserve(std::min(buffered, static_cast<size_t>(config_.max_poll_records)));
  const size_t n = order.size();
  for (size_t i = 0; i < n && static_cast<int>(out.size()) < config_.max_poll_records; ++i) {
    Partition& p = *order[(next_partition_ + i) % n];
    while (!p.paused && !p.buffer.empty() &&
           static_cast<int>(out.size()) < config_.max_poll_records) {
      ConsumerRecord& r = p.buffer.front();
      p.buffered_bytes -= PayloadBytes(r);
      p.position = r.offset + 1;
      out.push_back(std::move(r));
      p.buffer.pop_front();
    }
  }
  next_partition_ = n == 0 ? 0 : (next_partition_ + 1) % n;
  wake_ = true;  // buffers have room again
  return out;
}

void Consumer::SetPaused(const std::vector<TopicPartition>& partitions, bool paused) {
  NotifyingLock lock(&mu_, &changed_);
  for (const TopicPartition& tp : partitions) {
    auto it = parts_.find(tp);
    if (it == parts_.end()) continue;
    it->second.paused = paused;
  }
  wake_ = true;
}

void Consumer::Close(absl::Duration timeout) {
  const absl::Time deadline = MonotonicNow() + timeout;
  closing_.Cancel();
  if (group_ != nullptr) group_->Leave(deadline);
  {
    NotifyingLock lock(&mu_, &changed_);
    if (stop_) return;
    stop_ = true;
  }
  thread_.join();
  if (own_transport_ != nullptr) own_transport_->CancelAll();
  NotifyingLock lock(&mu_, &changed_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return outstanding_ == 0; };
  mu_.Await(absl::Condition(&idle));
}

void Consumer::Loop() {
  absl::Time last_refresh = absl::InfinitePast();
  while (true) {
    bool refresh = false;
    std::vector<std::string> topics;
    std::vector<absl::AnyInvocable<void()>> calls;
    {
      NotifyingLock lock(&mu_, &changed_);
      auto work = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return wake_ || stop_; };
      changed_.Wait(mu_, work, absl::Milliseconds(50));
      wake_ = false;
      if (stop_) return;
      const absl::Time now = MonotonicNow();
      bool need_metadata = need_metadata_;
      calls = Dispatch(now, &need_metadata);
      refresh = need_metadata && now - last_refresh >= config_.retry_backoff;
      need_metadata_ = need_metadata && !refresh;
      for (const auto& [tp, p] : parts_) {
        if (topics.empty() || topics.back() != tp.topic) topics.push_back(tp.topic);
      }
    }
    for (auto& call : calls) call();
    if (refresh) {
      last_refresh = MonotonicNow();
      absl::Status st =
          metadata_.Refresh(topics, std::min(config_.request_timeout, absl::Seconds(5)), &closing_);
      NotifyingLock lock(&mu_, &changed_);
      if (st.ok()) wake_ = true;
    }
  }
}

std::vector<absl::AnyInvocable<void()>> Consumer::Dispatch(absl::Time now, bool* need_metadata) {
  std::vector<absl::AnyInvocable<void()>> calls;
  std::map<std::string, std::map<TopicPartition, Sent>> fetches;  // per broker
  for (auto& [tp, p] : parts_) {
    if (p.in_flight || p.retry_at > now) continue;
    std::optional<LeaderInfo> leader = metadata_.Leader(tp.topic, tp.partition);
    if (!leader.has_value()) {
      *need_metadata = true;
      continue;
    }
    if (!p.position.has_value()) {
      if (config_.auto_offset_reset == OffsetReset::kNone) continue;
      p.in_flight = true;
      ++outstanding_;
      const uint64_t epoch = p.epoch;
      const TopicPartition key = tp;
      calls.push_back([this, key, epoch] {
        StartListOffset(key, config_.auto_offset_reset == OffsetReset::kEarliest,
                        [this, key, epoch](absl::StatusOr<int64_t> offset) {
                          NotifyingLock lock(&mu_, &changed_);
                          --outstanding_;
                          wake_ = true;
                          auto it = parts_.find(key);
                          if (it == parts_.end()) return;
                          Partition& p = it->second;
                          p.in_flight = false;
                          if (p.epoch != epoch || p.position.has_value()) return;
                          if (!offset.ok()) {
                            OnPartitionError(key, p, offset.status(), &need_metadata_);
                            return;
                          }
                          p.position = *offset;
                          p.fetch_offset = *offset;
                        });
      });
      continue;
    }
    if (p.paused || p.buffered_bytes >= config_.max_partition_fetch_bytes) continue;
    if (brokers_busy_.contains(leader->address)) continue;
    fetches[leader->address][tp] = {p.epoch, p.fetch_offset};
  }
  for (auto& [address, sent] : fetches) {
    v1::FetchRequest req;
    req.set_max_bytes(config_.fetch_max_bytes);
    req.set_min_bytes(config_.fetch_min_bytes);
    req.set_max_wait_ms(static_cast<int32_t>(absl::ToInt64Milliseconds(config_.fetch_max_wait)));
    for (const auto& [tp, asked] : sent) {
      Partition& p = parts_.at(tp);
      p.in_flight = true;
      v1::FetchRequest::Topic* t =
          req.topics_size() > 0 && req.topics(req.topics_size() - 1).name() == tp.topic
              ? req.mutable_topics(req.topics_size() - 1)
              : req.add_topics();
      t->set_name(tp.topic);
      v1::FetchRequest::Partition* fp = t->add_partitions();
      fp->set_partition(tp.partition);
      fp->set_offset(p.fetch_offset);
      fp->set_max_bytes(config_.max_partition_fetch_bytes);
    }
    brokers_busy_.insert(address);
    ++outstanding_;
    calls.push_back([this, address = address, sent = sent, req = std::move(req)] {
      transport_->Fetch(address, req, config_.fetch_max_wait + config_.request_timeout,
                        [this, address, sent](absl::StatusOr<v1::FetchResponse> r) {
                          OnFetch(address, sent, r);
                        });
    });
  }
  return calls;
}

void Consumer::OnFetch(const std::string& address, const std::map<TopicPartition, Sent>& sent,
                       const absl::StatusOr<v1::FetchResponse>& response) {
  std::map<TopicPartition, const v1::FetchResponse::Partition*> answers;
  std::map<TopicPartition, Decoded> decoded;
  if (response.ok()) {
    for (const v1::FetchResponse::Topic& t : response->topics()) {
      for (const v1::FetchResponse::Partition& p : t.partitions()) {
        TopicPartition tp{t.name(), p.partition()};
        auto asked = sent.find(tp);
        if (asked != sent.end() && p.error().code() == v1::NONE) {
          decoded[tp] = Decode(tp, asked->second.offset, p.records());
        }
        answers[std::move(tp)] = &p;
      }
    }
  }
  NotifyingLock lock(&mu_, &changed_);
  --outstanding_;
  brokers_busy_.erase(address);
  wake_ = true;
  for (const auto& [tp, asked] : sent) {
    auto it = parts_.find(tp);
    if (it == parts_.end()) continue;
    Partition& p = it->second;
    p.in_flight = false;
    if (p.epoch != asked.epoch) continue;  // sought elsewhere since
    if (!response.ok()) {
      OnPartitionError(tp, p, response.status(), &need_metadata_);
      continue;
    }
    auto a = answers.find(tp);
    if (a == answers.end()) {
      OnPartitionError(tp, p, absl::InternalError("the fetch answer lacks the partition"),
                       &need_metadata_);
      continue;
    }
    const v1::FetchResponse::Partition& in = *a->second;
    if (in.error().code() == v1::OFFSET_OUT_OF_RANGE &&
        config_.auto_offset_reset != OffsetReset::kNone) {
      p.position.reset();  // the loop looks it up again
      p.buffer.clear();
      p.buffered_bytes = 0;
      continue;
    }
    if (in.error().code() != v1::NONE) {
      OnPartitionError(tp, p, KafkaError(in.error()), &need_metadata_);
      continue;
    }
    Decoded& d = decoded.at(tp);
    if (p.buffer.empty()) {
      p.buffer = std::move(d.records);
    } else {
      std::move(d.records.begin(), d.records.end(), std::back_inserter(p.buffer));
    }
    p.buffered_bytes += d.bytes;
    p.fetch_offset = std::max(p.fetch_offset, d.next_offset);
    if (!d.status.ok()) {
      errors_.push_back(absl::DataLossError(absl::StrCat(
          tp.topic, "-", tp.partition, " at offset ", p.fetch_offset, ": ", d.status.message())));
      p.retry_at = MonotonicNow() + config_.retry_backoff;
    }
  }
}

Consumer::Decoded Consumer::Decode(const TopicPartition& tp, int64_t from,
                                   const std::string& records) {
  Decoded out;
  out.next_offset = from;
  std::span<const uint8_t> rest(reinterpret_cast<const uint8_t*>(records.data()), records.size());
  while (!rest.empty()) {
    absl::StatusOr<storage::BatchHeader> h = storage::ParseBatchHeader(rest);
    if (!h.ok()) {
      out.status = h.status();
      break;
    }
    if (h->size() > rest.size()) break;  // a partial batch at the end
    out.status = storage::ForEachRecord(rest.first(h->size()), [&](const storage::RecordView& r) {
      if (r.offset.value() < from) return absl::OkStatus();
      ConsumerRecord& rec = out.records.emplace_back();
      rec.topic = tp.topic;
      rec.partition = tp.partition;
      rec.offset = r.offset.value();
      rec.timestamp_ms = r.timestamp;
      if (r.key.has_value()) rec.key.emplace(*r.key);
      if (r.value.has_value()) rec.value.emplace(*r.value);
      for (const storage::RecordHeaderView& hv : r.headers) {
        rec.headers.emplace_back(std::string(hv.key), hv.value.has_value()
                                                          ? std::optional(std::string(*hv.value))
                                                          : std::nullopt);
      }
      out.bytes += PayloadBytes(rec);
      return absl::OkStatus();
    });
    if (!out.status.ok()) break;
    out.next_offset = std::max(out.next_offset, h->last_offset().value() + 1);
    rest = rest.subspan(h->size());
  }
  return out;
}

void Consumer::OnPartitionError(const TopicPartition& tp, Partition& p, const absl::Status& error,
                                bool* need_metadata) {
  p.retry_at = MonotonicNow() + config_.retry_backoff;
  const std::optional<v1::ErrorCode> code = KafkaCodeOf(error);
  if (!code.has_value() || IsRetriable(*code)) {
    *need_metadata = true;
    return;
  }
  errors_.push_back(WithContext(error, absl::StrCat(tp.topic, "-", tp.partition)));
}

absl::StatusOr<std::unique_ptr<Consumer>> Consumer::Create(ConsumerConfig config,
                                                           std::shared_ptr<Transport> transport) {
  if (config.max_poll_records < 1 || config.max_partition_fetch_bytes < 1 ||
      config.fetch_max_bytes < 1) {
    return absl::InvalidArgumentError(
        "max_poll_records, max_partition_fetch_bytes and fetch_max_bytes must be positive");
  }
  absl::StatusOr<std::vector<std::string>> bootstrap = ParseBootstrap(config.bootstrap);
  if (!bootstrap.ok()) return bootstrap.status();
  GrpcTransport* own = nullptr;
  if (transport == nullptr) {
    auto made = std::make_shared<GrpcTransport>();
    own = made.get();
    transport = std::move(made);
  }
  return std::unique_ptr<Consumer>(
      new Consumer(std::move(config), std::move(transport), own, *std::move(bootstrap)));
}

}  // namespace samsa::client
