// Broker operations the cluster tests share: producing, fetching and
// waiting on partition state through the real gRPC services. Failures are
// reported as gtest failures in the calling test.
#pragma once

#include <string>
#include <vector>

#include "samsa/v1/broker.grpc.pb.h"
#include "samsa/v1/controller.grpc.pb.h"
#include "tests/harness/cluster.h"

namespace samsa::testing {

// Produces `values` (plain records) to `topic`-`partition` on broker `b`.
v1::ProduceResponse::Partition ProduceTo(Cluster& c, int b, const std::string& topic, int partition,
                                         const std::vector<std::string>& values, int acks);
// Every committed value of `topic`-`partition` on broker `b`, from offset 0.
std::vector<std::string> FetchAll(Cluster& c, int b, const std::string& topic, int partition);
// FetchAll once it returns at least `n` values, or after 30 s: a new
// leader's high watermark catches up once its followers fetch from it.
std::vector<std::string> FetchAtLeast(Cluster& c, int b, const std::string& topic, int partition,
                                      size_t n);
// Waits (up to 30 s) until broker `b` leads `topic`-`partition` as its
// Metadata says.
bool WaitForLeader(Cluster& c, int b, const std::string& topic, int partition);
// The coordinator of `group` as broker `ask` reports it (other than
// `not_this`), waiting up to 30 s while __consumer_offsets is created or its
// leader moves; -1 if none.
int FindCoordinator(Cluster& c, int ask, const std::string& group, int not_this = -1);
// The partition as the active controller describes it.
v1::PartitionDescription PartitionOf(Cluster& c, const std::string& topic, int partition);
// Restarts broker `b` (killed earlier) and expects it back in the ISR of
// `topic` partition 0 of brokers 101-103 within 30 s, with no broker
// having cut a committed record (its truncation metric).
void ExpectRejoinsIsr(Cluster& c, int b, const std::string& topic);
// One controller and brokers 101-103 with short sessions (1 s), a 1.5 s
// replica lag limit and 3 partitions of __consumer_offsets: failovers in
// tests take seconds.
ClusterOptions FastFailoverCluster();
// Starts the controllers and brokers 101-103 and creates `topic`: one
// partition, three replicas, min.insync.replicas 2.
void StartWithTopic(Cluster& c, const std::string& topic);

}  // namespace samsa::testing
