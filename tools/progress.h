// A progress line on stderr while it is a terminal (docs/cli.md):
// records, rate, elapsed, refreshed at most once a second.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <ostream>

#include "absl/strings/str_format.h"
#include "absl/time/time.h"
#include "common/clock.h"

namespace samsa::tools {

class Progress {
 public:
  Progress(std::ostream* err, const char* what)
      : err_(err), what_(what), on_(isatty(STDERR_FILENO) == 1), start_(MonotonicNow()) {}
  void Update(int64_t records) {
    if (!on_ || MonotonicNow() - last_ < absl::Seconds(1)) return;
    last_ = MonotonicNow();
    Print(records);
  }
  void Done(int64_t records) {
    if (!on_) return;
    Print(records);
    *err_ << "\n";
  }

 private:
  void Print(int64_t records) {
    const double secs = std::max(1e-3, absl::ToDoubleSeconds(MonotonicNow() - start_));
    *err_ << absl::StrFormat("\r%s %d records, %.0f records/s, %.1f s", what_, records,
                             static_cast<double>(records) / secs, secs)
          << std::flush;
  }

  std::ostream* const err_;
  const char* const what_;
  const bool on_;
  const absl::Time start_;
  absl::Time last_ = absl::InfinitePast();
};

}  // namespace samsa::tools
