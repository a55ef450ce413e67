#include "tests/chaos/workload.h"

#include "absl/strings/str_cat.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "client/errors.h"
#include "client/producer.h"
#include "common/eventually.h"

namespace samsa::chaos {

Workload::Workload(WorkloadOptions options, History* history)
    : options_(std::move(options)), history_(history) {}

Workload::~Workload() { Stop(); }

void Workload::Start() {
  writing_ = true;
  reading_ = true;
  for (int w = 0; w < options_.writers; ++w) threads_.emplace_back([this, w] { Write(w); });
  for (int r = 0; r < options_.readers; ++r) readers_.emplace_back([this, r] { Read(r); });
  for (int i = 0; i < options_.group_members; ++i) {
    member_on_.push_back(std::make_unique<std::atomic<bool>>(false));
    members_.emplace_back();
    StartMember(i);
  }
  if (options_.group_members > 0) watcher_ = std::thread([this] { WatchCommits(); });
}

void Workload::StartMember(int i) {
  std::atomic<bool>& on = *member_on_.at(static_cast<size_t>(i));
  if (on) return;
  if (members_[static_cast<size_t>(i)].joinable()) members_[static_cast<size_t>(i)].join();
  on = true;
  members_[static_cast<size_t>(i)] = std::thread([this, i] { Member(i); });
}

void Workload::StopMember(int i) {
  *member_on_.at(static_cast<size_t>(i)) = false;
  if (members_[static_cast<size_t>(i)].joinable()) members_[static_cast<size_t>(i)].join();
}

void Workload::Stop() {
  writing_ = false;
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  reading_ = false;
  for (std::thread& t : readers_) t.join();
  readers_.clear();
  for (size_t i = 0; i < members_.size(); ++i) StopMember(static_cast<int>(i));
  members_.clear();
  member_on_.clear();
  if (watcher_.joinable()) watcher_.join();
}

void Workload::Member(int i) {
  absl::StatusOr<std::unique_ptr<client::Consumer>> consumer =
      client::Consumer::Create({.bootstrap = options_.bootstrap,
                                .group_id = options_.group,
                                .client_id = absl::StrCat("member-", i),
                                .auto_commit_interval = absl::Milliseconds(300),
                                .auto_offset_reset = client::OffsetReset::kEarliest,
                                .request_timeout = absl::Seconds(5)});
  if (!consumer.ok() || !(*consumer)->Subscribe({options_.topic}).ok()) return;
  const std::atomic<bool>& on = *member_on_[static_cast<size_t>(i)];
  while (on && reading_) {
    absl::StatusOr<std::vector<client::ConsumerRecord>> records =
        (*consumer)->Poll(absl::Milliseconds(100));
    if (records.ok()) RecordPoll(100 + i, true, *records);
  }
  (*consumer)->Close();  // commits what it polled and leaves
}

void Workload::WatchCommits() {
  absl::StatusOr<std::unique_ptr<client::Admin>> admin =
      client::Admin::Create({.bootstrap = options_.bootstrap, .timeout = absl::Seconds(5)});
  if (!admin.ok()) return;
  while (reading_) {
    absl::StatusOr<client::GroupDescription> g = (*admin)->DescribeGroup(options_.group);
    const absl::Time now = absl::Now();
    if (g.ok()) {
      for (const client::GroupPartitionOffset& o : g->offsets) {
        if (o.topic == options_.topic && o.committed >= 0) {
          history_->AddCommitRead({.partition = o.partition, .at = now, .offset = o.committed});
        }
      }
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
}

void Workload::Write(int writer) {
  absl::StatusOr<std::unique_ptr<client::Producer>> producer =
      client::Producer::Create({.bootstrap = options_.bootstrap,
                                .acks = -1,
                                .linger = absl::Milliseconds(1),
                                .idempotence = true,
                                .delivery_timeout = options_.delivery_timeout,
                                .request_timeout = absl::Seconds(5)},
                               options_.writer_transport);
  if (!producer.ok()) return;
  const absl::Duration gap = absl::Seconds(1) / options_.writes_per_second;
  absl::Time next = absl::Now();
  for (int64_t seq = 0; writing_; ++seq) {
    std::string value = absl::StrCat("w", writer, "-", seq);
    const size_t index = history_->Invoke(value, absl::Now());
    (*producer)->Send({.topic = options_.topic, .key = value, .value = value},
                      [this, index](absl::StatusOr<client::RecordMetadata> m) {
                        if (m.ok()) {
                          history_->Complete(index, Write::Outcome::kOk, m->partition, m->offset,
                                             "", absl::Now());
                          return;
                        }
                        // A refusal the producer did not retry is definite; a retriable
                        // one it gave up on may still have been written.
                        const std::optional<v1::ErrorCode> code = client::KafkaCodeOf(m.status());
                        const bool definite = code.has_value() && !client::IsRetriable(*code);
                        history_->Complete(
                            index, definite ? Write::Outcome::kError : Write::Outcome::kUnknown, -1,
                            -1, std::string(m.status().message()), absl::Now());
                      });
    next += gap;
    absl::SleepFor(next - absl::Now());
  }
  (void)(*producer)->Flush(options_.delivery_timeout + absl::Seconds(5));
  (void)(*producer)->Close();
}

void Workload::Read(int reader) {
  absl::StatusOr<std::unique_ptr<client::Consumer>> consumer =
      client::Consumer::Create({.bootstrap = options_.bootstrap,
                                .auto_offset_reset = client::OffsetReset::kEarliest,
                                .request_timeout = absl::Seconds(5)});
  if (!consumer.ok()) return;
  std::vector<client::TopicPartition> all;
  for (int32_t p = 0; p < options_.partitions; ++p) all.push_back({options_.topic, p});
  (*consumer)->Assign(all);
  while (reading_) {
    absl::StatusOr<std::vector<client::ConsumerRecord>> records =
        (*consumer)->Poll(absl::Milliseconds(100));
    if (records.ok()) RecordPoll(reader, false, *records);
  }
  (*consumer)->Close();
}

void Workload::RecordPoll(int reader, bool group,
                          const std::vector<client::ConsumerRecord>& records) {
  const absl::Time now = absl::Now();
  std::map<int32_t, Poll> by_partition;
  for (const client::ConsumerRecord& r : records) {
    Poll& poll = by_partition[r.partition];
    poll.reader = reader;
    poll.group = group;
    poll.partition = r.partition;
    poll.at = now;
    poll.records.emplace_back(r.offset, r.value.value_or(""));
  }
  for (auto& [p, poll] : by_partition) history_->AddPoll(std::move(poll));
}

absl::StatusOr<FinalRead> ReadAll(const std::string& bootstrap, const std::string& topic,
                                  int32_t partitions, absl::Duration timeout) {
  absl::StatusOr<std::unique_ptr<client::Consumer>> consumer =
      client::Consumer::Create({.bootstrap = bootstrap,
                                .auto_offset_reset = client::OffsetReset::kEarliest,
                                .request_timeout = absl::Seconds(5)});
  if (!consumer.ok()) return consumer.status();
  const absl::Time deadline = absl::Now() + timeout;
  FinalRead out;
  std::map<int32_t, int64_t> end;
  for (int32_t p = 0; p < partitions; ++p) {
    absl::StatusOr<int64_t> hw = absl::UnknownError("not asked");
    (void)testing::Eventually(
        [&] {
          hw = (*consumer)->ListOffset({topic, p}, false, absl::Seconds(5));
          return hw.ok();
        },
        deadline - absl::Now(), absl::ZeroDuration());
    if (!hw.ok()) return hw.status();
    end[p] = *hw;
    out[p];
  }
  std::vector<client::TopicPartition> all;
  for (int32_t p = 0; p < partitions; ++p) all.push_back({topic, p});
  (*consumer)->Assign(all);
  auto done = [&] {
    for (const auto& [p, hw] : end) {
      const int64_t have = out[p].empty() ? 0 : out[p].back().first + 1;
      if (have < hw) return false;
    }
    return true;
  };
  const bool read = testing::Eventually(
      [&] {
        absl::StatusOr<std::vector<client::ConsumerRecord>> records =
            (*consumer)->Poll(absl::Milliseconds(200));
        if (!records.ok()) return false;  // retried: a leader change
        for (client::ConsumerRecord& r : *records) {
          if (r.offset < end[r.partition]) out[r.partition].emplace_back(r.offset, *r.value);
        }
        return done();
      },
      deadline - absl::Now(), absl::ZeroDuration());
  if (!read)
    return absl::DeadlineExceededError("the final read did not reach every high watermark");
  (*consumer)->Close();
  return out;
}

}  // namespace samsa::chaos
