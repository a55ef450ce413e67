// Loading a process's configuration from its command line
// (common/process_args.h): the --config properties file, read through the
// Env like every file, then the --override arguments.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "common/config.h"
#include "common/process_args.h"
#include "storage/env.h"

namespace samsa::storage {

// The loaded configuration, or nullopt when --help was given (the caller
// prints the usage). Errors name the argument, file line or key.
absl::StatusOr<std::optional<Config>> LoadProcessConfig(const ConfigDef& def, int argc,
                                                        const char* const* argv, Env* env);

// For a process's main(): loads the configuration and turns it into
// settings with `to_settings`. --help prints the usage and exits 0; an error
// prints one line, "<program>: <what is wrong>", and exits 2.
template <typename Settings>
Settings LoadSettingsOrExit(std::string_view program, const ConfigDef& def, int argc,
                            const char* const* argv,
                            absl::StatusOr<Settings> (*to_settings)(const Config&)) {
  auto fail = [&](const absl::Status& st) {
    std::fprintf(stderr, "%.*s: %.*s\n", static_cast<int>(program.size()), program.data(),
                 static_cast<int>(st.message().size()), st.message().data());
    std::exit(2);
  };
  absl::StatusOr<std::optional<Config>> config = LoadProcessConfig(def, argc, argv, Env::Default());
  if (!config.ok()) fail(config.status());
  if (!config->has_value()) {
    std::fputs(ProcessUsage(program).c_str(), stdout);
    std::exit(0);
  }
  absl::StatusOr<Settings> settings = to_settings(**config);
  if (!settings.ok()) fail(settings.status());
  return *std::move(settings);
}

}  // namespace samsa::storage
