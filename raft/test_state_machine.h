// A state machine for Raft tests: the list of applied data.
#pragma once

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "raft/node.h"

namespace samsa::raft {

// Applied data, in order; no-ops and membership changes left out.
class ListStateMachine : public StateMachine {
 public:
  absl::Status Apply(const Entry& e) override {
    absl::MutexLock lock(&mu_);
    if (e.type == EntryType::kNormal && !e.data.empty()) items_.push_back(e.data);
    return absl::OkStatus();
  }
  std::string Snapshot() override {
    absl::MutexLock lock(&mu_);
    std::string out;
    for (const std::string& s : items_) out += s + "\n";
    return out;
  }
  absl::Status Restore(const std::string& data) override {
    absl::MutexLock lock(&mu_);
    items_.clear();
    size_t pos = 0;
    while (pos < data.size()) {
      const size_t nl = data.find('\n', pos);
      items_.push_back(data.substr(pos, nl - pos));
      pos = nl + 1;
    }
    return absl::OkStatus();
  }
  std::vector<std::string> items() const {
    absl::MutexLock lock(&mu_);
    return items_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<std::string> items_ ABSL_GUARDED_BY(mu_);
};

// Waits (up to `timeout`) until `state` applied at least `n` items; returns
// what it holds then.
inline std::vector<std::string> WaitForItems(const ListStateMachine& state, size_t n,
                                             absl::Duration timeout = absl::Seconds(30)) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline && state.items().size() < n) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  return state.items();
}

}  // namespace samsa::raft
