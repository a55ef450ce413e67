// Partition assignors for consumer groups (KIP-848's server-side
// assignors): pure functions from the members' subscriptions, their current
// assignment and the topics' partition counts to a target assignment. The
// coordinator then moves partitions toward the target without ever giving
// one partition two owners.
//
//   uniform  balanced and sticky: every subscribed partition goes to exactly
//            one member subscribed to its topic; members' partition counts
//            differ by at most one where their subscriptions allow it; a
//            member keeps the partitions it owns unless balance requires
//            moving them (Kafka's UniformAssignor / sticky behaviour).
//   range    per topic, the subscribed members in id order take contiguous
//            ranges, the first (partitions % members) one more (Kafka's
//            RangeAssignor); not sticky.
//
// Deterministic: the same input always gives the same output.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace samsa::broker {

struct GroupMember {
  std::string id;
  std::vector<std::string> topics;  // subscribed
  // Currently owned: topic -> partitions (stickiness input).
  std::map<std::string, std::vector<int32_t>> owned;
};

// member id -> topic -> partitions (sorted).
using GroupAssignment = std::map<std::string, std::map<std::string, std::vector<int32_t>>>;

GroupAssignment AssignUniform(const std::vector<GroupMember>& members,
                              const std::map<std::string, int32_t>& partitions);
GroupAssignment AssignRange(const std::vector<GroupMember>& members,
                            const std::map<std::string, int32_t>& partitions);

// The assignor called `name` ("uniform" or "range"); INVALID_ARGUMENT
// otherwise.
using Assignor = GroupAssignment (*)(const std::vector<GroupMember>&,
                                     const std::map<std::string, int32_t>&);
absl::StatusOr<Assignor> AssignorNamed(const std::string& name);

}  // namespace samsa::broker
