#include "broker/group_coordinator.h"

#include "absl/random/random.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/murmur2.h"
#include "common/wire_error.h"
#include "storage/batch_builder.h"

namespace samsa::broker {
namespace {

TopicPartitions FromProto(const v1::GroupAssignment& a) {
  TopicPartitions out;
  for (const v1::TopicPartitions& t : a.topics()) {
    out[t.topic()].assign(t.partitions().begin(), t.partitions().end());
  }
  return out;
}

void ToProto(const TopicPartitions& tps, v1::GroupAssignment* out) {
  for (const auto& [topic, ps] : tps) {
    v1::TopicPartitions* t = out->add_topics();
    t->set_topic(topic);
    for (int32_t p : ps) t->add_partitions(p);
  }
}

}  // namespace

PartitionId GroupCoordinator::PartitionFor(const std::string& group) const {
  absl::MutexLock lock(&mu_);
  return PartitionForLocked(group);
}

PartitionId GroupCoordinator::PartitionForLocked(const std::string& group) const {
  return PartitionId(partitions_ > 0 ? PartitionForKey(group, partitions_) : -1);
}

void GroupCoordinator::SetLeadership(int32_t partitions, std::set<PartitionId> led) {
  absl::MutexLock lock(&mu_);
  partitions_ = partitions;
  for (PartitionId p : led) {
    if (!led_.contains(p)) loading_[p] = options_.log->LogEnd(p);
  }
  for (auto it = loading_.begin(); it != loading_.end();) {
    it = led.contains(it->first) ? std::next(it) : loading_.erase(it);
  }
  led_ = std::move(led);
  for (auto it = groups_.begin(); it != groups_.end();) {
    if (led_.contains(PartitionForLocked(it->first))) {
      ++it;
    } else {
      it = groups_.erase(it);
    }
  }
  for (auto it = last_in_use_.begin(); it != last_in_use_.end();) {
    it = led_.contains(PartitionForLocked(it->first)) ? std::next(it) : last_in_use_.erase(it);
  }
}

bool GroupCoordinator::Coordinates(const std::string& group, v1::Error* error) {
  if (group.empty()) {
    SetError(error, v1::INVALID_GROUP_ID, "the group id is empty");
    return false;
  }
  if (partitions_ == 0) {
    SetError(error, v1::COORDINATOR_NOT_AVAILABLE,
             absl::StrCat(kOffsetsTopic, " does not exist yet"));
    return false;
  }
  if (!led_.contains(PartitionForLocked(group))) {
    SetError(error, v1::NOT_COORDINATOR,
             absl::StrCat("group ", group, " lives on ", kOffsetsTopic, " partition ",
                          PartitionForLocked(group).value(), ", which this broker does not lead"));
    return false;
  }
  const PartitionId p = PartitionForLocked(group);
  if (!LoadedLocked(p)) {
    SetError(error, v1::COORDINATOR_LOAD_IN_PROGRESS,
             absl::StrCat(kOffsetsTopic, " partition ", p.value(), " is catching up"));
    return false;
  }
  return true;
}

bool GroupCoordinator::LoadedLocked(PartitionId p) {
  auto it = loading_.find(p);
  if (it == loading_.end()) return true;
  if (options_.log->HighWatermark(p) < it->second) return false;
  loading_.erase(it);
  return true;
}

v1::ConsumerGroupHeartbeatResponse GroupCoordinator::Heartbeat(
    const v1::ConsumerGroupHeartbeatRequest& request, const std::map<std::string, int32_t>& topics,
    absl::Time now) {
  v1::ConsumerGroupHeartbeatResponse response;
  absl::MutexLock lock(&mu_);
  if (!Coordinates(request.group(), response.mutable_error())) return response;
  std::unique_ptr<ConsumerGroup>& group = groups_[request.group()];
  if (group == nullptr) {
    group = std::make_unique<ConsumerGroup>(request.group(), options_.assignor,
                                            options_.session_timeout);
  }
  GroupHeartbeat hb{.member_id = request.member_id(),
                    .member_epoch = request.member_epoch(),
                    .client_id = request.client_id(),
                    .instance_id = request.instance_id(),
                    .rebalance_timeout = absl::Milliseconds(request.rebalance_timeout_ms())};
  if (request.has_subscription()) {
    hb.topics = std::vector<std::string>(request.subscription().topics().begin(),
                                         request.subscription().topics().end());
  }
  if (request.has_owned()) hb.owned = FromProto(request.owned());
  // A joining member without an id gets a fresh random one.
  std::string new_id;
  if (request.member_epoch() == 0 && request.member_id().empty()) {
    absl::BitGen rng;
    new_id =
        absl::StrFormat("%016x%016x", absl::Uniform<uint64_t>(rng), absl::Uniform<uint64_t>(rng));
  }
  const int64_t rebalances = group->rebalances();
  const GroupHeartbeatResult r = group->Heartbeat(hb, topics, now, new_id);
  rebalances_ += group->rebalances() - rebalances;
  if (r.error != v1::NONE) SetError(response.mutable_error(), r.error, r.message);
  response.set_member_id(r.member_id);
  response.set_member_epoch(r.member_epoch);
  response.set_heartbeat_interval_ms(
      static_cast<int32_t>(absl::ToInt64Milliseconds(options_.heartbeat_interval)));
  ToProto(r.assignment, response.mutable_assignment());
  return response;
}

void GroupCoordinator::OffsetCommit(const v1::OffsetCommitRequest& request, absl::Time now,
                                    absl::AnyInvocable<void(v1::OffsetCommitResponse)> done) {
  v1::OffsetCommitResponse response;
  PartitionId partition;
  {
    absl::MutexLock lock(&mu_);
    if (!Coordinates(request.group(), response.mutable_error())) return done(std::move(response));
    auto it = groups_.find(request.group());
    GroupError error;
    if (it != groups_.end()) {
      std::vector<std::pair<std::string, int32_t>> partitions;
      for (const v1::OffsetCommitRequest::Partition& p : request.partitions()) {
        partitions.emplace_back(p.topic(), p.partition());
      }
      error = it->second->CheckCommit(request.member_id(), request.member_epoch(), partitions);
    } else if (!request.member_id().empty() || request.member_epoch() != -1) {
      error = {v1::UNKNOWN_MEMBER_ID, absl::StrCat("member '", request.member_id(),
                                                   "' may not commit for group ", request.group())};
    }
    if (error.code != v1::NONE) {
      SetError(response.mutable_error(), error.code, error.message);
      return done(std::move(response));
    }
    partition = PartitionForLocked(request.group());
  }
  storage::BatchBuilder batch;
  for (const v1::OffsetCommitRequest::Partition& p : request.partitions()) {
    v1::OffsetCommitResponse::Partition* out = response.add_partitions();
    out->set_topic(p.topic());
    out->set_partition(p.partition());
    if (p.offset() < 0) {
      SetError(out->mutable_error(), v1::INVALID_COMMIT_OFFSET_SIZE,
               absl::StrCat("offset ", p.offset(), " is negative"));
      continue;
    }
    if (static_cast<int32_t>(p.metadata().size()) > options_.max_metadata_bytes) {
      SetError(out->mutable_error(), v1::OFFSET_METADATA_TOO_LARGE,
               absl::StrCat("metadata of ", p.metadata().size(), " bytes is over ",
                            options_.max_metadata_bytes));
      continue;
    }
    v1::OffsetCommitValue value;
    value.set_offset(p.offset());
    value.set_leader_epoch(p.leader_epoch());
    value.set_metadata(p.metadata());
    value.set_commit_time_ms(absl::ToUnixMillis(now));
    batch.Append(absl::ToUnixMillis(now),
                 EncodeOffsetCommitKey(request.group(), p.topic(), p.partition()),
                 value.SerializeAsString());
  }
  if (batch.record_count() == 0) return done(std::move(response));
  absl::StatusOr<std::string> bytes = batch.Build();
  if (!bytes.ok()) {
    SetError(response.mutable_error(), v1::UNKNOWN_SERVER_ERROR,
             std::string(bytes.status().message()));
    return done(std::move(response));
  }
  options_.log->Append(
      partition, *std::move(bytes),
      [this, partition, response = std::move(response), done = std::move(done)](
          v1::ErrorCode code, std::string message) mutable {
        if (code == v1::NONE) {
          if (absl::Status st = Materialize(partition); !st.ok()) {
            code = v1::KAFKA_STORAGE_ERROR;
            message = std::string(st.message());
          }
        }
        for (v1::OffsetCommitResponse::Partition& p : *response.mutable_partitions()) {
          if (p.error().code() == v1::NONE && code != v1::NONE)
            SetError(p.mutable_error(), code, message);
        }
        done(std::move(response));
      });
}

v1::OffsetFetchResponse GroupCoordinator::OffsetFetch(const v1::OffsetFetchRequest& request) {
  v1::OffsetFetchResponse response;
  PartitionId partition;
  {
    absl::MutexLock lock(&mu_);
    if (!Coordinates(request.group(), response.mutable_error())) return response;
    partition = PartitionForLocked(request.group());
  }
  // Everything committed so far is readable, not only what the last tick
  // applied.
  if (absl::Status st = Materialize(partition); !st.ok()) {
    SetError(response.mutable_error(), v1::KAFKA_STORAGE_ERROR, std::string(st.message()));
    return response;
  }
  auto add = [&response](const std::string& topic, PartitionId p,
                         const std::optional<v1::OffsetCommitValue>& v) {
    v1::OffsetFetchResponse::Partition* out = response.add_partitions();
    out->set_topic(topic);
    out->set_partition(p.value());
    out->set_offset(v.has_value() ? v->offset() : -1);
    out->set_leader_epoch(v.has_value() ? v->leader_epoch() : -1);
    if (v.has_value()) out->set_metadata(v->metadata());
  };
  if (request.partitions().empty()) {
    auto all = options_.store->GroupOffsets(partition, request.group());
    if (!all.ok()) {
      SetError(response.mutable_error(), v1::KAFKA_STORAGE_ERROR,
               std::string(all.status().message()));
      return response;
    }
    for (const auto& [tp, v] : *all) add(tp.first, tp.second, v);
    return response;
  }
  for (const v1::TopicPartition& tp : request.partitions()) {
    auto v =
        options_.store->Get(partition, request.group(), tp.topic(), PartitionId(tp.partition()));
    if (!v.ok()) {
      SetError(response.mutable_error(), v1::KAFKA_STORAGE_ERROR,
               std::string(v.status().message()));
      return response;
    }
    add(tp.topic(), PartitionId(tp.partition()), *v);
  }
  return response;
}

namespace {

// One batch deleting every committed offset of `group` in `offsets`.
absl::StatusOr<std::string> Tombstones(
    const std::string& group,
    const std::map<std::pair<std::string, PartitionId>, v1::OffsetCommitValue>& offsets,
    absl::Time now) {
  storage::BatchBuilder batch;
  for (const auto& [tp, v] : offsets) {
    batch.Append(absl::ToUnixMillis(now), EncodeOffsetCommitKey(group, tp.first, tp.second.value()),
                 std::nullopt);
  }
  return batch.Build();
}

const char* StateName(ConsumerGroup::State s) {
  switch (s) {
    case ConsumerGroup::State::kEmpty:
      return "empty";
    case ConsumerGroup::State::kReconciling:
      return "reconciling";
    case ConsumerGroup::State::kStable:
      return "stable";
  }
  return "empty";
}

}  // namespace

v1::ListGroupsResponse GroupCoordinator::ListGroups() {
  v1::ListGroupsResponse response;
  std::set<PartitionId> led;
  std::map<std::string, std::pair<std::string, int32_t>> groups;  // name -> state, members
  {
    absl::MutexLock lock(&mu_);
    led = led_;
    for (const auto& [name, g] : groups_) {
      if (!g->empty())
        groups[name] = {StateName(g->state()), static_cast<int32_t>(g->Members().size())};
    }
  }
  for (PartitionId p : led) {
    if (absl::Status st = Materialize(p); !st.ok()) {
      SetError(response.mutable_error(), v1::KAFKA_STORAGE_ERROR, std::string(st.message()));
      return response;
    }
    absl::StatusOr<std::vector<std::string>> names = options_.store->Groups(p);
    if (!names.ok()) {
      SetError(response.mutable_error(), v1::KAFKA_STORAGE_ERROR,
               std::string(names.status().message()));
      return response;
    }
    for (const std::string& n : *names) groups.emplace(n, std::make_pair("empty", 0));
  }
  for (const auto& [name, info] : groups) {
    v1::ListGroupsResponse::Group* g = response.add_groups();
    g->set_group(name);
    g->set_state(info.first);
    g->set_members(info.second);
  }
  return response;
}

v1::DescribeGroupsResponse GroupCoordinator::DescribeGroups(
    const v1::DescribeGroupsRequest& request) {
  v1::DescribeGroupsResponse response;
  for (const std::string& name : request.groups()) {
    v1::DescribeGroupsResponse::Group* out = response.add_groups();
    out->set_group(name);
    PartitionId partition;
    {
      absl::MutexLock lock(&mu_);
      if (!Coordinates(name, out->mutable_error())) continue;
      partition = PartitionForLocked(name);
    }
    if (absl::Status st = Materialize(partition); !st.ok()) {
      SetError(out->mutable_error(), v1::KAFKA_STORAGE_ERROR, std::string(st.message()));
      continue;
    }
    auto offsets = options_.store->GroupOffsets(partition, name);
    if (!offsets.ok()) {
      SetError(out->mutable_error(), v1::KAFKA_STORAGE_ERROR,
               std::string(offsets.status().message()));
      continue;
    }
    absl::MutexLock lock(&mu_);
    auto it = groups_.find(name);
    const ConsumerGroup* g = it == groups_.end() ? nullptr : it->second.get();
    if ((g == nullptr || g->empty()) && offsets->empty()) {
      SetError(out->mutable_error(), v1::GROUP_ID_NOT_FOUND, absl::StrCat("no group ", name));
      continue;
    }
    out->set_state(g == nullptr ? "empty" : StateName(g->state()));
    out->set_group_epoch(g == nullptr ? 0 : g->epoch());
    if (g != nullptr) {
      for (const GroupMemberView& m : g->Members()) {
        v1::DescribeGroupsResponse::Member* mo = out->add_members();
        mo->set_member_id(m.member_id);
        mo->set_client_id(m.client_id);
        mo->set_member_epoch(m.member_epoch);
        mo->set_instance_id(m.instance_id);
        mo->set_left(m.left);
        ToProto(m.assignment, mo->mutable_assignment());
      }
    }
    for (const auto& [tp, v] : *offsets) {
      v1::DescribeGroupsResponse::Offset* o = out->add_offsets();
      o->set_topic(tp.first);
      o->set_partition(tp.second.value());
      o->set_committed(v.offset());
      if (g != nullptr) o->set_owner(g->OwnerOf(tp.first, tp.second.value()).value_or(""));
    }
  }
  return response;
}

void GroupCoordinator::DeleteGroups(const v1::DeleteGroupsRequest& request,
                                    absl::AnyInvocable<void(v1::DeleteGroupsResponse)> done) {
  // One group at a time, each its own tombstone batch; the answer goes
  // back when every group has its result.
  struct Pending {
    v1::DeleteGroupsResponse response;
    int left = 0;
    absl::Mutex mu;
    absl::AnyInvocable<void(v1::DeleteGroupsResponse)> done;
  };
  auto pending = std::make_shared<Pending>();
  pending->done = std::move(done);
  std::vector<std::pair<int, std::pair<PartitionId, std::string>>> appends;  // result index, batch
  for (const std::string& name : request.groups()) {
    v1::DeleteGroupsResponse::Result* r = pending->response.add_results();
    r->set_group(name);
    const int index = pending->response.results_size() - 1;
    PartitionId partition;
    {
      absl::MutexLock lock(&mu_);
      if (!Coordinates(name, r->mutable_error())) continue;
      auto it = groups_.find(name);
      if (it != groups_.end() && !it->second->empty()) {
        SetError(r->mutable_error(), v1::NON_EMPTY_GROUP,
                 absl::StrCat("group ", name, " has members; they must leave first"));
        continue;
      }
      partition = PartitionForLocked(name);
    }
    if (absl::Status st = Materialize(partition); !st.ok()) {
      SetError(r->mutable_error(), v1::KAFKA_STORAGE_ERROR, std::string(st.message()));
      continue;
    }
    auto offsets = options_.store->GroupOffsets(partition, name);
    if (!offsets.ok() || offsets->empty()) {
      SetError(
          r->mutable_error(), offsets.ok() ? v1::GROUP_ID_NOT_FOUND : v1::KAFKA_STORAGE_ERROR,
          offsets.ok() ? absl::StrCat("no group ", name) : std::string(offsets.status().message()));
      continue;
    }
    absl::StatusOr<std::string> bytes = Tombstones(name, *offsets, absl::Now());
    if (!bytes.ok()) {
      SetError(r->mutable_error(), v1::UNKNOWN_SERVER_ERROR, std::string(bytes.status().message()));
      continue;
    }
    appends.push_back({index, {partition, *std::move(bytes)}});
  }
  pending->left = static_cast<int>(appends.size());
  if (appends.empty()) return pending->done(std::move(pending->response));
  for (auto& append : appends) {
    const int index = append.first;
    auto& batch = append.second;
    const PartitionId partition = batch.first;
    const std::string name = request.groups(index);
    options_.log->Append(
        partition, std::move(batch.second),
        [this, pending, index, partition, name](v1::ErrorCode code, std::string message) {
          if (code == v1::NONE) {
            (void)Materialize(partition);
            absl::MutexLock lock(&mu_);
            auto it = groups_.find(name);
            if (it != groups_.end() && it->second->empty()) groups_.erase(it);
            last_in_use_.erase(name);
          }
          absl::MutexLock lock(&pending->mu);
          if (code != v1::NONE) {
            SetError(pending->response.mutable_results(index)->mutable_error(), code, message);
          }
          if (--pending->left == 0) pending->done(std::move(pending->response));
        });
  }
}

void GroupCoordinator::ExpireSessions(absl::Time now,
                                      const std::map<std::string, int32_t>& topics) {
  absl::MutexLock lock(&mu_);
  for (auto& [id, group] : groups_) {
    const int64_t rebalances = group->rebalances();
    group->ExpireSessions(now, topics);
    rebalances_ += group->rebalances() - rebalances;
  }
}

std::set<PartitionId> GroupCoordinator::Served() {
  absl::MutexLock lock(&mu_);
  std::set<PartitionId> out;
  for (PartitionId p : led_) {
    if (LoadedLocked(p)) out.insert(p);
  }
  return out;
}

std::vector<GroupCoordinator::Committed> GroupCoordinator::CommittedOffsets() {
  std::vector<Committed> out;
  for (PartitionId p : Served()) {
    absl::StatusOr<std::vector<std::string>> names = options_.store->Groups(p);
    if (!names.ok()) continue;
    for (const std::string& name : *names) {
      auto offsets = options_.store->GroupOffsets(p, name);
      if (!offsets.ok()) continue;
      for (const auto& [tp, v] : *offsets) {
        out.push_back({name, tp.first, tp.second, Offset(v.offset())});
      }
    }
  }
  return out;
}

void GroupCoordinator::ExpireOffsets(absl::Time now, absl::Duration retention) {
  for (PartitionId p : Served()) {
    if (!Materialize(p).ok()) continue;
    absl::StatusOr<std::vector<std::string>> names = options_.store->Groups(p);
    if (!names.ok()) continue;
    for (const std::string& name : *names) {
      absl::Time since = absl::InfinitePast();
      {
        absl::MutexLock lock(&mu_);
        auto it = groups_.find(name);
        if (it != groups_.end() && !it->second->empty()) {
          last_in_use_[name] = now;
          continue;
        }
        if (auto u = last_in_use_.find(name); u != last_in_use_.end()) since = u->second;
      }
      auto offsets = options_.store->GroupOffsets(p, name);
      if (!offsets.ok() || offsets->empty()) continue;
      for (const auto& [tp, v] : *offsets) {
        since = std::max(since, absl::FromUnixMillis(v.commit_time_ms()));
      }
      if (now - since <= retention) continue;
      {
        absl::MutexLock lock(&mu_);
        last_in_use_.erase(name);
      }
      absl::StatusOr<std::string> bytes = Tombstones(name, *offsets, now);
      if (!bytes.ok()) continue;
      options_.log->Append(p, *std::move(bytes), [this, p](v1::ErrorCode code, std::string) {
        if (code == v1::NONE) (void)Materialize(p);
      });
    }
  }
}

GroupCoordinator::Stats GroupCoordinator::stats() const {
  absl::MutexLock lock(&mu_);
  Stats s;
  for (const char* state : {"empty", "reconciling", "stable"}) s.groups_by_state[state] = 0;
  for (const auto& [id, group] : groups_) {
    if (group->empty()) continue;
    ++s.groups_by_state[StateName(group->state())];
    s.members += static_cast<int64_t>(group->Members().size());
  }
  s.rebalances = rebalances_;
  return s;
}

absl::Status GroupCoordinator::Materialize(PartitionId partition) {
  absl::MutexLock lock(&materialize_mu_);
  while (true) {
    absl::StatusOr<Offset> applied = options_.store->AppliedOffset(partition);
    if (!applied.ok()) return applied.status();
    // Does this replica's log still hold what was applied? Its epoch must
    // reach the applied offset; a truncation that let a newer epoch
    // overwrite it (even one that regrew past it) shows here.
    absl::StatusOr<Epoch> epoch = options_.store->AppliedEpoch(partition);
    if (!epoch.ok()) return epoch.status();
    if (*epoch >= Epoch(0) && options_.log->EndOffsetForEpoch(partition, *epoch) < *applied) {
      if (absl::Status st = options_.store->ResetPartition(partition); !st.ok()) return st;
      continue;
    }
    absl::StatusOr<std::string> batches = options_.log->ReadCommitted(partition, *applied);
    if (absl::IsOutOfRange(batches.status())) {
      if (absl::Status st = options_.store->ResetPartition(partition); !st.ok()) return st;
      continue;  // replay from the log start
    }
    if (!batches.ok()) return batches.status();
    if (batches->empty()) return absl::OkStatus();
    const std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(batches->data()),
                                         batches->size());
    if (absl::Status st = options_.store->ApplyBatches(partition, bytes); !st.ok()) return st;
    absl::StatusOr<Offset> after = options_.store->AppliedOffset(partition);
    if (!after.ok()) return after.status();
    if (*after == *applied) return absl::OkStatus();  // nothing past what was applied
  }
}

}  // namespace samsa::broker
