// `samsa topic reassign` and `samsa reassignment list|cancel`.
#include <ostream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/admin.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"
#include "tools/json_output.h"

namespace samsa::tools {
namespace {

using nlohmann::json;

absl::StatusOr<std::unique_ptr<client::Admin>> NewAdmin(const Context& ctx) {
  return client::Admin::Create({.bootstrap = ctx.bootstrap, .timeout = ctx.timeout});
}

// --partition P, required.
absl::StatusOr<int32_t> PartitionFlag(const Args& args, const char* command) {
  absl::StatusOr<int64_t> p = args.GetInt("partition", -1, 0, 1000000);
  if (!p.ok()) return p.status();
  if (*p < 0) return absl::InvalidArgumentError(absl::StrCat(command, " needs --partition P"));
  return static_cast<int32_t>(*p);
}

// --replicas 101,103,104: broker ids, the first the preferred leader.
absl::StatusOr<std::vector<int32_t>> ReplicasFlag(const Args& args) {
  std::optional<std::string> value = args.Get("replicas");
  if (!value.has_value()) {
    return absl::InvalidArgumentError("topic reassign needs --replicas ID,ID,...");
  }
  std::vector<int32_t> out;
  for (absl::string_view word : absl::StrSplit(*value, ',')) {
    int32_t id = 0;
    if (!absl::SimpleAtoi(word, &id) || id < 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--replicas '", *value, "': expected broker ids separated by commas, like 101,102,103"));
    }
    out.push_back(id);
  }
  return out;
}

std::string Ids(const google::protobuf::RepeatedField<int32_t>& ids) {
  return ids.empty() ? "-" : absl::StrJoin(ids, ",");
}

std::vector<int32_t> Vec(const google::protobuf::RepeatedField<int32_t>& ids) {
  return {ids.begin(), ids.end()};
}

// "12.5 MiB / 100.0 MiB (12%)", or "-" before the brokers reported sizes.
std::string Progress(const v1::PartitionReassignment& m) {
  if (m.bytes_total() < 0 || m.bytes_copied() < 0) return "-";
  auto mib = [](int64_t b) {
    return absl::StrFormat("%.1f MiB", static_cast<double>(b) / (1 << 20));
  };
  const int64_t pct =
      m.bytes_total() == 0 ? 100 : std::min<int64_t>(100, m.bytes_copied() * 100 / m.bytes_total());
  return absl::StrCat(mib(m.bytes_copied()), " / ", mib(m.bytes_total()), " (", pct, "%)");
}

absl::Status List(const Context& ctx, client::Admin& admin,
                  const std::vector<std::string>& topics) {
  absl::StatusOr<std::vector<v1::PartitionReassignment>> moves = admin.ListReassignments(topics);
  if (!moves.ok()) return moves.status();
  if (ctx.json) {
    json out = json::array();
    for (const v1::PartitionReassignment& m : *moves) {
      out.push_back({{"topic", m.topic()},
                     {"partition", m.partition()},
                     {"replicas", Vec(m.replicas())},
                     {"adding_replicas", Vec(m.adding_replicas())},
                     {"removing_replicas", Vec(m.removing_replicas())},
                     {"isr", Vec(m.isr())},
                     {"leader", m.leader()},
                     {"bytes_total", m.bytes_total()},
                     {"bytes_copied", m.bytes_copied()}});
    }
    PrintJson(*ctx.out, out);
    return absl::OkStatus();
  }
  if (moves->empty()) {
    *ctx.out << "No reassignment in progress\n";
    return absl::OkStatus();
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::PartitionReassignment& m : *moves) {
    rows.push_back({absl::StrCat(m.topic(), "-", m.partition()), Ids(m.replicas()),
                    Ids(m.adding_replicas()), Ids(m.removing_replicas()), Ids(m.isr()),
                    Progress(m)});
  }
  PrintTable(*ctx.out, {"PARTITION", "REPLICAS", "ADDING", "REMOVING", "ISR", "COPIED"}, rows);
  return absl::OkStatus();
}

}  // namespace

const std::vector<FlagSpec> kReassignmentFlags = {{"partition"}};

absl::Status RunTopicReassign(const Context& ctx, const Args& args) {
  if (args.positional.size() != 1) {
    return absl::InvalidArgumentError("topic reassign takes one topic name");
  }
  absl::StatusOr<int32_t> partition = PartitionFlag(args, "topic reassign");
  if (!partition.ok()) return partition.status();
  absl::StatusOr<std::vector<int32_t>> replicas = ReplicasFlag(args);
  if (!replicas.ok()) return replicas.status();
  absl::StatusOr<std::unique_ptr<client::Admin>> admin = NewAdmin(ctx);
  if (!admin.ok()) return admin.status();
  const std::string& topic = args.positional[0];
  if (absl::Status st = (*admin)->Reassign(topic, *partition, *replicas); !st.ok()) return st;
  if (ctx.json) {
    PrintJson(*ctx.out, json{{"topic", topic}, {"partition", *partition}, {"target", *replicas}});
  } else {
    *ctx.out << "Reassigning " << topic << "-" << *partition << " to "
             << absl::StrJoin(*replicas, ",") << " (samsa reassignment list shows progress)\n";
  }
  return absl::OkStatus();
}

absl::Status RunReassignment(const Context& ctx, const Args& all) {
  if (all.positional.empty()) {
    return absl::InvalidArgumentError("reassignment needs a subcommand: list, cancel");
  }
  const std::string sub = all.positional[0];
  Args args = all;
  args.positional.erase(args.positional.begin());
  absl::StatusOr<std::unique_ptr<client::Admin>> admin = NewAdmin(ctx);
  if (!admin.ok()) return admin.status();
  if (sub == "list") return List(ctx, **admin, args.positional);
  if (sub == "cancel") {
    if (args.positional.size() != 1) {
      return absl::InvalidArgumentError("reassignment cancel takes one topic name");
    }
    absl::StatusOr<int32_t> partition = PartitionFlag(args, "reassignment cancel");
    if (!partition.ok()) return partition.status();
    const std::string& topic = args.positional[0];
    if (absl::Status st = (*admin)->CancelReassignment(topic, *partition); !st.ok()) return st;
    if (ctx.json) {
      PrintJson(*ctx.out, json{{"topic", topic}, {"partition", *partition}, {"cancelled", true}});
    } else {
      *ctx.out << "Cancelled the reassignment of " << topic << "-" << *partition << "\n";
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown reassignment subcommand '", sub, "'"));
}

absl::Status RunDecommission(const Context& ctx, const Args& args) {
  const bool recommission = args.positional[0] == "recommission";
  int32_t broker = -1;
  if (args.positional.size() != 2 || !absl::SimpleAtoi(args.positional[1], &broker) || broker < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("cluster ", args.positional[0], " takes one broker id"));
  }
  absl::StatusOr<std::unique_ptr<client::Admin>> admin = NewAdmin(ctx);
  if (!admin.ok()) return admin.status();
  absl::StatusOr<int32_t> replicas =
      recommission ? (*admin)->RecommissionBroker(broker) : (*admin)->DecommissionBroker(broker);
  if (!replicas.ok()) return replicas.status();
  if (ctx.json) {
    PrintJson(
        *ctx.out,
        json{{"broker", broker}, {"decommissioning", !recommission}, {"replicas", *replicas}});
  } else if (recommission) {
    *ctx.out << "Broker " << broker << " is recommissioned; it holds " << *replicas
             << " replica(s)\n";
  } else {
    *ctx.out << "Decommissioning broker " << broker << ": " << *replicas
             << " replica(s) to move off it; `samsa cluster describe` shows how many are left. "
                "Once it holds none, stop it and it leaves the cluster.\n";
  }
  return absl::OkStatus();
}

absl::Status RunBalance(const Context& ctx, const Args& args) {
  if (args.positional.size() != 1) {
    return absl::InvalidArgumentError("cluster balance takes no arguments besides --dry-run");
  }
  const bool dry_run = args.Has("dry-run");
  absl::StatusOr<std::unique_ptr<client::Admin>> admin = NewAdmin(ctx);
  if (!admin.ok()) return admin.status();
  absl::StatusOr<v1::BalancePartitionsResponse> plan =
      dry_run ? (*admin)->PlanBalance() : (*admin)->Balance();
  if (!plan.ok()) return plan.status();
  if (ctx.json) {
    json moves = json::array();
    for (const v1::PlannedMove& m : plan->moves()) {
      moves.push_back({{"topic", m.topic()},
                       {"partition", m.partition()},
                       {"replicas", Vec(m.replicas())},
                       {"target", Vec(m.target())}});
    }
    PrintJson(*ctx.out, json{{"dry_run", dry_run},
                             {"moves", moves},
                             {"unplaceable", std::vector<std::string>(plan->unplaceable().begin(),
                                                                      plan->unplaceable().end())}});
    return absl::OkStatus();
  }
  if (plan->moves().empty()) {
    *ctx.out << "The brokers are balanced: nothing to move\n";
  } else {
    std::vector<std::vector<std::string>> rows;
    for (const v1::PlannedMove& m : plan->moves()) {
      rows.push_back(
          {absl::StrCat(m.topic(), "-", m.partition()), Ids(m.replicas()), Ids(m.target())});
    }
    PrintTable(*ctx.out, {"PARTITION", "REPLICAS", "TARGET"}, rows);
    *ctx.out << (dry_run ? "Dry run: nothing started\n"
                         : "Started; the controller goes on until the brokers are even "
                           "(samsa reassignment list shows progress)\n");
  }
  if (!plan->unplaceable().empty()) {
    *ctx.out << "Partitions with a replica that has nowhere to go: "
             << absl::StrJoin(plan->unplaceable(), ", ") << "\n";
  }
  return absl::OkStatus();
}

}  // namespace samsa::tools
