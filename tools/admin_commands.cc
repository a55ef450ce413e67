// `samsa topic ...` and `samsa cluster describe`.
#include <algorithm>
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "client/admin.h"
#include "client/errors.h"
#include "common/clock.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"
#include "tools/json_output.h"

namespace samsa::tools {
namespace {

using nlohmann::json;

const char* BrokerState(v1::BrokerDescription::State s) {
  switch (s) {
    case v1::BrokerDescription::ACTIVE:
      return "active";
    case v1::BrokerDescription::SHUTTING_DOWN:
      return "shutting-down";
    default:
      return "fenced";
  }
}

// "k=v" flags -> the map; INVALID_ARGUMENT naming a malformed one.
absl::StatusOr<std::map<std::string, std::string>> ConfigFlags(const Args& args) {
  std::map<std::string, std::string> out;
  auto it = args.flags.find("config");
  if (it == args.flags.end()) return out;
  for (const std::string& kv : it->second) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return absl::InvalidArgumentError(absl::StrCat("--config '", kv, "': expected key=value"));
    }
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

// --config k=v and --delete-config k of an alter-config; at least one.
struct ConfigChange {
  std::map<std::string, std::string> set;
  std::vector<std::string> reset;
};
absl::StatusOr<ConfigChange> ConfigChangeFlags(const Args& args, const char* command) {
  absl::StatusOr<std::map<std::string, std::string>> configs = ConfigFlags(args);
  if (!configs.ok()) return configs.status();
  ConfigChange change{.set = *std::move(configs), .reset = {}};
  if (auto it = args.flags.find("delete-config"); it != args.flags.end()) change.reset = it->second;
  if (change.set.empty() && change.reset.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat(command, " alter-config needs --config k=v or --delete-config k"));
  }
  return change;
}

absl::StatusOr<std::unique_ptr<client::Admin>> NewAdmin(const Context& ctx) {
  return client::Admin::Create({.bootstrap = ctx.bootstrap, .timeout = ctx.timeout});
}

absl::Status NeedName(const Args& args, const char* command) {
  if (args.positional.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("topic ", command, " takes one topic name"));
  }
  return absl::OkStatus();
}

std::string Ids(const google::protobuf::RepeatedField<int32_t>& ids) {
  return absl::StrJoin(ids, ",");
}

// Describes `name`; with `fresh` (just created), waits for the brokers'
// metadata to show it, which lags the controller's answer a little.
absl::Status Describe(const Context& ctx, client::Admin& admin, const std::string& name,
                      bool fresh = false) {
  absl::StatusOr<client::TopicDescription> t = admin.DescribeTopic(name);
  const absl::Time deadline = MonotonicNow() + ctx.timeout;
  while (fresh && client::KafkaCodeOf(t.status()) == v1::UNKNOWN_TOPIC_OR_PARTITION &&
         MonotonicNow() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    t = admin.DescribeTopic(name);
  }
  if (!t.ok()) return t.status();
  if (ctx.json) {
    json configs = json::object();
    for (const v1::ConfigEntry& c : t->configs) configs[c.key()] = c.value();
    json partitions = json::array();
    for (const v1::PartitionDescription& p : t->partitions) {
      partitions.push_back(
          {{"partition", p.partition()},
           {"leader", p.leader()},
           {"leader_epoch", p.leader_epoch()},
           {"replicas", std::vector<int32_t>(p.replicas().begin(), p.replicas().end())},
           {"isr", std::vector<int32_t>(p.isr().begin(), p.isr().end())},
           {"adding_replicas",
            std::vector<int32_t>(p.adding_replicas().begin(), p.adding_replicas().end())},
           {"removing_replicas",
            std::vector<int32_t>(p.removing_replicas().begin(), p.removing_replicas().end())}});
    }
    PrintJson(*ctx.out, json{{"name", t->name},
                             {"topic_id", t->topic_id},
                             {"configs", configs},
                             {"partitions", partitions}});
    return absl::OkStatus();
  }
  *ctx.out << "Topic: " << t->name << "  TopicId: " << t->topic_id
           << "  Partitions: " << t->partitions.size() << "\n";
  std::vector<std::vector<std::string>> set;
  for (const v1::ConfigEntry& c : t->configs) {
    if (c.source() == v1::ConfigEntry::TOPIC) set.push_back({c.key(), c.value()});
  }
  if (!set.empty()) {
    *ctx.out << "Configs (set on the topic):\n";
    PrintTable(*ctx.out, {"KEY", "VALUE"}, set);
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::PartitionDescription& p : t->partitions) {
    std::string moving = "-";
    if (!p.adding_replicas().empty() || !p.removing_replicas().empty()) {
      moving = absl::StrCat("+", Ids(p.adding_replicas()), " -", Ids(p.removing_replicas()));
    }
    rows.push_back({absl::StrCat(p.partition()), p.leader() < 0 ? "none" : absl::StrCat(p.leader()),
                    absl::StrCat(p.leader_epoch()), Ids(p.replicas()), Ids(p.isr()), moving});
  }
  PrintTable(*ctx.out, {"PARTITION", "LEADER", "EPOCH", "REPLICAS", "ISR", "MOVING"}, rows);
  return absl::OkStatus();
}

}  // namespace

