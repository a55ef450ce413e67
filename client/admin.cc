#include "client/admin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/errors.h"
#include "common/clock.h"

namespace samsa::client {
namespace {

// The whole-request error of an admin answer, else the first per-topic one.
template <typename Response>
absl::Status ErrorOf(const Response& r) {
  if (r.error().code() != v1::NONE) return KafkaError(r.error());
  if constexpr (requires { r.results(); }) {
    for (const auto& result : r.results()) {
      if (result.error().code() != v1::NONE) return KafkaError(result.error());
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string UuidHex(const v1::Uuid& id) {
  return absl::StrFormat("%016x%016x", id.most_significant_bits(), id.least_significant_bits());
}

absl::StatusOr<std::unique_ptr<Admin>> Admin::Create(AdminConfig config) {
  absl::StatusOr<std::vector<std::string>> bootstrap = ParseBootstrap(config.bootstrap);
  if (!bootstrap.ok()) return bootstrap.status();
  return std::unique_ptr<Admin>(new Admin(std::move(config), *std::move(bootstrap)));
}

Admin::Admin(AdminConfig config, std::vector<std::string> bootstrap)
    : config_(std::move(config)),
      transport_(std::make_shared<GrpcTransport>()),
      metadata_(transport_.get(), std::move(bootstrap)) {}

template <typename Response, typename Rpc>
absl::StatusOr<Response> Admin::Call(const char* what, Rpc rpc) {
  const absl::Time deadline = MonotonicNow() + config_.timeout;
  absl::Status last = absl::DeadlineExceededError("no broker was tried");
  while (MonotonicNow() < deadline) {
    const std::string address = metadata_.AnyBroker();
    grpc::ClientContext ctx;
    // gRPC takes a wall-clock deadline (and times the call on its own
    // monotonic clock from there).
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + (deadline - MonotonicNow())));
    Response response;
    const grpc::Status st = rpc(transport_->Stub(address), &ctx, &response);
    if (st.ok()) return response;
    last = RpcError(absl::StrCat(what, " to ", address), st);
    if (st.error_code() != grpc::StatusCode::UNAVAILABLE) return last;
    absl::SleepFor(std::min(absl::Milliseconds(100), deadline - MonotonicNow()));
  }
  return absl::DeadlineExceededError(absl::StrCat(
      "no broker answered within ", absl::FormatDuration(config_.timeout), ": ", last.message()));
}

absl::Status Admin::CreateTopic(const std::string& name, int32_t partitions,
                                int32_t replication_factor,
                                const std::map<std::string, std::string>& configs) {
  v1::CreateTopicsRequest req;
  v1::CreateTopicsRequest::Topic* t = req.add_topics();
  t->set_name(name);
  t->set_partitions(partitions);
  t->set_replication_factor(replication_factor);
  for (const auto& [k, v] : configs) (*t->mutable_configs())[k] = v;
  absl::StatusOr<v1::CreateTopicsResponse> r = Call<v1::CreateTopicsResponse>(
      "CreateTopics", [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
        return stub->CreateTopics(ctx, req, out);
      });
  return r.ok() ? ErrorOf(*r) : r.status();
}

absl::Status Admin::DeleteTopic(const std::string& name) {
  v1::DeleteTopicsRequest req;
  req.add_names(name);
  absl::StatusOr<v1::DeleteTopicsResponse> r = Call<v1::DeleteTopicsResponse>(
      "DeleteTopics", [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
        return stub->DeleteTopics(ctx, req, out);
      });
  return r.ok() ? ErrorOf(*r) : r.status();
}

absl::StatusOr<std::vector<std::string>> Admin::ListTopics() {
  absl::StatusOr<v1::MetadataResponse> r = Call<v1::MetadataResponse>(
      "Metadata", [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
        return stub->Metadata(ctx, v1::MetadataRequest(), out);
      });
  if (!r.ok()) return r.status();
  std::vector<std::string> names;
  for (const v1::TopicDescription& t : r->topics()) names.push_back(t.name());
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<TopicDescription> Admin::DescribeTopic(const std::string& name) {
  v1::MetadataRequest mreq;
  mreq.add_topics(name);
  absl::StatusOr<v1::MetadataResponse> md = Call<v1::MetadataResponse>(
      "Metadata", [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
        return stub->Metadata(ctx, mreq, out);
      });
  if (!md.ok()) return md.status();
  if (md->topics_size() != 1) return absl::InternalError("a Metadata answer without the topic");
  const v1::TopicDescription& t = md->topics(0);
  if (t.error().code() != v1::NONE) return KafkaError(t.error());
  v1::DescribeConfigsRequest creq;
  creq.add_topics(name);
  absl::StatusOr<v1::DescribeConfigsResponse> configs = Call<v1::DescribeConfigsResponse>(
      "DescribeConfigs", [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
        return stub->DescribeConfigs(ctx, creq, out);
      });
  if (!configs.ok()) return configs.status();
  if (absl::Status st = ErrorOf(*configs); !st.ok()) return st;
  TopicDescription out;
  out.name = t.name();
  out.topic_id = UuidHex(t.topic_id());
  out.partitions.assign(t.partitions().begin(), t.partitions().end());
  if (configs->results_size() == 1) {
    out.configs.assign(configs->results(0).configs().begin(), configs->results(0).configs().end());
  }
  return out;
}

namespace {

void AddOps(const std::map<std::string, std::string>& set, const std::vector<std::string>& reset,
            google::protobuf::RepeatedPtrField<v1::AlterConfigsRequest::Op>* ops) {
  for (const auto& [k, v] : set) {
    v1::AlterConfigsRequest::Op* op = ops->Add();
    op->set_key(k);
    op->set_value(v);
  }
  for (const std::string& k : reset) {
    v1::AlterConfigsRequest::Op* op = ops->Add();
    op->set_key(k);
    op->set_kind(v1::AlterConfigsRequest::Op::DELETE);
  }
}

}  // namespace

absl::Status Admin::AlterConfigs(const std::string& name,
                                 const std::map<std::string, std::string>& set,
                                 const std::vector<std::string>& reset) {
  v1::AlterConfigsRequest req;
  v1::AlterConfigsRequest::Topic* t = req.add_topics();
  t->set_name(name);
  AddOps(set, reset, t->mutable_ops());
  return SendAlterConfigs(req);
}

absl::Status Admin::AlterClusterConfigs(const std::map<std::string, std::string>& set,
                                        const std::vector<std::string>& reset) {
  v1::AlterConfigsRequest req;
  AddOps(set, reset, req.mutable_cluster_ops());
  return SendAlterConfigs(req);
}

absl::Status Admin::SendAlterConfigs(const v1::AlterConfigsRequest& req) {
  absl::StatusOr<v1::AlterConfigsResponse> r = Call<v1::AlterConfigsResponse>(
      "AlterConfigs", [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
        return stub->AlterConfigs(ctx, req, out);
      });
  return r.ok() ? ErrorOf(*r) : r.status();
}

absl::Status Admin::CreatePartitions(const std::string& name, int32_t total) {
  v1::CreatePartitionsRequest req;
  v1::CreatePartitionsRequest::Topic* t = req.add_topics();
  t->set_name(name);
  t->set_count(total);
  absl::StatusOr<v1::CreatePartitionsResponse> r = Call<v1::CreatePartitionsResponse>(
      "CreatePartitions", [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
        return stub->CreatePartitions(ctx, req, out);
      });
  return r.ok() ? ErrorOf(*r) : r.status();
}

absl::StatusOr<ClusterDescription> Admin::DescribeCluster() {
  ClusterDescription out;
  absl::StatusOr<v1::DescribeClusterResponse> brokers = Call<v1::DescribeClusterResponse>(
      "DescribeCluster", [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* o) {
        return stub->DescribeCluster(ctx, v1::DescribeClusterRequest(), o);
      });
  if (!brokers.ok()) return brokers.status();
  if (absl::Status st = ErrorOf(*brokers); !st.ok()) return st;
  absl::StatusOr<v1::DescribeQuorumResponse> quorum = Call<v1::DescribeQuorumResponse>(
      "DescribeQuorum", [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* o) {
        return stub->DescribeQuorum(ctx, v1::DescribeQuorumRequest(), o);
      });
  if (!quorum.ok()) return quorum.status();
  if (absl::Status st = ErrorOf(*quorum); !st.ok()) return st;
  out.brokers = *std::move(brokers);
  out.quorum = *std::move(quorum);
  return out;
}

absl::Status Admin::Reassign(const std::string& topic, int32_t partition,
                             const std::vector<int32_t>& replicas) {
  v1::AlterPartitionReassignmentsRequest req;
  auto* t = req.add_topics();
  t->set_name(topic);
  auto* p = t->add_partitions();
  p->set_partition(partition);
  for (int32_t r : replicas) p->add_replicas(r);
  return AlterReassignments(req);
}

absl::Status Admin::CancelReassignment(const std::string& topic, int32_t partition) {
  v1::AlterPartitionReassignmentsRequest req;
  auto* t = req.add_topics();
  t->set_name(topic);
  auto* p = t->add_partitions();
  p->set_partition(partition);
  p->set_cancel(true);
  return AlterReassignments(req);
}

absl::Status Admin::AlterReassignments(const v1::AlterPartitionReassignmentsRequest& req) {
  absl::StatusOr<v1::AlterPartitionReassignmentsResponse> r =
      Call<v1::AlterPartitionReassignmentsResponse>(
          "AlterPartitionReassignments",
          [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
            return stub->AlterPartitionReassignments(ctx, req, out);
          });
  return r.ok() ? ErrorOf(*r) : r.status();
}

absl::StatusOr<int32_t> Admin::DecommissionBroker(int32_t broker) {
  v1::DecommissionBrokerRequest req;
  req.set_broker_id(broker);
  return Decommission(req);
}

absl::StatusOr<int32_t> Admin::RecommissionBroker(int32_t broker) {
  v1::DecommissionBrokerRequest req;
  req.set_broker_id(broker);
  req.set_recommission(true);
  return Decommission(req);
}

absl::StatusOr<int32_t> Admin::Decommission(const v1::DecommissionBrokerRequest& req) {
  absl::StatusOr<v1::DecommissionBrokerResponse> r = Call<v1::DecommissionBrokerResponse>(
      "DecommissionBroker", [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
        return stub->DecommissionBroker(ctx, req, out);
      });
  if (!r.ok()) return r.status();
  if (absl::Status st = ErrorOf(*r); !st.ok()) return st;
  return r->replicas();
}

absl::StatusOr<v1::BalancePartitionsResponse> Admin::Balance() {
  return Balance(v1::BalancePartitionsRequest());
}

absl::StatusOr<v1::BalancePartitionsResponse> Admin::PlanBalance() {
  v1::BalancePartitionsRequest req;
  req.set_dry_run(true);
  return Balance(req);
}

absl::StatusOr<v1::BalancePartitionsResponse> Admin::Balance(
    const v1::BalancePartitionsRequest& req) {
  absl::StatusOr<v1::BalancePartitionsResponse> r = Call<v1::BalancePartitionsResponse>(
      "BalancePartitions", [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
        return stub->BalancePartitions(ctx, req, out);
      });
  if (!r.ok()) return r.status();
  if (absl::Status st = ErrorOf(*r); !st.ok()) return st;
  return *std::move(r);
}

absl::StatusOr<std::vector<v1::PartitionReassignment>> Admin::ListReassignments(
    const std::vector<std::string>& topics) {
  v1::ListPartitionReassignmentsRequest req;
  for (const std::string& t : topics) req.add_topics(t);
  absl::StatusOr<v1::ListPartitionReassignmentsResponse> r =
      Call<v1::ListPartitionReassignmentsResponse>(
          "ListPartitionReassignments",
          [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
            return stub->ListPartitionReassignments(ctx, req, out);
          });
  if (!r.ok()) return r.status();
  if (absl::Status st = ErrorOf(*r); !st.ok()) return st;
  return std::vector<v1::PartitionReassignment>(r->reassignments().begin(),
                                                r->reassignments().end());
}

template <typename Response, typename Rpc>
absl::StatusOr<Response> Admin::CallAt(const std::string& address, const char* what, Rpc rpc) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + config_.timeout));
  Response response;
  const grpc::Status st = rpc(transport_->Stub(address), &ctx, &response);
  if (!st.ok()) return RpcError(absl::StrCat(what, " to ", address), st);
  return response;
}

absl::StatusOr<std::string> Admin::Coordinator(const std::string& group) {
  const absl::Time deadline = MonotonicNow() + config_.timeout;
  v1::FindCoordinatorRequest req;
  req.set_group(group);
  while (true) {
    absl::StatusOr<v1::FindCoordinatorResponse> r = Call<v1::FindCoordinatorResponse>(
        "FindCoordinator", [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
          return stub->FindCoordinator(ctx, req, out);
        });
    if (!r.ok()) return r.status();
    if (r->error().code() == v1::NONE) return r->address();
    if (r->error().code() != v1::COORDINATOR_NOT_AVAILABLE || MonotonicNow() > deadline) {
      return KafkaError(r->error());
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

absl::StatusOr<std::vector<v1::ListGroupsResponse::Group>> Admin::ListGroups() {
  absl::StatusOr<v1::MetadataResponse> md = Call<v1::MetadataResponse>(
      "Metadata", [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
        return stub->Metadata(ctx, v1::MetadataRequest(), out);
      });
  if (!md.ok()) return md.status();
  std::map<std::string, v1::ListGroupsResponse::Group> all;
  for (const v1::BrokerDescription& b : md->brokers()) {
    absl::StatusOr<v1::ListGroupsResponse> r = CallAt<v1::ListGroupsResponse>(
        b.address(), "ListGroups",
        [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
          return stub->ListGroups(ctx, v1::ListGroupsRequest(), out);
        });
    if (!r.ok()) return r.status();
    if (r->error().code() != v1::NONE) return KafkaError(r->error());
    for (const v1::ListGroupsResponse::Group& g : r->groups()) all[g.group()] = g;
  }
  std::vector<v1::ListGroupsResponse::Group> out;
  for (auto& [name, g] : all) out.push_back(std::move(g));
  return out;
}

absl::StatusOr<std::map<int32_t, int64_t>> Admin::Offsets(const std::string& topic,
                                                          OffsetTarget target) {
  const absl::Time deadline = MonotonicNow() + config_.timeout;
  constexpr absl::Duration kBackoff = absl::Milliseconds(100);
  while (true) {
    absl::StatusOr<std::map<int32_t, int64_t>> out = OffsetsOnce(topic, target);
    const std::optional<v1::ErrorCode> code = KafkaCodeOf(out.status());
    if (out.ok() || !code.has_value() || !IsRetriable(*code) ||
        MonotonicNow() + kBackoff > deadline) {
      return out;
    }
    absl::SleepFor(kBackoff);
  }
}

absl::StatusOr<std::map<int32_t, int64_t>> Admin::OffsetsOnce(const std::string& topic,
                                                              OffsetTarget target) {
  v1::MetadataRequest mreq;
  mreq.add_topics(topic);
  absl::StatusOr<v1::MetadataResponse> md = Call<v1::MetadataResponse>(
      "Metadata", [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
        return stub->Metadata(ctx, mreq, out);
      });
  if (!md.ok()) return md.status();
  if (md->topics_size() != 1) return absl::InternalError("a Metadata answer without the topic");
  if (md->topics(0).error().code() != v1::NONE) return KafkaError(md->topics(0).error());
  std::map<int32_t, std::string> addresses;
  for (const v1::BrokerDescription& b : md->brokers()) addresses[b.broker_id()] = b.address();
  std::map<int32_t, int64_t> out;
  for (const v1::PartitionDescription& p : md->topics(0).partitions()) {
    if (target.kind == OffsetTarget::Kind::kOffset) {
      out[p.partition()] = target.value;
      continue;
    }
    auto leader = addresses.find(p.leader());
    if (leader == addresses.end()) {
      return KafkaError(v1::LEADER_NOT_AVAILABLE,
                        absl::StrCat(topic, "-", p.partition(), " has no leader"));
    }
    v1::ListOffsetsRequest req;
    v1::ListOffsetsRequest::Topic* t = req.add_topics();
    t->set_name(topic);
    v1::ListOffsetsRequest::Partition* lp = t->add_partitions();
    lp->set_partition(p.partition());
    lp->set_timestamp(target.kind == OffsetTarget::Kind::kEarliest ? -2
                      : target.kind == OffsetTarget::Kind::kLatest ? -1
                                                                   : target.value);
    absl::StatusOr<v1::ListOffsetsResponse> r =
        CallAt<v1::ListOffsetsResponse>(leader->second, "ListOffsets",
                                        [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx,
                                            auto* o) { return stub->ListOffsets(ctx, req, o); });
    if (!r.ok()) return r.status();
    const v1::ListOffsetsResponse::Partition& answer = r->topics(0).partitions(0);
    if (answer.error().code() != v1::NONE) return KafkaError(answer.error());
    out[p.partition()] = answer.offset();
  }
  // No record at or after the time: the end, as Kafka's tool does.
  if (target.kind == OffsetTarget::Kind::kTimestamp) {
    absl::StatusOr<std::map<int32_t, int64_t>> ends = Offsets(topic, {OffsetTarget::Kind::kLatest});
    if (!ends.ok()) return ends.status();
    for (auto& [p, offset] : out) {
      if (offset < 0) offset = (*ends)[p];
    }
  }
  return out;
}

absl::StatusOr<GroupDescription> Admin::DescribeGroup(const std::string& group) {
  absl::StatusOr<std::string> coordinator = Coordinator(group);
  if (!coordinator.ok()) return coordinator.status();
  v1::DescribeGroupsRequest req;
  req.add_groups(group);
  absl::StatusOr<v1::DescribeGroupsResponse> r = CallAt<v1::DescribeGroupsResponse>(
      *coordinator, "DescribeGroups",
      [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
        return stub->DescribeGroups(ctx, req, out);
      });
  if (!r.ok()) return r.status();
  if (r->groups_size() != 1)
    return absl::InternalError("a DescribeGroups answer without the group");
  const v1::DescribeGroupsResponse::Group& g = r->groups(0);
  if (g.error().code() != v1::NONE) return KafkaError(g.error());
  GroupDescription out;
  out.group = g.group();
  out.state = g.state();
  out.epoch = g.group_epoch();
  out.members.assign(g.members().begin(), g.members().end());
  std::map<std::string, std::map<int32_t, int64_t>> ends;
  for (const v1::DescribeGroupsResponse::Offset& o : g.offsets()) {
    if (!ends.contains(o.topic())) {
      absl::StatusOr<std::map<int32_t, int64_t>> e =
          Offsets(o.topic(), {OffsetTarget::Kind::kLatest});
      ends[o.topic()] = e.ok() ? *e : std::map<int32_t, int64_t>{};
    }
    GroupPartitionOffset p;
    p.topic = o.topic();
    p.partition = o.partition();
    p.committed = o.committed();
    auto end = ends[o.topic()].find(o.partition());
    p.log_end = end == ends[o.topic()].end() ? -1 : end->second;
    p.lag = p.log_end < 0 ? 0 : std::max<int64_t>(0, p.log_end - p.committed);
    p.owner = o.owner();
    out.offsets.push_back(std::move(p));
  }
  return out;
}

absl::Status Admin::DeleteGroup(const std::string& group) {
  absl::StatusOr<std::string> coordinator = Coordinator(group);
  if (!coordinator.ok()) return coordinator.status();
  v1::DeleteGroupsRequest req;
  req.add_groups(group);
  absl::StatusOr<v1::DeleteGroupsResponse> r = CallAt<v1::DeleteGroupsResponse>(
      *coordinator, "DeleteGroups",
      [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
        return stub->DeleteGroups(ctx, req, out);
      });
  if (!r.ok()) return r.status();
  if (r->results_size() != 1) return absl::InternalError("a DeleteGroups answer without the group");
  return r->results(0).error().code() == v1::NONE ? absl::OkStatus()
                                                  : KafkaError(r->results(0).error());
}

absl::StatusOr<std::map<int32_t, int64_t>> Admin::ResetOffsets(const std::string& group,
                                                               const std::string& topic,
                                                               OffsetTarget target) {
  absl::StatusOr<GroupDescription> g = DescribeGroup(group);
  if (g.ok() && !g->members.empty()) {
    return KafkaError(v1::NON_EMPTY_GROUP,
                      absl::StrCat("group ", group, " has ", g->members.size(),
                                   " members; stop them before resetting its offsets"));
  }
  if (!g.ok() && KafkaCodeOf(g.status()) != v1::GROUP_ID_NOT_FOUND) return g.status();
  absl::StatusOr<std::map<int32_t, int64_t>> offsets = Offsets(topic, target);
  if (!offsets.ok()) return offsets.status();
  absl::StatusOr<std::string> coordinator = Coordinator(group);
  if (!coordinator.ok()) return coordinator.status();
  v1::OffsetCommitRequest req;
  req.set_group(group);
  req.set_member_epoch(-1);  // standalone: the coordinator refuses it if members joined since
  for (const auto& [p, offset] : *offsets) {
    v1::OffsetCommitRequest::Partition* cp = req.add_partitions();
    cp->set_topic(topic);
    cp->set_partition(p);
    cp->set_offset(offset);
    cp->set_leader_epoch(-1);
  }
  absl::StatusOr<v1::OffsetCommitResponse> r = CallAt<v1::OffsetCommitResponse>(
      *coordinator, "OffsetCommit",
      [&](v1::Broker::Stub* stub, grpc::ClientContext* ctx, auto* out) {
        return stub->OffsetCommit(ctx, req, out);
      });
  if (!r.ok()) return r.status();
  if (r->error().code() != v1::NONE) return KafkaError(r->error());
  for (const v1::OffsetCommitResponse::Partition& p : r->partitions()) {
    if (p.error().code() != v1::NONE) {
      return WithContext(KafkaError(p.error()), absl::StrCat(p.topic(), "-", p.partition()));
    }
  }
  return offsets;
}

}  // namespace samsa::client
