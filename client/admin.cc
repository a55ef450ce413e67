#include "client/admin.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "client/errors.h"

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
  const absl::Time deadline = absl::Now() + config_.timeout;
  absl::Status last = absl::DeadlineExceededError("no broker was tried");
  while (absl::Now() < deadline) {
    const std::string address = metadata_.AnyBroker();
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(deadline));
    Response response;
    const grpc::Status st = rpc(transport_->Stub(address), &ctx, &response);
    if (st.ok()) return response;
    last = RpcError(absl::StrCat(what, " to ", address), st);
    if (st.error_code() != grpc::StatusCode::UNAVAILABLE) return last;
    absl::SleepFor(std::min(absl::Milliseconds(100), deadline - absl::Now()));
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

absl::Status Admin::AlterConfigs(const std::string& name,
                                 const std::map<std::string, std::string>& set,
                                 const std::vector<std::string>& reset) {
  v1::AlterConfigsRequest req;
  v1::AlterConfigsRequest::Topic* t = req.add_topics();
  t->set_name(name);
  for (const auto& [k, v] : set) {
    v1::AlterConfigsRequest::Op* op = t->add_ops();
    op->set_key(k);
    op->set_value(v);
  }
  for (const std::string& k : reset) {
    v1::AlterConfigsRequest::Op* op = t->add_ops();
    op->set_key(k);
    op->set_kind(v1::AlterConfigsRequest::Op::DELETE);
  }
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

}  // namespace samsa::client
