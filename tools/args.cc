#include "tools/args.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace samsa::tools {

std::optional<std::string> Args::Get(const std::string& flag) const {
  auto it = flags.find(flag);
  if (it == flags.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

absl::StatusOr<int64_t> Args::GetInt(const std::string& flag, int64_t fallback, int64_t min,
                                     int64_t max) const {
  std::optional<std::string> v = Get(flag);
  if (!v.has_value()) return fallback;
  int64_t n = 0;
  if (!absl::SimpleAtoi(*v, &n) || n < min || n > max) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " '", *v, "': expected an integer in [", min, ", ", max, "]"));
  }
  return n;
}

absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::vector<FlagSpec>& spec) {
  Args out;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (!a.starts_with("--") || a == "--") {
      out.positional.push_back(a);
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> value;
    if (const size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    const FlagSpec* found = nullptr;
    for (const FlagSpec& f : spec) {
      if (f.name == name) found = &f;
    }
    if (found == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name));
    if (!found->takes_value) {
      if (value.has_value()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " takes no value"));
      }
      out.flags[name].push_back("true");
      continue;
    }
    if (!value.has_value()) {
      if (i + 1 >= argv.size()) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
      value = argv[++i];
    }
    out.flags[name].push_back(*value);
  }
  return out;
}

}  // namespace samsa::tools
