// Kafka's default partitioning of keyed records (and of consumer groups over
// __consumer_offsets partitions): murmur2 of the key bytes
// (Kafka's Utils.murmur2, seed 0x9747b28c), made positive by clearing the
// sign bit (Utils.toPositive), modulo the partition count. A key lands on
// the same partition as with a Kafka client, given the same count.
#pragma once

#include <cstdint>
#include <string_view>

namespace samsa {

int32_t Murmur2(std::string_view data);
int32_t PartitionForKey(std::string_view key, int32_t partitions);

}  // namespace samsa
