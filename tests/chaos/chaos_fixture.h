// The fault suite (CI mode): each scenario runs the chaos workload against
// a real 3-controller, 3-broker cluster (topic "chaos": kPartitions
// partitions by default, RF 3, min.insync.replicas 2), injects its faults,
// lets the cluster heal, reads everything back and checks the history: zero
// lost, duplicated or inconsistent writes, monotonic polls, and replicas
// identical below the high watermark. Each scenario prints one report line;
// a failure leaves the history in $SAMSA_CHAOS_HISTORY_DIR (default /tmp)
// to read.
//
// This is the scenarios' fixture; Finish() heals, reads back, checks and
// compares. The scenarios live by fault kind in chaos_process_test.cc,
// chaos_disk_test.cc, chaos_network_test.cc, chaos_clock_test.cc,
// chaos_random_test.cc, and elasticity_test.cc (moves).
#pragma once

#include <cstdlib>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "common/eventually.h"
#include "gtest/gtest.h"
#include "storage/env.h"
#include "tests/chaos/history.h"
#include "tests/chaos/replicas.h"
#include "tests/chaos/workload.h"
#include "tests/harness/broker_ops.h"
#include "tests/harness/cluster.h"
#include "tests/harness/status_assert.h"

namespace samsa::chaos {

using testing::Cluster;
using testing::PartitionOf;
using testing::RpcContext;

inline constexpr char kTopic[] = "chaos";
inline constexpr int kPartitions = 3;
inline const std::vector<int> kBrokers = {101, 102, 103};

class ChaosTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cluster_ = std::make_unique<Cluster>(testing::ClusterOptions{
        .voters = 3,
        .session_timeout_ms = 1500,
        .heartbeat_interval_ms = 200,
        .overrides = ControllerOverrides(),
        .brokers = BrokerSlots(),
        .broker_overrides = {"replica.lag.time.max.ms=2000", "offsets.topic.num.partitions=3",
                             "log.retention.check.interval.ms=1000"}});
    BeforeControllers();
    ASSERT_OK(cluster_->StartAll());
    BeforeBrokers();
    if (HasFatalFailure() || IsSkipped()) return;
    std::vector<std::string> addresses;
    for (int b : kBrokers) {
      ASSERT_OK(cluster_->StartBroker(b));
      ASSERT_TRUE(cluster_->WaitForBrokerState(b, v1::BrokerDescription::ACTIVE));
      addresses.push_back(cluster_->DescribeBroker(b).address());
    }
    bootstrap_ = absl::StrJoin(addresses, ",");
    v1::CreateTopicsRequest create;
    v1::CreateTopicsRequest::Topic* t = create.add_topics();
    t->set_name(kTopic);
    t->set_partitions(Partitions());
    t->set_replication_factor(3);
    (*t->mutable_configs())["min.insync.replicas"] = "2";
    for (const auto& [key, value] : TopicConfigs()) (*t->mutable_configs())[key] = value;
    v1::CreateTopicsResponse created;
    const int active = cluster_->WaitForActive();
    ASSERT_NE(-1, active);
    ASSERT_TRUE(cluster_->stub(active).CreateTopics(RpcContext().get(), create, &created).ok());
    ASSERT_EQ(v1::NONE, created.results(0).error().code());
    for (int p = 0; p < Partitions(); ++p) {
      ASSERT_TRUE(
          testing::WaitForLeader(*cluster_, PartitionOf(*cluster_, kTopic, p).leader(), kTopic, p));
    }
    workload_ = std::make_unique<Workload>(WorkloadOptions{.bootstrap = bootstrap_,
                                                           .topic = kTopic,
                                                           .partitions = Partitions(),
                                                           .group_members = GroupMembers(),
                                                           .writer_transport = WriterTransport()},
                                           &history_);
    start_ = absl::Now();
    workload_->Start();
  }

  // Extra key=value for every controller.
  virtual std::vector<std::string> ControllerOverrides() const { return {}; }
  // Brokers the cluster has ports for (101..100+n); 101-103 start.
  virtual int BrokerSlots() const { return 3; }
  // Partitions of the topic (kPartitions by default).
  virtual int Partitions() const { return kPartitions; }
  // Members of the workload's consumer group (none by default).
  virtual int GroupMembers() const { return 0; }
  // Runs before the controllers start.
  virtual void BeforeControllers() {}
  // Runs after the controllers start, before the brokers do.
  virtual void BeforeBrokers() {}
  // Configs of the topic beyond min.insync.replicas.
  virtual std::map<std::string, std::string> TopicConfigs() const { return {}; }
  // The workload writers' transport (null: direct).
  virtual std::shared_ptr<client::Transport> WriterTransport() { return nullptr; }

  // Lets the workload run for `d`. What the scenarios check is how the
  // cluster serves around a fault — traffic before it, during it, after it,
  // and nothing wrong happening for a while — so these waits are time
  // itself; a wait for a state uses testing::Eventually.
  static void RunFor(absl::Duration d) { absl::SleepFor(d); }

  // Until every partition has all three replicas in its ISR (60 s).
  bool WaitForFullIsr() {
    return testing::Eventually(
        [&] {
          for (int p = 0; p < Partitions(); ++p) {
            if (PartitionOf(*cluster_, kTopic, p).isr_size() != 3) return false;
          }
          return true;
        },
        absl::Seconds(60), absl::Milliseconds(200));
  }

  // Stops the workload, heals, reads everything, checks, compares the
  // replicas; the report (also printed as the scenario's line).
  Report Finish(const std::string& scenario) {
    workload_->Stop();
    const absl::Time end = absl::Now();
    for (int b : brokers_) {
      if (!cluster_->broker_running(b)) {
        EXPECT_TRUE(cluster_->StartBroker(b).ok()) << b;
      }
    }
    EXPECT_TRUE(WaitForFullIsr()) << "the cluster did not heal";
    absl::StatusOr<FinalRead> final_read =
        ReadAll(bootstrap_, kTopic, Partitions(), absl::Seconds(60));
    EXPECT_TRUE(final_read.ok()) << final_read.status();
    Report r = Check(history_, final_read.ok() ? *final_read : FinalRead{}, start_, end);
    // Replicas, stopped cleanly, hold the same batches below the high
    // watermark the final read reached.
    std::vector<std::vector<int>> replicas;
    for (int p = 0; p < Partitions(); ++p) {
      const v1::PartitionDescription d = PartitionOf(*cluster_, kTopic, p);
      replicas.emplace_back(d.replicas().begin(), d.replicas().end());
    }
    bool crashed = false;
    for (int b : brokers_) {
      const int code = cluster_->TerminateBroker(b);
      EXPECT_EQ(0, code) << "broker " << b << " (its log has the stack of a crash)";
      crashed = crashed || code != 0;
    }
    for (int p = 0; final_read.ok() && p < Partitions(); ++p) {
      const auto& records = (*final_read)[p];
      const int64_t hw = records.empty() ? 0 : records.back().first + 1;
      std::vector<std::string> dirs;
      for (int b : replicas[p]) {
        dirs.push_back(absl::StrCat(cluster_->broker_data_dir(b), "/logs/", kTopic, "-", p));
      }
      const std::string diff = CompareReplicas(dirs, hw);
      if (!diff.empty()) {
        ++r.inconsistent;
        r.examples.push_back("replicas: " + diff);
      }
    }
    std::cout << "chaos " << scenario << ": " << r.ToString() << std::endl;
    if (r.anomalies() > 0 || crashed) {
      const char* dir = std::getenv("SAMSA_CHAOS_HISTORY_DIR");
      const std::string path =
          absl::StrCat(dir != nullptr ? dir : "/tmp", "/samsa-chaos-", scenario, ".jsonl");
      (void)storage::Env::Default()->WriteFileAtomically(path, history_.ToJsonLines());
      std::cout << "history: " << path << std::endl;
      for (int b : brokers_) {
        const std::string log = absl::StrCat(dir != nullptr ? dir : "/tmp", "/samsa-chaos-",
                                             scenario, "-broker-", b, ".log");
        (void)storage::Env::Default()->WriteFileAtomically(log, cluster_->broker_log(b));
        std::cout << "broker log: " << log << std::endl;
      }
    }
    return r;
  }

  std::unique_ptr<Cluster> cluster_;
  // The brokers running (Finish restarts the stopped ones and stops all).
  std::vector<int> brokers_ = kBrokers;
  std::string bootstrap_;
  History history_;
  std::unique_ptr<Workload> workload_;
  absl::Time start_;
};

}  // namespace samsa::chaos
