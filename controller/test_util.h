// Images for controller tests: brokers registered and unfenced, topics
// placed, built through the same records the controller writes.
#pragma once

#include <string>
#include <vector>

#include "common/metadata_records.h"
#include "controller/pending_batch.h"
#include "gtest/gtest.h"

namespace samsa::controller {

// Applies `batch` to `image` at the next offset; fails the test if it does
// not fit.
inline void Commit(MetadataImage& image, const PendingBatch& batch) {
  ASSERT_TRUE(image.Apply(batch.batch(), image.offset() + 1).ok());
}

// Brokers 1..n, unfenced, on racks racks[i % racks.size()] (none if empty).
inline MetadataImage ImageWithBrokers(int n, const std::vector<std::string>& racks = {}) {
  MetadataImage image;
  PendingBatch batch(image);
  for (int i = 1; i <= n; ++i) {
    const std::string rack = racks.empty() ? "" : racks[(i - 1) % racks.size()];
    EXPECT_TRUE(batch
                    .Add(records::RegisterBroker(NodeId(i), Uuid{7, static_cast<uint64_t>(i)}, i,
                                                 "127.0.0.1:" + std::to_string(9000 + i), rack))
                    .ok());
    EXPECT_TRUE(batch.Add(records::UnfenceBroker(NodeId(i), i)).ok());
  }
  Commit(image, batch);
  return image;
}

// A topic whose partitions have the given replica lists; leader = first
// replica, ISR = all replicas.
inline Uuid AddTopic(MetadataImage& image, const std::string& name,
                     const std::vector<std::vector<int>>& replicas) {
  const Uuid id{static_cast<uint64_t>(std::hash<std::string>()(name)) | 1, 42};
  PendingBatch batch(image);
  EXPECT_TRUE(batch.Add(records::Topic(name, id)).ok());
  for (size_t i = 0; i < replicas.size(); ++i) {
    PartitionImage p;
    for (int r : replicas[i]) p.replicas.emplace_back(r);
    p.isr = p.replicas;
    p.leader = p.replicas.front();
    EXPECT_TRUE(batch.Add(records::Partition(id, static_cast<int32_t>(i), p)).ok());
  }
  Commit(image, batch);
  return id;
}

inline const PartitionImage& PartitionOf(const MetadataImage& image, const std::string& topic,
                                         int partition) {
  return image.FindTopic(topic)->partitions.at(partition);
}

}  // namespace samsa::controller
