// `samsa group list|describe|reset-offsets|delete`.
#include <ostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "client/admin.h"
#include "nlohmann/json.hpp"
#include "tools/commands.h"
#include "tools/json_output.h"

namespace samsa::tools {
namespace {

using nlohmann::json;

std::string Assignment(const v1::GroupAssignment& a) {
  std::vector<std::string> parts;
  for (const v1::TopicPartitions& t : a.topics()) {
    for (int32_t p : t.partitions()) parts.push_back(absl::StrCat(t.topic(), "-", p));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, ",");
}

absl::Status OneGroup(const Args& args, const char* command) {
  if (args.positional.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat("group ", command, " takes one group name"));
  }
  return absl::OkStatus();
}

// --to-earliest | --to-latest | --to-offset N | --to-datetime ISO, exactly one.
absl::StatusOr<client::OffsetTarget> Target(const Args& args) {
  std::vector<client::OffsetTarget> targets;
  if (args.Has("to-earliest")) targets.push_back({client::OffsetTarget::Kind::kEarliest});
  if (args.Has("to-latest")) targets.push_back({client::OffsetTarget::Kind::kLatest});
  if (args.Has("to-offset")) {
    absl::StatusOr<int64_t> n = args.GetInt("to-offset", 0, 0, INT64_MAX);
    if (!n.ok()) return n.status();
    targets.push_back({client::OffsetTarget::Kind::kOffset, *n});
  }
  if (std::optional<std::string> when = args.Get("to-datetime")) {
    absl::Time t;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, *when, &t, &error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("--to-datetime '", *when,
                       "': expected RFC 3339, e.g. 2026-11-26T10:00:00Z (", error, ")"));
    }
    targets.push_back({client::OffsetTarget::Kind::kTimestamp, absl::ToUnixMillis(t)});
  }
  if (targets.size() != 1) {
    return absl::InvalidArgumentError(
        "group reset-offsets needs exactly one of --to-earliest, --to-latest, --to-offset N, "
        "--to-datetime ISO");
  }
  return targets[0];
}

}  // namespace

const std::vector<FlagSpec> kGroupFlags = {
    {"topic"}, {"to-earliest", false}, {"to-latest", false}, {"to-offset"}, {"to-datetime"}};

