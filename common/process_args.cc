#include "common/process_args.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/string_view.h"

namespace samsa {

absl::StatusOr<ProcessArgs> ParseProcessArgs(std::span<const char* const> args) {
  ProcessArgs out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg(args[i]);
    if (arg == "--help" || arg == "-h") {
      out.help = true;
      continue;
    }
    std::string_view flag = arg;
    std::optional<std::string_view> value;
    if (const size_t eq = arg.find('='); absl::StartsWith(ToAbsl(arg), "--") && eq != arg.npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    if (flag != "--config" && flag != "--override") {
      return absl::InvalidArgumentError(absl::StrCat("unknown argument '", ToAbsl(arg), "'"));
    }
    if (!value.has_value()) {
      if (i + 1 == args.size()) {
        return absl::InvalidArgumentError(absl::StrCat(ToAbsl(flag), " needs a value"));
      }
      value = args[++i];
    }
    if (flag == "--config") {
      if (out.config_file.has_value()) {
        return absl::InvalidArgumentError("--config given more than once");
      }
      if (value->empty()) return absl::InvalidArgumentError("--config needs a file name");
      out.config_file = std::string(*value);
    } else {
      if (value->find('=') == std::string_view::npos) {
        return absl::InvalidArgumentError(
            absl::StrCat("--override ", ToAbsl(*value), ": expected key=value"));
      }
      out.overrides.emplace_back(*value);
    }
  }
  return out;
}

std::string ProcessUsage(std::string_view program) {
  return absl::StrCat("usage: ", ToAbsl(program), " [--config FILE] [--override key=value ...]\n");
}

}  // namespace samsa
