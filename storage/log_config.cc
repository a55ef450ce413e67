#include "storage/log_config.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
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

std::string FlushPolicyName(const FlushPolicy& policy) {
  switch (policy.kind) {
    case FlushPolicy::Kind::kAlways:
      return "always";
    case FlushPolicy::Kind::kOs:
      return "os";
    case FlushPolicy::Kind::kInterval:
      return absl::StrCat("interval:", absl::ToInt64Milliseconds(policy.interval));
  }
  return "unknown";
}

}  // namespace samsa::storage
