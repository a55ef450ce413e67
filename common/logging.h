// Leveled logging and invariant checks.
//
//   SAMSA_LOG(INFO) << "opened " << n << " partitions";
//   SAMSA_CHECK(offset >= start) << "offsets are dense";
//
// A line reads `2026-11-26T16:40:00.123456Z INFO [broker 1] log.cc:42] text`:
// UTC time, level, the process identity set by SetLogIdentity(), source
// location, message. One write(2) per line, so lines from threads never
// interleave.
//
// A disabled level costs one relaxed atomic load and a branch: the stream
// expression (and everything in it) is not evaluated. FATAL and failed CHECKs
// log and then abort(): they mark broken invariants, i.e. bugs (style rule 9 in
// docs/development.md). Errors the world causes are returned as absl::Status, not logged here.
#pragma once

#include <atomic>
#include <sstream>
#include <string_view>

#include "absl/status/statusor.h"

namespace samsa {

enum class LogLevel : int { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kFatal = 4 };

// Parses "debug", "info", "warning", "error" (case-insensitive).
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name);
std::string_view LogLevelName(LogLevel level);

void SetMinLogLevel(LogLevel level);
LogLevel MinLogLevel();

// Sets the prefix every line carries, e.g. ("broker", 1) -> "[broker 1]".
void SetLogIdentity(std::string_view role, int node_id);

// Receives each formatted line (with its trailing newline). The default sink
// writes to stderr. Tests may install their own; Write may be called from any
// thread, one call at a time.
class LogSink {
 public:
  virtual ~LogSink() = default;
  virtual void Write(LogLevel level, std::string_view line) = 0;
};

// Installs `sink` (not owned; must outlive its use), or stderr when nullptr.
void SetLogSink(LogSink* sink);

namespace internal {

extern std::atomic<int> g_min_log_level;

inline bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_min_log_level.load(std::memory_order_relaxed);
}

class LogMessage {
 public:
  LogMessage(const char* file, int line, LogLevel level);
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  // Emits the line; aborts the process if the level is FATAL.
  ~LogMessage();

  std::ostream& stream() { return stream_; }

 private:
  const char* file_;
  int line_;
  LogLevel level_;
  std::ostringstream stream_;
};

// Lets the macros below be expressions of type void in both branches of ?:.
struct Voidify {
  void operator&(std::ostream&) {}
};

inline constexpr LogLevel kLevel_DEBUG = LogLevel::kDebug;
inline constexpr LogLevel kLevel_INFO = LogLevel::kInfo;
inline constexpr LogLevel kLevel_WARNING = LogLevel::kWarning;
inline constexpr LogLevel kLevel_ERROR = LogLevel::kError;
inline constexpr LogLevel kLevel_FATAL = LogLevel::kFatal;

}  // namespace internal
}  // namespace samsa

#define SAMSA_LOG(level)                                                                         \
  !::samsa::internal::LogEnabled(::samsa::internal::kLevel_##level)                              \
      ? (void)0                                                                                  \
      : ::samsa::internal::Voidify() &                                                           \
            ::samsa::internal::LogMessage(__FILE__, __LINE__, ::samsa::internal::kLevel_##level) \
                .stream()

// Aborts with the condition's text and the streamed message when `cond` is
// false. Always on, in every build type: it guards invariants, not inputs.
#define SAMSA_CHECK(cond)                                                                         \
  (cond)                                                                                          \
      ? (void)0                                                                                   \
      : ::samsa::internal::Voidify() &                                                            \
            ::samsa::internal::LogMessage(__FILE__, __LINE__, ::samsa::LogLevel::kFatal).stream() \
                << "Check failed: " #cond " "
