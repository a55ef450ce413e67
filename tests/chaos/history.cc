#include "tests/chaos/history.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace samsa::chaos {
namespace {

constexpr size_t kMaxExamples = 10;

const char* OutcomeName(Write::Outcome o) {
  switch (o) {
    case Write::Outcome::kPending:
      return "pending";
    case Write::Outcome::kOk:
      return "ok";
    case Write::Outcome::kError:
      return "error";
    case Write::Outcome::kUnknown:
      return "unknown";
  }
  return "?";
}

void Example(Report& r, std::string text) {
  if (r.examples.size() < kMaxExamples) r.examples.push_back(std::move(text));
}

}  // namespace

size_t History::Invoke(std::string value, absl::Time now) {
  absl::MutexLock lock(&mu_);
  writes_.push_back({.value = std::move(value), .invoked = now});
  return writes_.size() - 1;
}

void History::Complete(size_t index, Write::Outcome outcome, int32_t partition, int64_t offset,
                       std::string error, absl::Time now) {
  absl::MutexLock lock(&mu_);
  Write& w = writes_.at(index);
  w.outcome = outcome;
  w.partition = partition;
  w.offset = offset;
  w.error = std::move(error);
  w.completed = now;
}

void History::AddPoll(Poll poll) {
  absl::MutexLock lock(&mu_);
  polls_.push_back(std::move(poll));
}

void History::AddCommitRead(CommitRead read) {
  absl::MutexLock lock(&mu_);
  commit_reads_.push_back(read);
}

std::vector<Write> History::writes() const {
  absl::MutexLock lock(&mu_);
  return writes_;
}

std::vector<Poll> History::polls() const {
  absl::MutexLock lock(&mu_);
  return polls_;
}

std::vector<CommitRead> History::commit_reads() const {
  absl::MutexLock lock(&mu_);
  return commit_reads_;
}

std::string History::ToJsonLines() const {
  absl::MutexLock lock(&mu_);
  std::string out;
  for (const Write& w : writes_) {
    absl::StrAppend(&out,
                    nlohmann::json{{"write", w.value},
                                   {"invoked_us", absl::ToUnixMicros(w.invoked)},
                                   {"completed_us", absl::ToUnixMicros(w.completed)},
                                   {"outcome", OutcomeName(w.outcome)},
                                   {"partition", w.partition},
                                   {"offset", w.offset},
                                   {"error", w.error}}
                        .dump(),
                    "\n");
  }
  for (const Poll& p : polls_) {
    nlohmann::json records = nlohmann::json::array();
    for (const auto& [offset, value] : p.records) records.push_back({offset, value});
    absl::StrAppend(&out,
                    nlohmann::json{{"poll", p.reader},
                                   {"group", p.group},
                                   {"partition", p.partition},
                                   {"at_us", absl::ToUnixMicros(p.at)},
                                   {"records", records}}
                        .dump(),
                    "\n");
  }
  for (const CommitRead& c : commit_reads_) {
    absl::StrAppend(&out,
                    nlohmann::json{{"committed", c.offset},
                                   {"partition", c.partition},
                                   {"at_us", absl::ToUnixMicros(c.at)}}
                        .dump(),
                    "\n");
  }
  return out;
}

std::string Report::ToString() const {
  std::string out =
      absl::StrCat("acked=", acked, " failed=", failed, " unknown=", unknown, " lost=", lost,
                   " duplicated=", duplicated, " inconsistent=", inconsistent,
                   " non_monotonic=", non_monotonic, " commit_regressions=", commit_regressions,
                   " max_unavailable_ms=", absl::ToInt64Milliseconds(max_unavailable));
  for (const std::string& e : examples) absl::StrAppend(&out, "\n  ", e);
  return out;
}

Report Check(const History& history, const FinalRead& final_read, absl::Time start,
             absl::Time end) {
  Report r;
  const std::vector<Write> writes = history.writes();

  // What each (partition, offset) holds, by the final read; and where each
  // value ended up.
  std::map<std::pair<int32_t, int64_t>, std::string> at;
  std::map<std::string, std::vector<std::pair<int32_t, int64_t>>> where;
  for (const auto& [partition, records] : final_read) {
    for (const auto& [offset, value] : records) {
      at[{partition, offset}] = value;
      where[value].emplace_back(partition, offset);
    }
  }
  for (const auto& [value, places] : where) {
    if (places.size() > 1) {
      ++r.duplicated;
      Example(r, absl::StrCat("duplicated: ", value, " at ", places.size(), " offsets, first ",
                              places[0].first, "/", places[0].second));
    }
  }

  // Unavailability: the longest stretch of the workload without an ack.
  std::vector<absl::Time> acks;
  for (const Write& w : writes) {
    switch (w.outcome) {
      case Write::Outcome::kOk:
        ++r.acked;
        acks.push_back(w.completed);
        break;
      case Write::Outcome::kError:
        ++r.failed;
        break;
      case Write::Outcome::kUnknown:
      case Write::Outcome::kPending:
        ++r.unknown;
        break;
    }
    if (w.outcome != Write::Outcome::kOk) continue;
    auto it = where.find(w.value);
    if (it == where.end()) {
      ++r.lost;
      Example(r, absl::StrCat("lost: ", w.value, " acked at ", w.partition, "/", w.offset));
      continue;
    }
    const std::pair<int32_t, int64_t> acked_at(w.partition, w.offset);
    if (std::find(it->second.begin(), it->second.end(), acked_at) == it->second.end()) {
      ++r.inconsistent;
      Example(r, absl::StrCat("inconsistent: ", w.value, " acked at ", w.partition, "/", w.offset,
                              " but read at ", it->second[0].first, "/", it->second[0].second));
    }
  }
  std::sort(acks.begin(), acks.end());
  absl::Time last = start;
  for (absl::Time t : acks) {
    r.max_unavailable = std::max(r.max_unavailable, t - last);
    last = std::max(last, t);
  }
  r.max_unavailable = std::max(r.max_unavailable, end - last);

  // Polls agree with the final read; a standalone reader's records of a
  // partition rise one by one (it assigns every partition and never seeks).
  std::map<std::pair<int, int32_t>, int64_t> next;  // (reader, partition) -> next offset
  for (const Poll& p : history.polls()) {
    for (const auto& [offset, value] : p.records) {
      auto [it, first] = next.try_emplace({p.reader, p.partition}, offset);
      if (!p.group && offset != it->second) {
        ++r.non_monotonic;
        Example(r, absl::StrCat("non-monotonic: reader ", p.reader, " read ", p.partition, "/",
                                offset, " after ", it->second - 1));
      }
      it->second = offset + 1;
      auto final_value = at.find({p.partition, offset});
      if (final_value == at.end() || final_value->second != value) {
        ++r.inconsistent;
        Example(r, absl::StrCat("inconsistent: reader ", p.reader, " read ", value, " at ",
                                p.partition, "/", offset, "; the final read has ",
                                final_value == at.end() ? "nothing" : final_value->second));
      }
    }
  }

  // Committed offsets never go backwards.
  std::map<int32_t, int64_t> committed;
  for (const CommitRead& c : history.commit_reads()) {
    auto [it, first] = committed.try_emplace(c.partition, c.offset);
    if (c.offset < it->second) {
      ++r.commit_regressions;
      Example(r, absl::StrCat("commit regression: partition ", c.partition, " from ", it->second,
                              " to ", c.offset));
    }
    it->second = std::max(it->second, c.offset);
  }
  return r;
}

}  // namespace samsa::chaos
