// The samsa CLI's commands (docs/cli.md). Each takes the parsed
// arguments (positional words after the command's own) and returns OK or
// the error to print; INVALID_ARGUMENT means the command line was wrong
// (usage, exit 2), anything else that the work failed (exit 1).
#pragma once

#include <iosfwd>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "tools/args.h"

namespace samsa::tools {

struct Context {
  std::string bootstrap;
  bool json = false;       // --output json
  absl::Duration timeout;  // --request-timeout-ms: each call to the cluster
  std::istream* in = nullptr;
  std::ostream* out = nullptr;
  std::ostream* err = nullptr;
};

absl::Status RunTopic(const Context& ctx, const Args& args);
absl::Status RunCluster(const Context& ctx, const Args& args);
absl::Status RunProduce(const Context& ctx, const Args& args);
absl::Status RunConsume(const Context& ctx, const Args& args);
absl::Status RunPerf(const Context& ctx, const Args& args);
absl::Status RunGroup(const Context& ctx, const Args& args);
absl::Status RunReassignment(const Context& ctx, const Args& args);
// `topic reassign`, `cluster decommission|recommission` and `cluster
// balance` (RunTopic and RunCluster hand them over).
absl::Status RunTopicReassign(const Context& ctx, const Args& args);
absl::Status RunDecommission(const Context& ctx, const Args& args);
absl::Status RunBalance(const Context& ctx, const Args& args);

// The flags each command takes (besides the global ones).
extern const std::vector<FlagSpec> kTopicFlags;
extern const std::vector<FlagSpec> kProduceFlags;
extern const std::vector<FlagSpec> kConsumeFlags;
extern const std::vector<FlagSpec> kPerfFlags;
extern const std::vector<FlagSpec> kGroupFlags;
extern const std::vector<FlagSpec> kReassignmentFlags;
extern const std::vector<FlagSpec> kClusterFlags;

// Prints rows under headers with columns padded to their widest cell.
void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows);

}  // namespace samsa::tools
