// Debian 12's Abseil is built with its own absl::string_view, not an alias of
// std::string_view (ABSL_OPTION_USE_STD_STRING_VIEW=0). Samsa interfaces take
// std::string_view; these convert at the boundary with Abseil calls.
#pragma once

#include <string_view>

#include "absl/strings/string_view.h"

namespace samsa {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

}  // namespace samsa
