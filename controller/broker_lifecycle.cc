#include "controller/broker_lifecycle.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "common/config.h"
#include "common/metadata_records.h"
#include "controller/partition_changes.h"

namespace samsa::controller {

v1::Error CheckBrokerEpoch(const MetadataImage& image, int32_t broker, int64_t epoch) {
  const BrokerImage* b = image.FindBroker(NodeId(broker));
  if (b == nullptr) {
    return MakeError(v1::BROKER_ID_NOT_REGISTERED,
                     absl::StrCat("broker ", broker, " is not registered"));
  }
  if (b->epoch != epoch) {
    return MakeError(v1::STALE_BROKER_EPOCH,
                     absl::StrCat("broker ", broker, " epoch ", epoch,
                                  " is stale; the current registration has epoch ", b->epoch));
  }
  return v1::Error();
}

namespace {

// Answers `response` with why the request's broker epoch is not current;
// false if it is.
template <typename Request, typename Response>
bool RejectStale(const MetadataImage& image, const Request& request, Response& response) {
  v1::Error error = CheckBrokerEpoch(image, request.broker_id(), request.broker_epoch());
  if (error.code() == v1::NONE) return false;
  *response.mutable_error() = std::move(error);
  return true;
}

v1::Error InternalError(const absl::Status& st) {
  return MakeError(v1::UNKNOWN_SERVER_ERROR, std::string(st.message()));
}

// Adds `record`, then the elections and ISR changes it implies.
absl::Status AddAndReconcile(v1::MetadataRecord record, PendingBatch& batch) {
  if (absl::Status st = batch.Add(std::move(record)); !st.ok()) return st;
  return Reconcile(batch).status();
}

}  // namespace

v1::RegisterBrokerResponse RegisterBroker(const v1::RegisterBrokerRequest& request,
                                          PendingBatch& batch) {
  v1::RegisterBrokerResponse response;
  const Uuid incarnation = Uuid::FromProto(request.incarnation_id());
  if (request.broker_id() < 0) {
    *response.mutable_error() = MakeError(
        v1::INVALID_REQUEST, absl::StrCat("broker id must be >= 0, not ", request.broker_id()));
    return response;
  }
  if (incarnation.IsZero()) {
    *response.mutable_error() = MakeError(v1::INVALID_REQUEST, "incarnation id must not be zero");
    return response;
  }
  if (absl::Status st = ValidateHostPort(request.address()); !st.ok()) {
    *response.mutable_error() =
        MakeError(v1::INVALID_REQUEST,
                  absl::StrCat("broker address '", request.address(), "': ", st.message()));
    return response;
  }
  const BrokerImage* current = batch.image().FindBroker(NodeId(request.broker_id()));
  if (current != nullptr && current->incarnation == incarnation) {
    response.set_broker_epoch(current->epoch);  // a retry
    return response;
  }
  const int64_t epoch = batch.image().next_broker_epoch();
  if (absl::Status st =
          AddAndReconcile(records::RegisterBroker(NodeId(request.broker_id()), incarnation, epoch,
                                                  request.address(), request.rack()),
                          batch);
      !st.ok()) {
    *response.mutable_error() = InternalError(st);
    return response;
  }
  response.set_broker_epoch(epoch);
  return response;
}

v1::BrokerHeartbeatResponse BrokerHeartbeat(const v1::BrokerHeartbeatRequest& request,
                                            const MetadataImage& committed, PendingBatch& batch) {
  v1::BrokerHeartbeatResponse response;
  if (RejectStale(batch.image(), request, response)) return response;
  const NodeId id(request.broker_id());
  const BrokerImage* known = committed.FindBroker(id);
  const bool caught_up = known != nullptr && known->epoch == request.broker_epoch() &&
                         request.metadata_offset() >= known->registered_at;
  const BrokerImage* b = batch.image().FindBroker(id);
  if (b->fenced && caught_up && !b->shutting_down) {
    if (absl::Status st = AddAndReconcile(records::UnfenceBroker(id, b->epoch), batch); !st.ok()) {
      *response.mutable_error() = InternalError(st);
      return response;
    }
    b = batch.image().FindBroker(id);
  }
  response.set_is_caught_up(caught_up);
  response.set_is_fenced(b->fenced);
  response.set_should_shut_down(b->shutting_down && b->fenced);
  return response;
}

absl::Status FenceBroker(NodeId broker, int64_t epoch, PendingBatch& batch) {
  return AddAndReconcile(records::FenceBroker(broker, epoch), batch);
}

v1::ControlledShutdownResponse ControlledShutdown(const v1::ControlledShutdownRequest& request,
                                                  PendingBatch& batch) {
  v1::ControlledShutdownResponse response;
  if (RejectStale(batch.image(), request, response)) return response;
  const NodeId id(request.broker_id());
  absl::Status st;
  if (!batch.image().FindBroker(id)->shutting_down) {
    st = AddAndReconcile(records::BrokerShutdown(id, request.broker_epoch()), batch);
  }
  const int64_t remaining = MovableLeaderships(batch.image(), id);
  if (st.ok() && remaining == 0 && !batch.image().FindBroker(id)->fenced) {
    st = FenceBroker(id, request.broker_epoch(), batch);
  }
  if (!st.ok()) {
    *response.mutable_error() = InternalError(st);
    return response;
  }
  response.set_remaining_leaderships(static_cast<int32_t>(remaining));
  return response;
}

v1::AllocateProducerIdsResponse AllocateProducerIds(const v1::AllocateProducerIdsRequest& request,
                                                    PendingBatch& batch) {
  v1::AllocateProducerIdsResponse response;
  if (RejectStale(batch.image(), request, response)) return response;
  const int64_t first = batch.image().next_producer_id();
  if (absl::Status st = batch.Add(records::ProducerIdBlock(
          NodeId(request.broker_id()), request.broker_epoch(), first, kProducerIdBlockSize));
      !st.ok()) {
    *response.mutable_error() = InternalError(st);
    return response;
  }
  response.set_first_id(first);
  response.set_size(kProducerIdBlockSize);
  return response;
}

namespace {

void FillState(const PartitionImage& p, v1::AlterPartitionResponse::Result* out) {
  out->set_leader(p.leader.value());
  out->set_leader_epoch(p.leader_epoch.value());
  out->set_partition_epoch(p.partition_epoch);
  out->clear_isr();
  for (NodeId m : p.isr) out->add_isr(m.value());
}

// NONE, or why `want` cannot replace the ISR of `p` led by `leader`.
v1::Error CheckNewIsr(const MetadataImage& image, const PartitionImage& p, NodeId leader,
                      const google::protobuf::RepeatedField<int32_t>& want) {
  absl::flat_hash_set<int32_t> seen;
  bool has_leader = false;
  for (int32_t m : want) {
    if (!seen.insert(m).second) {
      return MakeError(v1::INVALID_REQUEST, absl::StrCat("ISR lists broker ", m, " twice"));
    }
    if (std::find(p.replicas.begin(), p.replicas.end(), NodeId(m)) == p.replicas.end()) {
      return MakeError(v1::INVALID_REQUEST, absl::StrCat("broker ", m, " is not a replica"));
    }
    has_leader |= NodeId(m) == leader;
    if (!p.InIsr(NodeId(m)) && !IsEligible(image, NodeId(m))) {
      return MakeError(v1::INELIGIBLE_REPLICA,
                       absl::StrCat("broker ", m, " is fenced or shutting down"));
    }
  }
  if (!has_leader) return MakeError(v1::INVALID_REQUEST, "the ISR must include the leader");
  return v1::Error();
}

}  // namespace

v1::AlterPartitionResponse AlterPartition(const v1::AlterPartitionRequest& request,
                                          PendingBatch& batch) {
  v1::AlterPartitionResponse response;
  if (RejectStale(batch.image(), request, response)) return response;
  const NodeId leader(request.broker_id());
  for (const v1::AlterPartitionRequest::Partition& want : request.partitions()) {
    v1::AlterPartitionResponse::Result* result = response.add_results();
    *result->mutable_topic_id() = want.topic_id();
    result->set_partition(want.partition());
    auto fail = [&](v1::ErrorCode code, std::string message) {
      *result->mutable_error() = MakeError(code, std::move(message));
    };
    const Uuid topic_id = Uuid::FromProto(want.topic_id());
    const TopicImage* topic = batch.image().FindTopic(topic_id);
    if (topic == nullptr) {
      fail(v1::UNKNOWN_TOPIC_ID, absl::StrCat("no topic with id ", topic_id.ToString()));
      continue;
    }
    if (want.partition() < 0 ||
        want.partition() >= static_cast<int32_t>(topic->partitions.size())) {
      fail(v1::UNKNOWN_TOPIC_OR_PARTITION,
           absl::StrCat("no partition ", topic->name, "-", want.partition()));
      continue;
    }
    const PartitionImage& p = topic->partitions[want.partition()];
    FillState(p, result);
    const std::string where = absl::StrCat(topic->name, "-", want.partition());
    if (want.leader_epoch() < p.leader_epoch.value()) {
      fail(v1::FENCED_LEADER_EPOCH, absl::StrCat(where, ": leader epoch ", want.leader_epoch(),
                                                 " is older than ", p.leader_epoch.value()));
      continue;
    }
    if (want.leader_epoch() > p.leader_epoch.value()) {
      fail(v1::UNKNOWN_LEADER_EPOCH, absl::StrCat(where, ": leader epoch ", want.leader_epoch(),
                                                  " is newer than ", p.leader_epoch.value()));
      continue;
    }
    if (p.leader != leader) {
      fail(v1::NOT_LEADER_OR_FOLLOWER,
           absl::StrCat(where, ": broker ", leader.value(), " is not the leader"));
      continue;
    }
    if (want.partition_epoch() != p.partition_epoch) {
      fail(v1::INVALID_UPDATE_VERSION,
           absl::StrCat(where, ": partition epoch ", want.partition_epoch(), " is not the current ",
                        p.partition_epoch));
      continue;
    }
    if (v1::Error e = CheckNewIsr(batch.image(), p, leader, want.new_isr()); e.code() != v1::NONE) {
      e.set_message(absl::StrCat(where, ": ", e.message()));
      *result->mutable_error() = std::move(e);
      continue;
    }
    std::vector<NodeId> isr;
    for (int32_t m : want.new_isr()) isr.emplace_back(m);
    if (isr == p.isr) continue;
    if (absl::Status st = batch.Add(records::PartitionChange(
            topic_id, want.partition(), std::nullopt, std::optional<std::vector<NodeId>>(isr)));
        !st.ok()) {
      *result->mutable_error() = InternalError(st);
      continue;
    }
    FillState(batch.image().FindTopic(topic_id)->partitions[want.partition()], result);
  }
  return response;
}

}  // namespace samsa::controller

