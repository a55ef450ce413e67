// Writes the starting corpus for the request fuzz target: one well-formed
// request of each kind it serves, behind the target's kind byte.
//   samsa-fuzz-request-seeds DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "samsa/v1/broker.pb.h"
#include "samsa/v1/controller.pb.h"
#include "samsa/v1/groups.pb.h"
#include "storage/batch_builder.h"

int main(int argc, char** argv) {
  using namespace samsa;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  int n = 0;
  auto seed = [&](char kind, const google::protobuf::Message& m) {
    std::ofstream(dir + "/seed-" + std::to_string(n++), std::ios::binary)
        << kind << m.SerializeAsString();
  };

  v1::ProduceRequest produce;
  produce.set_acks(-1);
  produce.set_timeout_ms(10);
  v1::ProduceRequest::Partition* plain = produce.add_topics()->add_partitions();
  produce.mutable_topics(0)->set_name("t");
  plain->add_plain()->set_value("v");
  storage::BatchBuilder builder({.compression = storage::Compression::kLz4});
  builder.Append(1700000000000, "k", "v");
  builder.Append(1700000000001, std::nullopt, "w");
  absl::StatusOr<std::string> batch = builder.Build();
  if (!batch.ok()) return 1;
  v1::ProduceRequest::Partition* raw = produce.mutable_topics(0)->add_partitions();
  raw->set_records(*batch);
  seed(0, produce);

  v1::FetchRequest fetch;
  v1::FetchRequest::Partition* fp = fetch.add_topics()->add_partitions();
  fetch.mutable_topics(0)->set_name("t");
  fp->set_offset(0);
  fetch.set_max_bytes(1 << 20);
  seed(1, fetch);

  v1::ListOffsetsRequest list;
  list.add_topics()->set_name("t");
  list.mutable_topics(0)->add_partitions()->set_timestamp(-2);
  seed(2, list);

  v1::ReplicaFetchRequest replica;
  replica.set_replica_id(2);
  replica.set_broker_epoch(2);
  v1::ReplicaFetchRequest::Partition* rp = replica.add_partitions();
  rp->set_topic("t");
  rp->set_fetch_offset(1);
  rp->set_last_fetched_epoch(0);
  seed(3, replica);

  v1::CreateTopicsRequest create;
  v1::CreateTopicsRequest::Topic* ct = create.add_topics();
  ct->set_name("new");
  ct->set_partitions(3);
  ct->set_replication_factor(2);
  (*ct->mutable_configs())["retention.ms"] = "1000";
  seed(4, create);

  v1::DeleteTopicsRequest del;
  del.add_names("t");
  seed(5, del);

  v1::CreatePartitionsRequest more;
  more.add_topics()->set_name("t");
  more.mutable_topics(0)->set_count(4);
  seed(6, more);

  v1::AlterConfigsRequest alter;
  v1::AlterConfigsRequest::Topic* at = alter.add_topics();
  at->set_name("t");
  v1::AlterConfigsRequest::Op* op = at->add_ops();
  op->set_key("min.insync.replicas");
  op->set_value("2");
  seed(7, alter);

  v1::DescribeConfigsRequest describe;
  describe.add_topics("t");
  seed(8, describe);

  v1::RegisterBrokerRequest reg;
  reg.set_broker_id(4);
  reg.set_address("127.0.0.1:9004");
  reg.mutable_incarnation_id()->set_most_significant_bits(1);
  seed(9, reg);

  v1::BrokerHeartbeatRequest hb;
  hb.set_broker_id(2);
  hb.set_broker_epoch(2);
  hb.set_metadata_offset(10);
  seed(10, hb);

  v1::AlterPartitionRequest ap;
  ap.set_broker_id(2);
  ap.set_broker_epoch(2);
  v1::AlterPartitionRequest::Partition* app = ap.add_partitions();
  app->set_partition(1);
  app->add_new_isr(2);
  seed(11, ap);

  v1::FindCoordinatorRequest find;
  find.set_group("g");
  seed(12, find);

  v1::ConsumerGroupHeartbeatRequest join;
  join.set_group("g");
  join.set_client_id("c");
  join.set_rebalance_timeout_ms(1000);
  join.mutable_subscription()->add_topics("t");
  seed(13, join);

  v1::OffsetCommitRequest commit;
  commit.set_group("g");
  v1::OffsetCommitRequest::Partition* cp = commit.add_partitions();
  cp->set_topic("t");
  cp->set_offset(5);
  cp->set_metadata("m");
  seed(14, commit);

  v1::OffsetFetchRequest offsets;
  offsets.set_group("g");
  seed(15, offsets);

  v1::DescribeGroupsRequest groups;
  groups.add_groups("g");
  seed(16, groups);

  v1::DeleteGroupsRequest gone;
  gone.add_groups("g");
  seed(17, gone);
  return 0;
}
