// Calling an asynchronous API synchronously (the client library, tests,
// benchmarks).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace samsa {

// Gives up the AwaitCallback waits made with it: once Cancel() is called,
// those in progress and any made later return CANCELLED without waiting
// for their answers (which still have somewhere to write when they come).
// For a thread that must stop promptly while a peer does not answer.
// Thread-safe.
class Cancellation {
 public:
  void Cancel() {
    std::map<uint64_t, std::function<void()>> wake;
    {
      absl::MutexLock lock(&mu_);
      cancelled_ = true;
      wake.swap(waiters_);
    }
    for (auto& [id, f] : wake) f();
  }
  bool cancelled() const {
    absl::MutexLock lock(&mu_);
    return cancelled_;
  }

  // Runs `wake` once Cancel() is called (at once if it was); the id undoes
  // it with Forget.
  uint64_t OnCancel(std::function<void()> wake) {
    {
      absl::MutexLock lock(&mu_);
      if (!cancelled_) {
        waiters_.emplace(next_id_, std::move(wake));
        return next_id_++;
      }
    }
    wake();
    return 0;
  }
  void Forget(uint64_t id) {
    absl::MutexLock lock(&mu_);
    waiters_.erase(id);
  }

 private:
  mutable absl::Mutex mu_;
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_id_ ABSL_GUARDED_BY(mu_) = 1;
  std::map<uint64_t, std::function<void()>> waiters_ ABSL_GUARDED_BY(mu_);
};

// Calls `f` with a callback taking a `Response` and waits (up to `timeout`,
// on the monotonic clock, and while `cancel`, if given, is not cancelled)
// for it; the response, or if none came in time DEADLINE_EXCEEDED (if
// cancelled, CANCELLED) for a Status or StatusOr and a default-constructed
// `Response` otherwise. A callback that comes later still has somewhere to
// write.
template <typename Response, typename F>
Response AwaitCallback(F f, absl::Duration timeout = absl::Seconds(60),
                       Cancellation* cancel = nullptr) {
  struct State {
    absl::Mutex mu;
    Wakeup arrived;
    bool done ABSL_GUARDED_BY(mu) = false;
    bool cancelled ABSL_GUARDED_BY(mu) = false;
    Response out ABSL_GUARDED_BY(mu);
  };
  auto state = std::make_shared<State>();
  f([state](Response r) {
    NotifyingLock lock(&state->mu, &state->arrived);
    state->out = std::move(r);
    state->done = true;
  });
  const uint64_t registration = cancel == nullptr ? 0 : cancel->OnCancel([state] {
    NotifyingLock lock(&state->mu, &state->arrived);
    state->cancelled = true;
  });
  absl::ReleasableMutexLock lock(&state->mu);
  const bool done = state->arrived.Wait(
      state->mu,
      [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu) { return state->done || state->cancelled; },
      timeout);
  const bool answered = state->done;
  Response out = answered ? std::move(state->out) : Response();
  lock.Release();
  if (registration != 0) cancel->Forget(registration);
  if (answered) return out;
  if constexpr (std::is_constructible_v<Response, absl::Status>) {
    return Response(done ? absl::CancelledError("given up: stopping")
                         : absl::DeadlineExceededError(
                               absl::StrCat("no answer within ", absl::FormatDuration(timeout))));
  } else {
    return out;
  }
}

}  // namespace samsa
