#include "common/logging.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/string_view.h"

namespace samsa {
namespace internal {
std::atomic<int> g_min_log_level{static_cast<int>(LogLevel::kInfo)};
}  // namespace internal

namespace {

class StderrSink final : public LogSink {
 public:
  void Write(LogLevel, std::string_view line) override {
    const char* p = line.data();
    size_t left = line.size();
    while (left > 0) {
      ssize_t n = ::write(STDERR_FILENO, p, left);
      if (n <= 0) return;  // nowhere left to report a failing stderr
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
};

struct LogState {
  absl::Mutex mu;
  std::string identity ABSL_GUARDED_BY(mu);
  LogSink* sink ABSL_GUARDED_BY(mu) = nullptr;
};

LogState& State() {
  static LogState* state = new LogState();
  return *state;
}

LogSink& DefaultSink() {
  static StderrSink* sink = new StderrSink();
  return *sink;
}

std::string_view Basename(const char* path) {
  std::string_view p(path);
  size_t slash = p.rfind('/');
  return slash == std::string_view::npos ? p : p.substr(slash + 1);
}

}  // namespace

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(ToAbsl(name));
  if (lower == "debug") return LogLevel::kDebug;
  if (lower == "info") return LogLevel::kInfo;
  if (lower == "warning" || lower == "warn") return LogLevel::kWarning;
  if (lower == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level '", lower, "' (expected debug, info, warning or error)"));
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
    case LogLevel::kFatal:
      return "FATAL";
  }
  return "?";
}

void SetMinLogLevel(LogLevel level) {
  internal::g_min_log_level.store(static_cast<int>(level), std::memory_order_relaxed);
}

LogLevel MinLogLevel() {
  return static_cast<LogLevel>(internal::g_min_log_level.load(std::memory_order_relaxed));
}

void SetLogIdentity(std::string_view role, int node_id) {
  LogState& s = State();
  absl::MutexLock lock(&s.mu);
  s.identity = absl::StrCat("[", ToAbsl(role), " ", node_id, "] ");
}

void SetLogSink(LogSink* sink) {
  LogState& s = State();
  absl::MutexLock lock(&s.mu);
  s.sink = sink;
}

namespace internal {

LogMessage::LogMessage(const char* file, int line, LogLevel level)
    : file_(file), line_(line), level_(level) {}

LogMessage::~LogMessage() {
  const std::string time =
      absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
  const std::string_view level = LogLevelName(level_);
  const std::string_view file = Basename(file_);
  LogState& s = State();
  {
    absl::MutexLock lock(&s.mu);
    std::string out = absl::StrCat(time, " ", ToAbsl(level), " ", s.identity, ToAbsl(file), ":",
                                   line_, "] ", stream_.str(), "\n");
    (s.sink != nullptr ? *s.sink : DefaultSink()).Write(level_, out);
  }
  if (level_ == LogLevel::kFatal) std::abort();
}

}  // namespace internal
}  // namespace samsa
