// Clock faults (fault suite, see chaos_fixture.h): wall clocks stepped
// under libfaketime on a broker, a producer and a group consumer.
#include <cerrno>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/eventually.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/env.h"
#include "tests/chaos/chaos_fixture.h"
#include "tests/chaos/history.h"
#include "tests/harness/broker_ops.h"
#include "tests/harness/cluster.h"
#include "tests/harness/process.h"
#include "tests/harness/status_assert.h"

namespace samsa::chaos {
namespace {

// Broker 103 runs under libfaketime (Debian's faketime), its wall clock
// offset by what a file says; its monotonic clock is left alone, as a real
// clock step leaves it.
class ClockChaosTest : public ChaosTest {
 protected:
  static constexpr int kStepped = 103;
  static constexpr char kLibFaketime[] = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";
  void BeforeBrokers() override {
    ASSERT_TRUE(storage::Env::Default()->FileExists(kLibFaketime).value_or(false))
        << kLibFaketime << " is missing: install Debian's faketime (scripts/setup.sh does)";
    offset_file_ = dir_.path() + "/offset";
    Step("+0");
    // Followers may lag 10 s (not 2) before they leave the ISR, so a busy
    // machine shrinks none: the steps here are minutes and days.
    for (int b : kBrokers) cluster_->set_broker_overrides(b, {"replica.lag.time.max.ms=10000"});
    cluster_->set_broker_env(
        kStepped,
        {absl::StrCat("LD_PRELOAD=", kLibFaketime), "FAKETIME_TIMESTAMP_FILE=" + offset_file_,
         "FAKETIME_CACHE_DURATION=1", "FAKETIME_DONT_FAKE_MONOTONIC=1",
         // An ASan build wants its runtime first.
         "ASAN_OPTIONS=verify_asan_link_order=0"});
  }
  // One hour of retention over many small segments: a clock that looked
  // an hour ahead would delete them.
  std::map<std::string, std::string> TopicConfigs() const override {
    return {{"retention.ms", "3600000"}, {"segment.bytes", "16384"}};
  }
  // Sets the stepped broker's wall clock to real time + `offset` (libfaketime
  // syntax: "+50m", "-2d"). libfaketime reads the file again once its cache
  // (FAKETIME_CACHE_DURATION, whole seconds, compared with ">") is over:
  // within three seconds.
  void Step(const std::string& offset) {
    ASSERT_OK(storage::Env::Default()->WriteFileAtomically(offset_file_, offset + "\n"));
  }
  // Starts `samsa ARGS` against the cluster under libfaketime, its wall
  // clock offset read from `offset` (set to "+0" here); stdout and stderr
  // go to `out`.
  absl::StatusOr<testing::ChildProcess> StartSteppedCli(const std::string& args,
                                                        const std::string& offset,
                                                        const std::string& out) {
    if (absl::Status st = storage::Env::Default()->WriteFileAtomically(offset, "+0\n"); !st.ok()) {
      return st;
    }
    const std::string command = absl::StrCat(
        "exec env LD_PRELOAD=", kLibFaketime, " FAKETIME_TIMESTAMP_FILE='", offset,
        "' FAKETIME_CACHE_DURATION=1 FAKETIME_DONT_FAKE_MONOTONIC=1 "
        "ASAN_OPTIONS=verify_asan_link_order=0 '",
        SAMSA_CLI_BIN, "' --bootstrap '", bootstrap_, "' ", args, " > '", out, "' 2>&1");
    return testing::ChildProcess::Spawn("/bin/sh", {"-c", command}, out + ".sh.log");
  }
  // Waits up to `timeout` for a CLI StartSteppedCli started: its exit code
  // (none if it still runs) and what it printed.
  std::pair<std::optional<int>, std::string> WaitSteppedCli(testing::ChildProcess& cli,
                                                            const std::string& out,
                                                            absl::Duration timeout) {
    const std::optional<int> status = cli.WaitExit(timeout);
    return {status.has_value() ? std::optional(testing::ExitCode(*status)) : std::nullopt,
            storage::Env::Default()->ReadFile(out).value_or("")};
  }
  // The wall-clock time broker 103 logged a line containing `needle` at.
  std::optional<absl::Time> LoggedAt(const std::string& needle) {
    const std::string log = cluster_->broker_log(kStepped);
    const size_t at = log.find(needle);
    if (at == std::string::npos) return std::nullopt;
    const size_t line = log.rfind('\n', at) == std::string::npos ? 0 : log.rfind('\n', at) + 1;
    absl::Time t;
    std::string error;
    if (!absl::ParseTime("%Y-%m-%dT%H:%M:%E*SZ", log.substr(line, log.find(' ', line) - line), &t,
                         &error)) {
      return std::nullopt;
    }
    return t;
  }
  testing::TempDir dir_;
  std::string offset_file_;
};

// 12. The wall clock of one broker is stepped 50 minutes ahead, then two
// days back, as NTP or `date -s` would: timeouts run on the monotonic clock
// (the broker is never fenced, no ISR shrinks) and time-based retention
// deletes nothing still within retention.
TEST_F(ClockChaosTest, AWallClockStepMovesNoTimeoutAndDeletesNothing) {
  const int64_t epoch = cluster_->DescribeBroker(kStepped).broker_epoch();
  // Topics whose deletion makes the broker log a line, to show its clock.
  const std::vector<std::pair<std::string, absl::Duration>> steps = {{"+50m", absl::Minutes(50)},
                                                                     {"-2d", -absl::Hours(48)}};
  const int active = cluster_->WaitForActive();
  ASSERT_NE(-1, active);
  v1::CreateTopicsRequest create;
  for (size_t i = 0; i < steps.size(); ++i) {
    v1::CreateTopicsRequest::Topic* t = create.add_topics();
    t->set_name(absl::StrCat("clock-probe-", i));
    t->set_partitions(1);
    t->set_replication_factor(3);
  }
  v1::CreateTopicsResponse created;
  ASSERT_TRUE(cluster_->stub(active).CreateTopics(RpcContext().get(), create, &created).ok());
  ASSERT_TRUE(testing::Eventually(
      [&] {
        for (size_t i = 0; i < steps.size(); ++i) {
          if (PartitionOf(*cluster_, absl::StrCat("clock-probe-", i), 0).isr_size() != 3) {
            return false;
          }
        }
        return true;
      },
      absl::Seconds(20), absl::Milliseconds(100)))
      << "the probes' replicas did not all join";
  for (size_t i = 0; i < steps.size(); ++i) {
    const auto& [offset, expected] = steps[i];
    Step(offset);
    RunFor(absl::Seconds(4));  // the broker lives with its stepped clock
    v1::DeleteTopicsRequest del;
    del.add_names(absl::StrCat("clock-probe-", i));
    v1::DeleteTopicsResponse deleted;
    ASSERT_TRUE(cluster_->stub(cluster_->WaitForActive())
                    .DeleteTopics(RpcContext().get(), del, &deleted)
                    .ok());
    const std::string needle = absl::StrCat("deleted the replica of clock-probe-", i);
    (void)testing::Eventually([&] { return LoggedAt(needle).has_value(); }, absl::Seconds(10),
                              absl::Milliseconds(100));
    const std::optional<absl::Time> logged = LoggedAt(needle);
    ASSERT_TRUE(logged.has_value()) << "broker " << kStepped << " did not log \"" << needle << "\"";
    EXPECT_LT(absl::AbsDuration(*logged - absl::Now() - expected), absl::Minutes(1))
        << "the broker's wall clock was not stepped " << offset;
    RunFor(absl::Seconds(5));  // time for a wrongly moved timeout to fire
    const v1::BrokerDescription b = cluster_->DescribeBroker(kStepped);
    EXPECT_EQ(v1::BrokerDescription::ACTIVE, b.state()) << "after " << offset;
    EXPECT_EQ(epoch, b.broker_epoch()) << "it registered again after " << offset;
  }
  EXPECT_THAT(testing::HttpGet(cluster_->broker_metrics_port(kStepped), "/metrics"),
              ::testing::HasSubstr("samsa_broker_isr_changes_total{change=\"shrink\"} 0"));
  const Report r = Finish("clock-step");
  EXPECT_GT(r.acked, 1000);
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
  EXPECT_EQ(0, r.failed) << "no write failed for a timeout that was not one";
  // Every replica on the stepped broker still starts at offset 0, and it
  // had closed segments that retention looked at.
  int segments = 0;
  for (int p = 0; p < kPartitions; ++p) {
    const std::string dir =
        absl::StrCat(cluster_->broker_data_dir(kStepped), "/logs/", kTopic, "-", p);
    absl::StatusOr<std::vector<BatchId>> batches = BatchesBelow(dir, INT64_MAX);
    ASSERT_TRUE(batches.ok()) << batches.status();
    ASSERT_FALSE(batches->empty()) << dir;
    EXPECT_EQ(0, batches->front().base_offset) << dir << ": retention deleted segments";
    absl::StatusOr<std::vector<std::string>> files = storage::Env::Default()->ListDir(dir);
    ASSERT_TRUE(files.ok()) << files.status();
    for (const std::string& f : *files) segments += absl::EndsWith(f, ".log") ? 1 : 0;
  }
  EXPECT_GT(segments, kPartitions) << "no segment was ever closed: retention had nothing to do";
}

// 13. A producer's own wall clock is stepped 50 minutes ahead, then two
// days back, while it sends (the CLI's perf producer under libfaketime):
// its linger, retries, delivery timeout and pacing run on the monotonic
// clock, so no record fails for a timeout that was not one and nothing
// waits out the step.
TEST_F(ClockChaosTest, AProducerWhoseWallClockStepsDeliversEverything) {
  const std::string offset = dir_.path() + "/producer-offset";
  const std::string out = dir_.path() + "/perf.out";
  absl::StatusOr<testing::ChildProcess> producer = StartSteppedCli(
      absl::StrCat("perf produce ", kTopic,
                   " --records 40000 --record-size 100 --throughput 4000 --acks all"),
      offset, out);
  ASSERT_OK(producer.status());
  RunFor(absl::Seconds(2));
  ASSERT_OK(storage::Env::Default()->WriteFileAtomically(offset, "+50m\n"));
  RunFor(absl::Seconds(4));  // the producer lives with its stepped clock
  ASSERT_OK(storage::Env::Default()->WriteFileAtomically(offset, "-2d\n"));
  const auto [code, report] = WaitSteppedCli(*producer, out, absl::Seconds(60));
  ASSERT_TRUE(code.has_value()) << "the producer did not finish: " << report;
  EXPECT_EQ(0, *code) << report;
  EXPECT_THAT(report, ::testing::HasSubstr("40000 records sent")) << report;
  const Report r = Finish("clock-step-producer");
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

// 14. A group consumer's wall clock is stepped two days back while it waits
// for records: its polls, heartbeats and the CLI's --timeout-ms run on the
// monotonic clock, so it still stops 5 s after the last record instead of
// waiting out the step.
TEST_F(ClockChaosTest, AConsumerWhoseWallClockStepsBackStopsOnTime) {
  v1::CreateTopicsRequest create;
  v1::CreateTopicsRequest::Topic* t = create.add_topics();
  t->set_name("clock-read");
  t->set_partitions(1);
  t->set_replication_factor(3);
  v1::CreateTopicsResponse created;
  ASSERT_TRUE(cluster_->stub(cluster_->WaitForActive())
                  .CreateTopics(RpcContext().get(), create, &created)
                  .ok());
  ASSERT_EQ(v1::NONE, created.results(0).error().code()) << created.results(0).error().message();
  const int leader = PartitionOf(*cluster_, "clock-read", 0).leader();
  ASSERT_TRUE(testing::WaitForLeader(*cluster_, leader, "clock-read", 0));
  std::vector<std::string> values;
  for (int i = 0; i < 100; ++i) values.push_back(absl::StrCat("v", i));
  const v1::ProduceResponse::Partition produced =
      testing::ProduceTo(*cluster_, leader, "clock-read", 0, values, -1);
  ASSERT_EQ(v1::NONE, produced.error().code()) << produced.error().message();

  const std::string offset = dir_.path() + "/consumer-offset";
  const std::string out = dir_.path() + "/consume.out";
  absl::StatusOr<testing::ChildProcess> consumer = StartSteppedCli(
      "consume clock-read --group clock-reader --from-beginning --timeout-ms 5000", offset, out);
  ASSERT_OK(consumer.status());
  // Stepped once it printed everything and waits for more.
  (void)testing::Eventually(
      [&] {
        return absl::StrContains(storage::Env::Default()->ReadFile(out).value_or(""), "v99\n");
      },
      absl::Seconds(30), absl::Milliseconds(50));
  ASSERT_OK(storage::Env::Default()->WriteFileAtomically(offset, "-2d\n"));
  const auto [code, printed] = WaitSteppedCli(*consumer, out, absl::Seconds(45));
  ASSERT_TRUE(code.has_value()) << "the consumer waited out its clock's step: " << printed;
  EXPECT_EQ(0, *code) << printed;
  EXPECT_THAT(printed, ::testing::HasSubstr("v0\n"));
  EXPECT_THAT(printed, ::testing::HasSubstr("v99\n"));
  const Report r = Finish("clock-step-consumer");
  EXPECT_EQ(0, r.anomalies()) << r.ToString();
}

}  // namespace
}  // namespace samsa::chaos