absl::Status RunGroup(const Context& ctx, const Args& all) {
  if (all.positional.empty()) {
    return absl::InvalidArgumentError(
        "group needs a subcommand: list, describe, reset-offsets, delete");
  }
  const std::string sub = all.positional[0];
  Args args = all;
  args.positional.erase(args.positional.begin());
  absl::StatusOr<std::unique_ptr<client::Admin>> admin =
      client::Admin::Create({.bootstrap = ctx.bootstrap, .timeout = ctx.timeout});
  if (!admin.ok()) return admin.status();

  if (sub == "list") {
    if (!args.positional.empty()) return absl::InvalidArgumentError("group list takes no name");
    absl::StatusOr<std::vector<v1::ListGroupsResponse::Group>> groups = (*admin)->ListGroups();
    if (!groups.ok()) return groups.status();
    if (ctx.json) {
      json out = json::array();
      for (const auto& g : *groups) {
        out.push_back({{"group", g.group()}, {"state", g.state()}, {"members", g.members()}});
      }
      PrintJson(*ctx.out, out);
      return absl::OkStatus();
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& g : *groups) rows.push_back({g.group(), g.state(), absl::StrCat(g.members())});
    PrintTable(*ctx.out, {"GROUP", "STATE", "MEMBERS"}, rows);
    return absl::OkStatus();
  }
  if (sub == "describe") {
    if (absl::Status st = OneGroup(args, "describe"); !st.ok()) return st;
    absl::StatusOr<client::GroupDescription> g = (*admin)->DescribeGroup(args.positional[0]);
    if (!g.ok()) return g.status();
    if (ctx.json) {
      json members = json::array();
      for (const v1::DescribeGroupsResponse::Member& m : g->members) {
        json assignment = json::array();
        for (const v1::TopicPartitions& t : m.assignment().topics()) {
          for (int32_t p : t.partitions())
            assignment.push_back({{"topic", t.topic()}, {"partition", p}});
        }
        members.push_back({{"member_id", m.member_id()},
                           {"client_id", m.client_id()},
                           {"member_epoch", m.member_epoch()},
                           {"assignment", assignment}});
      }
      json offsets = json::array();
      for (const client::GroupPartitionOffset& o : g->offsets) {
        offsets.push_back({{"topic", o.topic},
                           {"partition", o.partition},
                           {"committed", o.committed},
                           {"log_end", o.log_end},
                           {"lag", o.lag},
                           {"owner", o.owner.empty() ? json(nullptr) : json(o.owner)}});
      }
      PrintJson(*ctx.out, json{{"group", g->group},
                               {"state", g->state},
                               {"members", members},
                               {"offsets", offsets}});
      return absl::OkStatus();
    }
    *ctx.out << "Group: " << g->group << "  State: " << g->state << "  Epoch: " << g->epoch
             << "  Members: " << g->members.size() << "\n";
    std::vector<std::vector<std::string>> rows;
    for (const client::GroupPartitionOffset& o : g->offsets) {
      rows.push_back({o.topic, absl::StrCat(o.partition), absl::StrCat(o.committed),
                      o.log_end < 0 ? "?" : absl::StrCat(o.log_end), absl::StrCat(o.lag),
                      o.owner.empty() ? "-" : o.owner});
    }
    PrintTable(*ctx.out, {"TOPIC", "PARTITION", "COMMITTED", "LOG-END", "LAG", "OWNER"}, rows);
    if (!g->members.empty()) {
      rows.clear();
      for (const v1::DescribeGroupsResponse::Member& m : g->members) {
        rows.push_back({m.member_id(), m.client_id(), absl::StrCat(m.member_epoch()),
                        Assignment(m.assignment())});
      }
      PrintTable(*ctx.out, {"MEMBER", "CLIENT", "EPOCH", "ASSIGNMENT"}, rows);
    }
    return absl::OkStatus();
  }
  if (sub == "reset-offsets") {
    if (absl::Status st = OneGroup(args, "reset-offsets"); !st.ok()) return st;
    const std::optional<std::string> topic = args.Get("topic");
    if (!topic.has_value())
      return absl::InvalidArgumentError("group reset-offsets needs --topic T");
    absl::StatusOr<client::OffsetTarget> target = Target(args);
    if (!target.ok()) return target.status();
    absl::StatusOr<std::map<int32_t, int64_t>> offsets =
        (*admin)->ResetOffsets(args.positional[0], *topic, *target);
    if (!offsets.ok()) return offsets.status();
    if (ctx.json) {
      json out = json::array();
      for (const auto& [p, o] : *offsets) {
        out.push_back({{"topic", *topic}, {"partition", p}, {"committed", o}});
      }
      PrintJson(*ctx.out, out);
      return absl::OkStatus();
    }
    std::vector<std::vector<std::string>> rows;
    for (const auto& [p, o] : *offsets) rows.push_back({*topic, absl::StrCat(p), absl::StrCat(o)});
    PrintTable(*ctx.out, {"TOPIC", "PARTITION", "COMMITTED"}, rows);
    return absl::OkStatus();
  }
  if (sub == "delete") {
    if (absl::Status st = OneGroup(args, "delete"); !st.ok()) return st;
    if (absl::Status st = (*admin)->DeleteGroup(args.positional[0]); !st.ok()) return st;
    if (ctx.json) {
      PrintJson(*ctx.out, json{{"deleted", args.positional[0]}});
    } else {
      *ctx.out << "Deleted group " << args.positional[0] << "\n";
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown group subcommand '", sub, "'"));
}

}  // namespace samsa::tools