namespace samsa::controller {
namespace {

// Replicas `broker` holds (targets of moves included), and the largest
// replication factor among them with the partition naming it.
struct Holdings {
  int32_t replicas = 0;
  size_t max_rf = 0;
  std::string widest;
};

Holdings HoldingsOf(const MetadataImage& image, NodeId broker) {
  Holdings h;
  for (const auto& [name, topic] : image.topics()) {
    for (size_t i = 0; i < topic->partitions.size(); ++i) {
      const PartitionImage& p = topic->partitions[i];
      if (std::find(p.replicas.begin(), p.replicas.end(), broker) == p.replicas.end()) continue;
      ++h.replicas;
      const size_t rf = p.Target().size();
      if (rf > h.max_rf) {
        h.max_rf = rf;
        h.widest = absl::StrCat(name, "-", i);
      }
    }
  }
  return h;
}

}  // namespace

v1::DecommissionBrokerResponse DecommissionBroker(const v1::DecommissionBrokerRequest& request,
                                                  PendingBatch& batch) {
  v1::DecommissionBrokerResponse response;
  const NodeId id(request.broker_id());
  const BrokerImage* b = batch.image().FindBroker(id);
  if (b == nullptr) {
    *response.mutable_error() = MakeError(
        v1::BROKER_ID_NOT_REGISTERED, absl::StrCat("broker ", id.value(), " is not registered"));
    return response;
  }
  const Holdings held = HoldingsOf(batch.image(), id);
  response.set_replicas(held.replicas);
  if (request.recommission()) {
    if (!b->decommissioning) {
      *response.mutable_error() = MakeError(
          v1::INVALID_REQUEST, absl::StrCat("broker ", id.value(), " is not being decommissioned"));
      return response;
    }
  } else {
    if (b->decommissioning) return response;
    size_t others = 0;
    for (const auto& [other, broker] : batch.image().brokers()) {
      others += other != id && broker.accepts_replicas() ? 1 : 0;
    }
    if (held.max_rf > others) {
      *response.mutable_error() =
          MakeError(v1::INVALID_REPLICATION_FACTOR,
                    absl::StrCat("broker ", id.value(), " cannot be decommissioned: ", held.widest,
                                 " has replication factor ", held.max_rf, " and only ", others,
                                 " other broker(s) can take replicas"));
      return response;
    }
  }
  if (absl::Status st = batch.Add(request.recommission() ? records::BrokerRecommission(id)
                                                         : records::BrokerDecommission(id));
      !st.ok()) {
    *response.mutable_error() = InternalError(st);
  }
  return response;
}

absl::StatusOr<int64_t> UnregisterDecommissioned(PendingBatch& batch) {
  std::vector<std::pair<NodeId, int64_t>> leaving;
  for (const auto& [id, b] : batch.image().brokers()) {
    if (b.decommissioning && b.fenced && HoldingsOf(batch.image(), id).replicas == 0) {
      leaving.emplace_back(id, b.epoch);
    }
  }
  for (const auto& [id, epoch] : leaving) {
    if (absl::Status st = batch.Add(records::UnregisterBroker(id, epoch)); !st.ok()) return st;
  }
  return static_cast<int64_t>(leaving.size());
}

}  // namespace samsa::controller
