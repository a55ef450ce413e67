// ProducerIds: hands out producer ids for InitProducerId from blocks the
// controller allocates (AllocateProducerIds: unique cluster-wide, never
// reused). A block is fetched when the current one runs out; requests that
// arrive meanwhile wait for it, without blocking a thread.
#pragma once

#include <functional>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace samsa::broker {

class ProducerIds {
 public:
  struct Block {
    int64_t first = 0;
    int64_t size = 0;
  };
  using Done = absl::AnyInvocable<void(absl::StatusOr<int64_t>)>;
  // Starts fetching a block; calls its argument once with the block or why not.
  using Allocate = std::function<void(std::function<void(absl::StatusOr<Block>)>)>;

  explicit ProducerIds(Allocate allocate) : allocate_(std::move(allocate)) {}

  // The next unused id, now or once a block arrives.
  void Next(Done done);

 private:
  void OnBlock(absl::StatusOr<Block> block);

  const Allocate allocate_;
  absl::Mutex mu_;
  int64_t next_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t end_ ABSL_GUARDED_BY(mu_) = 0;
  bool fetching_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<Done> waiting_ ABSL_GUARDED_BY(mu_);
};

}  // namespace samsa::broker
