// Calling an asynchronous API synchronously, for tests and benchmarks.
#pragma once

#include "absl/synchronization/notification.h"
#include "absl/time/time.h"

namespace samsa {

// Calls `f` with a callback taking a `Response` and waits (up to `timeout`)
// for it; the response, default-constructed if none came in time.
template <typename Response, typename F>
Response AwaitCallback(F f, absl::Duration timeout = absl::Seconds(60)) {
  absl::Notification done;
  Response out;
  f([&](Response r) {
    out = std::move(r);
    done.Notify();
  });
  if (!done.WaitForNotificationWithTimeout(timeout)) return Response();
  return out;
}

}  // namespace samsa
