// Command-line arguments shared by samsa-controller and samsa-broker
// (docs/configuration.md):
//
//   PROGRAM [--config FILE] [--override key=value ...] [--help]
//
// `--flag value` and `--flag=value` are both accepted. Anything else is an
// error naming the offending argument.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace samsa {

struct ProcessArgs {
  std::optional<std::string> config_file;
  std::vector<std::string> overrides;  // "key=value", in command-line order
  bool help = false;
};

// Parses argv without argv[0].
absl::StatusOr<ProcessArgs> ParseProcessArgs(std::span<const char* const> args);

std::string ProcessUsage(std::string_view program);

}  // namespace samsa
