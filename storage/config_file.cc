#include "storage/config_file.h"

#include "common/process_args.h"

namespace samsa::storage {

absl::StatusOr<std::optional<Config>> LoadProcessConfig(const ConfigDef& def, int argc,
                                                        const char* const* argv, Env* env) {
  absl::StatusOr<ProcessArgs> args =
      ParseProcessArgs(std::span<const char* const>(argv + 1, argc - 1));
  if (!args.ok()) return args.status();
  if (args->help) return std::optional<Config>();
  std::string text;
  std::string file_name;
  if (args->config_file.has_value()) {
    file_name = *args->config_file;
    absl::StatusOr<std::string> read = env->ReadFile(file_name);
    if (!read.ok()) return read.status();
    text = std::move(*read);
  }
  absl::StatusOr<Config> config = Config::Load(def, file_name, text, args->overrides);
  if (!config.ok()) return config.status();
  return std::optional<Config>(std::move(*config));
}

}  // namespace samsa::storage
