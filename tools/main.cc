// samsa: the command-line tool (docs/cli.md).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/mutex_checks.h"
#include "grpc/support/log.h"
#include "tools/commands.h"

namespace samsa::tools {
namespace {

constexpr char kUsage[] =
    R"(usage: samsa [--bootstrap host:port[,..]] [--output table|json] [--request-timeout-ms T] COMMAND
  topic create NAME [--partitions N] [--replication-factor R] [--config k=v ...]
  topic list | topic describe NAME | topic delete NAME
  topic alter-config NAME [--config k=v ...] [--delete-config k ...]
  topic add-partitions NAME --partitions N
  topic reassign NAME --partition P --replicas ID,ID,...
  reassignment list [TOPIC ...] | reassignment cancel TOPIC --partition P
  produce TOPIC [--key-separator SEP] [--acks all|1|0] [--partition P]
                [--compression none|gzip|lz4|zstd|snappy] [--delivery-report FILE|-]
                [--null-value MARKER]
  consume TOPIC [--group G [--group-instance-id ID]] [--from-beginning | --offset N --partition P] [--partition P]
                [--max-messages N] [--timeout-ms T] [--print-key] [--print-offset] [--print-partition]
  group list | group describe G | group delete G
  group reset-offsets G --topic T (--to-earliest | --to-latest | --to-offset N | --to-datetime ISO)
  cluster describe | cluster decommission BROKER | cluster recommission BROKER
  cluster balance [--dry-run] | cluster alter-config [--config k=v ...] [--delete-config k ...]
  perf produce TOPIC --records N --record-size B [--throughput R] [--acks all|1|0]
                [--batch-size B] [--linger-ms L] [--compression C] [--key-space K]
  perf consume TOPIC --records N [--group G]
  perf e2e TOPIC --records N --record-size B --throughput R (and produce's flags)
--bootstrap defaults to $SAMSA_BOOTSTRAP, then 127.0.0.1:9092.
)";

const std::vector<FlagSpec> kGlobalFlags = {
    {"bootstrap"}, {"output"}, {"request-timeout-ms"}, {"help", false}};

std::vector<FlagSpec> With(const std::vector<FlagSpec>& more) {
  std::vector<FlagSpec> all = kGlobalFlags;
  all.insert(all.end(), more.begin(), more.end());
  return all;
}

int Usage(const std::string& error) {
  if (!error.empty()) std::cerr << "samsa: " << error << "\n";
  std::cerr << kUsage;
  return 2;
}

int Main(int argc, char** argv) {
  const std::vector<std::string> argv_words(argv + 1, argv + argc);
  // First find the command (knowing every flag, so values are not taken
  // for words), then check the flags against what that command takes.
  std::vector<FlagSpec> every = kGlobalFlags;
  for (const auto* spec : {&kTopicFlags, &kProduceFlags, &kConsumeFlags, &kPerfFlags, &kGroupFlags,
                           &kReassignmentFlags, &kClusterFlags}) {
    every.insert(every.end(), spec->begin(), spec->end());
  }
  absl::StatusOr<Args> first = ParseArgs(argv_words, every);
  if (!first.ok()) return Usage(std::string(first.status().message()));
  if (first->Has("help")) {
    std::cout << kUsage;
    return 0;
  }
  if (first->positional.empty()) return Usage("no command given");
  const std::string command = first->positional[0];
  using Runner = absl::Status (*)(const Context&, const Args&);
  Runner run = nullptr;
  std::vector<FlagSpec> spec;
  if (command == "topic") {
    run = RunTopic;
    spec = With(kTopicFlags);
  } else if (command == "produce") {
    run = RunProduce;
    spec = With(kProduceFlags);
  } else if (command == "consume") {
    run = RunConsume;
    spec = With(kConsumeFlags);
  } else if (command == "group") {
    run = RunGroup;
    spec = With(kGroupFlags);
  } else if (command == "perf") {
    run = RunPerf;
    spec = With(kPerfFlags);
  } else if (command == "reassignment") {
    run = RunReassignment;
    spec = With(kReassignmentFlags);
  } else if (command == "cluster") {
    run = RunCluster;
    spec = With(kClusterFlags);
  } else {
    return Usage(absl::StrCat("unknown command '", command, "'"));
  }
  absl::StatusOr<Args> args = ParseArgs(argv_words, spec);
  if (!args.ok()) return Usage(absl::StrCat(command, ": ", args.status().message()));
  args->positional.erase(args->positional.begin());

  Context ctx;
  const char* env = std::getenv("SAMSA_BOOTSTRAP");
  ctx.bootstrap =
      args->Get("bootstrap").value_or(env != nullptr && *env != '\0' ? env : "127.0.0.1:9092");
  const std::string output = args->Get("output").value_or("table");
  if (output != "table" && output != "json") {
    return Usage(absl::StrCat("--output '", output, "': table or json"));
  }
  ctx.json = output == "json";
  absl::StatusOr<int64_t> timeout = args->GetInt("request-timeout-ms", 10000, 1, 3600000);
  if (!timeout.ok()) return Usage(std::string(timeout.status().message()));
  ctx.timeout = absl::Milliseconds(*timeout);
  ctx.in = &std::cin;
  ctx.out = &std::cout;
  ctx.err = &std::cerr;

  const absl::Status st = run(ctx, *args);
  std::cout.flush();
  if (st.ok()) return 0;
  if (absl::IsInvalidArgument(st)) return Usage(absl::StrCat(command, ": ", st.message()));
  std::cerr << "samsa: " << st.message() << "\n";
  return 1;
}

}  // namespace
}  // namespace samsa::tools

int main(int argc, char** argv) {
  samsa::SkipMutexDeadlockDetection();
  // Every failure reaches the user as one line from the command; gRPC's own
  // log lines (e.g. about connections torn down at exit) would only add noise.
  gpr_set_log_function([](gpr_log_func_args*) {});
  return samsa::tools::Main(argc, argv);
}