const std::vector<FlagSpec> kTopicFlags = {{"partitions"},    {"replication-factor"}, {"config"},
                                           {"delete-config"}, {"partition"},          {"replicas"}};

absl::Status RunTopic(const Context& ctx, const Args& all) {
  if (all.positional.empty()) {
    return absl::InvalidArgumentError(
        "topic needs a subcommand: create, list, describe, delete, alter-config, "
        "add-partitions, reassign");
  }
  const std::string sub = all.positional[0];
  Args args = all;
  args.positional.erase(args.positional.begin());
  if (sub == "reassign") return RunTopicReassign(ctx, args);
  absl::StatusOr<std::unique_ptr<client::Admin>> admin = NewAdmin(ctx);
  if (!admin.ok()) return admin.status();

  if (sub == "create") {
    if (absl::Status st = NeedName(args, "create"); !st.ok()) return st;
    absl::StatusOr<int64_t> partitions = args.GetInt("partitions", 0, 1, 100000);
    absl::StatusOr<int64_t> rf = args.GetInt("replication-factor", 0, 1, 100);
    absl::StatusOr<std::map<std::string, std::string>> configs = ConfigFlags(args);
    for (const absl::Status& st : {partitions.status(), rf.status(), configs.status()}) {
      if (!st.ok()) return st;
    }
    absl::Status st = (*admin)->CreateTopic(args.positional[0], static_cast<int32_t>(*partitions),
                                            static_cast<int32_t>(*rf), *configs);
    if (!st.ok()) return st;
    if (!ctx.json) *ctx.out << "Created topic " << args.positional[0] << "\n";
    return Describe(ctx, **admin, args.positional[0], /*fresh=*/true);
  }
  if (sub == "list") {
    if (!args.positional.empty()) return absl::InvalidArgumentError("topic list takes no name");
    absl::StatusOr<std::vector<std::string>> names = (*admin)->ListTopics();
    if (!names.ok()) return names.status();
    if (ctx.json) {
      PrintJson(*ctx.out, json(*names));
    } else {
      for (const std::string& n : *names) *ctx.out << n << "\n";
    }
    return absl::OkStatus();
  }
  if (sub == "describe") {
    if (absl::Status st = NeedName(args, "describe"); !st.ok()) return st;
    return Describe(ctx, **admin, args.positional[0]);
  }
  if (sub == "delete") {
    if (absl::Status st = NeedName(args, "delete"); !st.ok()) return st;
    if (absl::Status st = (*admin)->DeleteTopic(args.positional[0]); !st.ok()) return st;
    if (ctx.json) {
      PrintJson(*ctx.out, json{{"deleted", args.positional[0]}});
    } else {
      *ctx.out << "Deleted topic " << args.positional[0] << "\n";
    }
    return absl::OkStatus();
  }
  if (sub == "alter-config") {
    if (absl::Status st = NeedName(args, "alter-config"); !st.ok()) return st;
    absl::StatusOr<ConfigChange> change = ConfigChangeFlags(args, "topic");
    if (!change.ok()) return change.status();
    if (absl::Status st = (*admin)->AlterConfigs(args.positional[0], change->set, change->reset);
        !st.ok()) {
      return st;
    }
    return Describe(ctx, **admin, args.positional[0]);
  }
  if (sub == "add-partitions") {
    if (absl::Status st = NeedName(args, "add-partitions"); !st.ok()) return st;
    absl::StatusOr<int64_t> total = args.GetInt("partitions", -1, 1, 100000);
    if (!total.ok()) return total.status();
    if (*total < 0) {
      return absl::InvalidArgumentError(
          "topic add-partitions needs --partitions N (the new total)");
    }
    if (absl::Status st =
            (*admin)->CreatePartitions(args.positional[0], static_cast<int32_t>(*total));
        !st.ok()) {
      return st;
    }
    return Describe(ctx, **admin, args.positional[0]);
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown topic subcommand '", sub, "'"));
}

const std::vector<FlagSpec> kClusterFlags = {{"dry-run", false}, {"config"}, {"delete-config"}};

absl::Status RunCluster(const Context& ctx, const Args& args) {
  if (args.positional.empty()) {
    return absl::InvalidArgumentError(
        "cluster needs a subcommand: describe, alter-config, decommission, recommission, "
        "balance");
  }
  const std::string& sub = args.positional[0];
  if (sub == "decommission" || sub == "recommission") return RunDecommission(ctx, args);
  if (sub == "balance") return RunBalance(ctx, args);
  if (sub == "alter-config") {
    if (args.positional.size() != 1) {
      return absl::InvalidArgumentError("cluster alter-config takes no name, only --config");
    }
    absl::StatusOr<ConfigChange> change = ConfigChangeFlags(args, "cluster");
    if (!change.ok()) return change.status();
    absl::StatusOr<std::unique_ptr<client::Admin>> admin = NewAdmin(ctx);
    if (!admin.ok()) return admin.status();
    if (absl::Status st = (*admin)->AlterClusterConfigs(change->set, change->reset); !st.ok()) {
      return st;
    }
    if (ctx.json) {
      PrintJson(*ctx.out, json{{"set", change->set}, {"deleted", change->reset}});
    } else {
      *ctx.out << "Cluster configs changed\n";
    }
    return absl::OkStatus();
  }
  if (sub != "describe" || args.positional.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("cluster: unknown subcommand or extra words: '",
                                                   absl::StrJoin(args.positional, " "), "'"));
  }
  absl::StatusOr<std::unique_ptr<client::Admin>> admin = NewAdmin(ctx);
  if (!admin.ok()) return admin.status();
  absl::StatusOr<client::ClusterDescription> c = (*admin)->DescribeCluster();
  if (!c.ok()) return c.status();
  const v1::DescribeQuorumResponse& q = c->quorum;
  const v1::BalancerStatus& balancer = c->brokers.balancer();
  if (ctx.json) {
    json controllers = json::array();
    for (const v1::DescribeQuorumResponse::Voter& v : q.voters()) {
      controllers.push_back({{"id", v.id()},
                             {"address", v.address()},
                             {"leader", v.id() == q.leader_id()},
                             {"term", q.term()},
                             {"commit_index", q.commit_index()},
                             {"lag", v.lag()}});
    }
    json brokers = json::array();
    for (const v1::BrokerDescription& b : c->brokers.brokers()) {
      brokers.push_back({{"id", b.broker_id()},
                         {"address", b.address()},
                         {"state", BrokerState(b.state())},
                         {"decommissioning", b.decommissioning()},
                         {"epoch", b.broker_epoch()},
                         {"rack", b.rack()},
                         {"replicas", b.replicas()},
                         {"preferred_leaders", b.preferred_leaders()},
                         {"log_bytes", b.log_bytes()}});
    }
    json status = {{"mode", balancer.mode()},
                   {"partitions_moving", balancer.partitions_moving()},
                   {"bytes_left", balancer.bytes_left()},
                   {"last_plan_at_ms", balancer.last_plan_at_ms()},
                   {"last_plan_moves", balancer.last_plan_moves()},
                   {"unplaceable", std::vector<std::string>(balancer.unplaceable().begin(),
                                                            balancer.unplaceable().end())}};
    json cluster_configs = json::object();
    for (const auto& [k, v] : c->brokers.cluster_configs()) cluster_configs[k] = v;
    PrintJson(*ctx.out, json{{"controllers", controllers},
                             {"brokers", brokers},
                             {"balancer", status},
                             {"configs", cluster_configs}});
    return absl::OkStatus();
  }
  *ctx.out << "Controllers (term " << q.term() << ", commit index " << q.commit_index() << "):\n";
  std::vector<std::vector<std::string>> rows;
  for (const v1::DescribeQuorumResponse::Voter& v : q.voters()) {
    rows.push_back({absl::StrCat(v.id()), v.address(),
                    v.id() == q.leader_id() ? "leader" : "follower", absl::StrCat(v.match_index()),
                    absl::StrCat(v.lag())});
  }
  PrintTable(*ctx.out, {"ID", "ADDRESS", "ROLE", "MATCH INDEX", "LAG"}, rows);
  *ctx.out << "Brokers:\n";
  rows.clear();
  for (const v1::BrokerDescription& b : c->brokers.brokers()) {
    rows.push_back(
        {absl::StrCat(b.broker_id()), b.address(),
         absl::StrCat(BrokerState(b.state()), b.decommissioning() ? ", decommissioning" : ""),
         absl::StrCat(b.broker_epoch()), b.rack().empty() ? "-" : b.rack(),
         absl::StrCat(b.replicas()), absl::StrCat(b.preferred_leaders()),
         b.log_bytes() < 0 ? "-" : absl::StrCat(b.log_bytes())});
  }
  PrintTable(*ctx.out, {"ID", "ADDRESS", "STATE", "EPOCH", "RACK", "REPLICAS", "LEADERS", "LOG"},
             rows);
  *ctx.out << "Balancer: mode " << balancer.mode() << ", " << balancer.partitions_moving()
           << " partition(s) moving";
  if (balancer.bytes_left() > 0) *ctx.out << ", " << balancer.bytes_left() << " bytes left";
  if (balancer.last_plan_at_ms() > 0) {
    *ctx.out << "; last plan "
             << absl::FormatTime("%Y-%m-%dT%H:%M:%SZ",
                                 absl::FromUnixMillis(balancer.last_plan_at_ms()),
                                 absl::UTCTimeZone())
             << " started " << balancer.last_plan_moves() << " move(s)";
  }
  *ctx.out << "\n";
  if (!balancer.unplaceable().empty()) {
    *ctx.out << "Partitions with a replica that has nowhere to go: "
             << absl::StrJoin(balancer.unplaceable(), ", ") << "\n";
  }
  if (!c->brokers.cluster_configs().empty()) {
    *ctx.out << "Cluster configs (set with cluster alter-config):\n";
    std::map<std::string, std::string> sorted(c->brokers.cluster_configs().begin(),
                                              c->brokers.cluster_configs().end());
    rows.clear();
    for (const auto& [k, v] : sorted) rows.push_back({k, v});
    PrintTable(*ctx.out, {"KEY", "VALUE"}, rows);
  }
  return absl::OkStatus();
}

void PrintTable(std::ostream& out, const std::vector<std::string>& headers,
                const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(headers.size());
  for (size_t i = 0; i < headers.size(); ++i) width[i] = headers[i].size();
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  auto line = [&](const std::vector<std::string>& cells) {
    std::string s;
    for (size_t i = 0; i < cells.size(); ++i) {
      s += cells[i];
      if (i + 1 < cells.size()) s += std::string(width[i] - cells[i].size() + 2, ' ');
    }
    out << s << "\n";
  };
  line(headers);
  for (const auto& row : rows) line(row);
}

}  // namespace samsa::tools
