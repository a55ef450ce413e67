#include "storage/log_config.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/string_view.h"

namespace samsa::storage {

absl::StatusOr<FlushPolicy> ParseFlushPolicy(std::string_view text) {
  if (text == "always") return FlushPolicy{FlushPolicy::Kind::kAlways};
  if (text == "os") return FlushPolicy{FlushPolicy::Kind::kOs};
  constexpr std::string_view kInterval = "interval:";
  int64_t ms = 0;
  if (text.starts_with(kInterval) && absl::SimpleAtoi(ToAbsl(text.substr(kInterval.size())), &ms) &&
      ms > 0) {
    return FlushPolicy{FlushPolicy::Kind::kInterval, absl::Milliseconds(ms)};
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "'", ToAbsl(text), "' is not a flush policy (always, interval:<ms> with ms > 0, or os)"));
}

absl::StatusOr<CleanupPolicy> ParseCleanupPolicy(std::string_view text) {
  CleanupPolicy policy{.delete_old = false, .compact = false};
  for (absl::string_view part : absl::StrSplit(ToAbsl(text), ',')) {
    part = absl::StripAsciiWhitespace(part);
    bool* flag = part == "delete"    ? &policy.delete_old
                 : part == "compact" ? &policy.compact
                                     : nullptr;
    if (flag == nullptr || *flag) {
      return absl::InvalidArgumentError(absl::StrCat(
          "'", ToAbsl(text), "' is not a cleanup policy (delete, compact, or compact,delete)"));
    }
    *flag = true;
  }
  return policy;
}

std::string CleanupPolicyName(const CleanupPolicy& policy) {
  if (policy.compact && policy.delete_old) return "compact,delete";
  return policy.compact ? "compact" : "delete";
}

}  // namespace samsa::storage
