// Calling an asynchronous API synchronously, for tests and benchmarks.
#pragma once

#include <memory>
#include <utility>

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace samsa {

// Calls `f` with a callback taking a `Response` and waits (up to `timeout`)
// for it; the response, default-constructed if none came in time. A
// callback that comes later still has somewhere to write.
template <typename Response, typename F>
Response AwaitCallback(F f, absl::Duration timeout = absl::Seconds(60)) {
  struct State {
    absl::Notification done;
    Response out;
  };
  auto state = std::make_shared<State>();
  f([state](Response r) {
    state->out = std::move(r);
    state->done.Notify();
  });
  if (!state->done.WaitForNotificationWithTimeout(timeout)) return Response();
  return std::move(state->out);
}

}  // namespace samsa
