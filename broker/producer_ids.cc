#include "broker/producer_ids.h"

#include <optional>
#include <utility>

namespace samsa::broker {

void ProducerIds::Next(Done done) {
  std::optional<int64_t> id;
  {
    absl::MutexLock lock(&mu_);
    if (next_ < end_) {
      id = next_++;
    } else {
      waiting_.push_back(std::move(done));
      if (fetching_) return;
      fetching_ = true;
    }
  }
  if (id.has_value()) {
    done(*id);
    return;
  }
  allocate_([this](absl::StatusOr<Block> block) { OnBlock(std::move(block)); });
}

void ProducerIds::OnBlock(absl::StatusOr<Block> block) {
  std::vector<std::pair<Done, absl::StatusOr<int64_t>>> answers;
  bool again = false;
  {
    absl::MutexLock lock(&mu_);
    fetching_ = false;
    if (block.ok()) {
      next_ = block->first;
      end_ = block->first + block->size;
    }
    std::vector<Done> waiting;
    waiting.swap(waiting_);
    for (Done& d : waiting) {
      if (!block.ok()) {
        answers.emplace_back(std::move(d), block.status());
      } else if (next_ < end_) {
        answers.emplace_back(std::move(d), next_++);
      } else {
        waiting_.push_back(std::move(d));  // more waiters than ids in the block
      }
    }
    if (!waiting_.empty()) {
      fetching_ = true;
      again = true;
    }
  }
  for (auto& [d, r] : answers) d(std::move(r));
  if (again) allocate_([this](absl::StatusOr<Block> b) { OnBlock(std::move(b)); });
}

}  // namespace samsa::broker
