// Calling an asynchronous API synchronously (the client library, tests,
// benchmarks).
#pragma once

#include <memory>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace samsa {

// Calls `f` with a callback taking a `Response` and waits (up to `timeout`,
// on the monotonic clock) for it; the response, or if none came in time
// DEADLINE_EXCEEDED for a Status or StatusOr and a default-constructed
// `Response` otherwise. A callback that comes later still has somewhere to
// write.
template <typename Response, typename F>
Response AwaitCallback(F f, absl::Duration timeout = absl::Seconds(60)) {
  struct State {
    absl::Mutex mu;
    Wakeup arrived;
    bool done ABSL_GUARDED_BY(mu) = false;
    Response out ABSL_GUARDED_BY(mu);
  };
  auto state = std::make_shared<State>();
  f([state](Response r) {
    NotifyingLock lock(&state->mu, &state->arrived);
    state->out = std::move(r);
    state->done = true;
  });
  absl::MutexLock lock(&state->mu);
  if (!state->arrived.Wait(
          state->mu, [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(state->mu) { return state->done; },
          timeout)) {
    if constexpr (std::is_constructible_v<Response, absl::Status>) {
      return Response(absl::DeadlineExceededError(
          absl::StrCat("no answer within ", absl::FormatDuration(timeout))));
    } else {
      return Response();
    }
  }
  return std::move(state->out);
}

}  // namespace samsa
