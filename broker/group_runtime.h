// GroupRuntime: consumer groups in a running broker — the GroupCoordinator
// over this broker's replicas of __consumer_offsets (through the
// ReplicaManager) and its RocksDB OffsetStore in <data.dir>/group-offsets,
// kept in step with the metadata image (which partitions this broker leads),
// with a background thread that expires member sessions, materializes what
// each local __consumer_offsets replica has committed, and exports the
// consumer lag of the groups coordinated here.
//
// __consumer_offsets is created through the controller on the first
// FindCoordinator (offsets.topic.num.partitions partitions, replication
// factor offsets.topic.replication.factor capped at the brokers there are);
// until it exists, group calls answer COORDINATOR_NOT_AVAILABLE.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "broker/group_coordinator.h"
#include "broker/replica_manager.h"
#include "common/clock.h"
#include "samsa/v1/broker.grpc.pb.h"
#include "samsa/v1/controller.pb.h"

namespace samsa::broker {

struct GroupRuntimeOptions {
  NodeId self;
  std::string data_dir;
  int32_t offsets_partitions = 50;
  int32_t offsets_replication_factor = 3;
  int64_t offsets_segment_bytes = 100 << 20;
  absl::Duration offsets_retention = absl::Hours(24 * 7);
  absl::Duration session_timeout = absl::Seconds(45);
  absl::Duration heartbeat_interval = absl::Seconds(5);
  Assignor assignor = &AssignUniform;
  ReplicaManager* replicas = nullptr;  // must outlive the runtime
  BrokerProbe* probe = nullptr;        // group metrics, if any; must outlive the runtime
  // Asks the active controller to create a topic (allow_internal set).
  std::function<void(v1::CreateTopicsRequest)> create_topic = nullptr;
};

class GroupRuntime {
 public:
  static absl::StatusOr<std::unique_ptr<GroupRuntime>> Open(GroupRuntimeOptions options);
  ~GroupRuntime();

  void OnImage(std::shared_ptr<const MetadataImage> image);

  v1::FindCoordinatorResponse FindCoordinator(const v1::FindCoordinatorRequest& request);
  v1::ConsumerGroupHeartbeatResponse Heartbeat(const v1::ConsumerGroupHeartbeatRequest& request);
  void OffsetCommit(const v1::OffsetCommitRequest& request,
                    absl::AnyInvocable<void(v1::OffsetCommitResponse)> done);
  v1::OffsetFetchResponse OffsetFetch(const v1::OffsetFetchRequest& request);
  v1::ListGroupsResponse ListGroups() { return coordinator_->ListGroups(); }
  v1::DescribeGroupsResponse DescribeGroups(const v1::DescribeGroupsRequest& request) {
    return coordinator_->DescribeGroups(request);
  }
  void DeleteGroups(const v1::DeleteGroupsRequest& request,
                    absl::AnyInvocable<void(v1::DeleteGroupsResponse)> done) {
    coordinator_->DeleteGroups(request, std::move(done));
  }

  // Stops the background thread (the destructor does too).
  void Close();

 private:
  class ReplicaLog;
  GroupRuntime(GroupRuntimeOptions options, std::unique_ptr<OffsetStore> store);
  std::map<std::string, int32_t> TopicPartitionCounts() const;
  void Loop();
  // Consumer lag of the groups coordinated here: each partition's high
  // watermark (read here where this broker leads it, else asked of its
  // leader) minus the group's committed offset.
  void RefreshLag();

  const GroupRuntimeOptions options_;
  std::unique_ptr<OffsetStore> store_;
  std::unique_ptr<ReplicaLog> log_;
  std::unique_ptr<GroupCoordinator> coordinator_;
  std::thread thread_;
  // Brokers asked for high watermarks, by address (used by the loop only).
  std::map<std::string, std::unique_ptr<v1::Broker::Stub>> peers_;

  mutable absl::Mutex mu_;
  std::shared_ptr<const MetadataImage> image_ ABSL_GUARDED_BY(mu_);
  absl::Time create_requested_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  Wakeup wakeup_;  // notified when stop_ is set
};

}  // namespace samsa::broker
