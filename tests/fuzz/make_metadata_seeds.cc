// Writes the starting corpus for the metadata fuzz target: batches of every
// record kind and a snapshot of the image they build, each behind the
// target's mode byte (0: a batch, 1: a snapshot).
//   samsa-fuzz-metadata-seeds DIR
#include <cstdio>
#include <fstream>
#include <string>

#include "common/metadata_records.h"

int main(int argc, char** argv) {
  using namespace samsa;
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const Uuid topic{1, 2};
  v1::MetadataBatch brokers, topics, changes;
  for (int b = 1; b <= 3; ++b) {
    *brokers.add_records() = records::RegisterBroker(NodeId(b), Uuid{9, static_cast<uint64_t>(b)},
                                                     b, "127.0.0.1:" + std::to_string(9090 + b),
                                                     "rack-" + std::to_string(b));
    *brokers.add_records() = records::UnfenceBroker(NodeId(b), b);
  }
  *topics.add_records() = records::Topic("t", topic);
  for (int p = 0; p < 3; ++p) {
    PartitionImage image{.replicas = {NodeId(1), NodeId(2), NodeId(3)},
                         .isr = {NodeId(1), NodeId(2), NodeId(3)},
                         .leader = NodeId(1 + p)};
    *topics.add_records() = records::Partition(topic, p, image);
  }
  *topics.add_records() = records::Config(topic, "retention.ms", "1000");
  *changes.add_records() =
      records::PartitionChange(topic, 0, NodeId(2), std::vector<NodeId>{NodeId(2), NodeId(3)});
  *changes.add_records() = records::PartitionChange(
      topic, 1, std::nullopt, std::nullopt,
      records::ReplicaSets{{NodeId(2), NodeId(3), NodeId(1)}, {}, {NodeId(1)}});
  *changes.add_records() = records::BrokerDecommission(NodeId(3));
  *changes.add_records() = records::FenceBroker(NodeId(1), 1);
  *changes.add_records() = records::ProducerIdBlock(NodeId(2), 2, 0, 1000);
  *changes.add_records() = records::Config(topic, "retention.ms", std::nullopt);
  *changes.add_records() = records::RemoveTopic(topic);
  MetadataImage image;
  int n = 0;
  for (const v1::MetadataBatch* batch : {&brokers, &topics, &changes}) {
    std::ofstream(dir + "/seed-" + std::to_string(n++), std::ios::binary)
        << '\0' << batch->SerializeAsString();
    if (!image.Apply(*batch, n).ok()) return 1;
    std::ofstream(dir + "/seed-" + std::to_string(n++), std::ios::binary)
        << '\1' << image.SerializeSnapshot();
  }
  return 0;
}
