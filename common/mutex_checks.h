// Debian's Abseil is built with absl::Mutex deadlock detection on: every
// acquisition records lock-order edges in one global graph, under one global
// lock, and every thread of the process contends on it. Tests keep that
// check, so a lock-order cycle still fails them; the processes and the
// benchmarks, which run the same locks at full speed, turn it off first
// thing in main() with this call.
#pragma once

namespace samsa {

void SkipMutexDeadlockDetection();

}  // namespace samsa
