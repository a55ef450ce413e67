#include "client/metadata.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/errors.h"
#include "common/await.h"
#include "common/clock.h"

namespace samsa::client {

absl::StatusOr<std::vector<std::string>> ParseBootstrap(const std::string& list) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    part = absl::StripAsciiWhitespace(part);
    const size_t colon = part.rfind(':');
    int port = 0;
    if (colon == absl::string_view::npos || colon == 0 ||
        !absl::SimpleAtoi(part.substr(colon + 1), &port) || port <= 0 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("bootstrap address '", part, "' is not host:port"));
    }
    out.emplace_back(part);
  }
  if (out.empty()) return absl::InvalidArgumentError("no bootstrap address given");
  return out;
}

absl::Status Metadata::Refresh(const std::vector<std::string>& topics, absl::Duration timeout,
                               Cancellation* cancel) {
  const absl::Time deadline = MonotonicNow() + timeout;
  v1::MetadataRequest request;
  std::vector<std::string> candidates;
  {
    absl::MutexLock lock(&mu_);
    for (const std::string& t : topics) tracked_.insert(t);
    for (const std::string& t : tracked_) request.add_topics(t);
    for (const auto& [id, address] : brokers_) candidates.push_back(address);
  }
  candidates.insert(candidates.end(), bootstrap_.begin(), bootstrap_.end());
  std::vector<std::string> errors;
  // Round after round over every candidate, until one answers in time.
  while (true) {
    for (const std::string& address : candidates) {
      const absl::Duration left = deadline - MonotonicNow();
      if (cancel != nullptr && cancel->cancelled())
        return absl::CancelledError("given up: stopping");
      if (left <= absl::ZeroDuration()) {
        return absl::DeadlineExceededError(absl::StrCat("no broker answered Metadata within ",
                                                        absl::FormatDuration(timeout), ": ",
                                                        absl::StrJoin(errors, "; ")));
      }
      absl::StatusOr<v1::MetadataResponse> answer =
          AwaitCallback<absl::StatusOr<v1::MetadataResponse>>(
              [&](auto reply) { transport_->Metadata(address, request, left, std::move(reply)); },
              left + absl::Seconds(5), cancel);
      if (!answer.ok()) {
        if (errors.size() < candidates.size()) errors.emplace_back(answer.status().message());
        continue;
      }
      absl::MutexLock lock(&mu_);
      brokers_.clear();
      for (const v1::BrokerDescription& b : answer->brokers())
        brokers_[b.broker_id()] = b.address();
      for (const v1::TopicDescription& t : answer->topics()) topics_[t.name()] = t;
      last_ = std::move(*answer);
      return absl::OkStatus();
    }
    absl::SleepFor(std::min(absl::Milliseconds(100), deadline - MonotonicNow()));
  }
}

v1::MetadataResponse Metadata::last() const {
  absl::MutexLock lock(&mu_);
  return last_;
}

absl::StatusOr<int32_t> Metadata::PartitionCount(const std::string& topic) const {
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end()) return absl::NotFoundError(absl::StrCat("no metadata for ", topic));
  if (it->second.error().code() != v1::NONE) return KafkaError(it->second.error());
  return it->second.partitions_size();
}

std::optional<LeaderInfo> Metadata::Leader(const std::string& topic, int32_t partition) const {
  absl::MutexLock lock(&mu_);
  auto it = topics_.find(topic);
  if (it == topics_.end() || partition < 0 || partition >= it->second.partitions_size()) {
    return std::nullopt;
  }
  const v1::PartitionDescription& p = it->second.partitions(partition);
  auto b = brokers_.find(p.leader());
  if (p.leader() < 0 || b == brokers_.end()) return std::nullopt;
  return LeaderInfo{p.leader(), b->second, p.leader_epoch()};
}

std::string Metadata::AnyBroker() const {
  absl::MutexLock lock(&mu_);
  const size_t n = brokers_.size();
  if (n == 0) return bootstrap_[next_++ % bootstrap_.size()];
  auto it = brokers_.begin();
  std::advance(it, static_cast<long>(next_++ % n));
  return it->second;
}

}  // namespace samsa::client
