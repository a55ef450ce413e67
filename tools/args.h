// Command-line parsing for the samsa CLI: positional words and --flags
// (`--flag value` or `--flag=value`), checked against what a command takes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace samsa::tools {

struct FlagSpec {
  std::string name;  // without the dashes
  bool takes_value = true;
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::vector<std::string>> flags;  // every value, in order

  bool Has(const std::string& flag) const { return flags.contains(flag); }
  // The flag's last value, if given.
  std::optional<std::string> Get(const std::string& flag) const;
  // The flag's value as an integer in [min, max]; `fallback` when absent.
  absl::StatusOr<int64_t> GetInt(const std::string& flag, int64_t fallback, int64_t min,
                                 int64_t max) const;
};

// INVALID_ARGUMENT naming the argument for an unknown flag, a missing value
// or a value given to a switch.
absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::vector<FlagSpec>& spec);

}  // namespace samsa::tools
