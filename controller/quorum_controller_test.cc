#include "controller/quorum_controller.h"

#include <thread>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "common/await.h"
#include "common/eventually.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "storage/mem_env.h"

namespace samsa::controller {
namespace {

using samsa::testing::Eventually;

using ::testing::HasSubstr;

// One controller on a single-voter in-memory Raft node.
class QuorumControllerTest : public ::testing::Test {
 protected:
  struct NoPeers : raft::Transport {
    void Send(const raft::Message&) override {}
  };

  QuorumControllerTest() : env_(storage::NewMemEnv()) {}
  ~QuorumControllerTest() override { Stop(); }

  void Start(ControllerOptions options = {}, int64_t snapshot_every = 10000) {
    options.node_id = NodeId(1);
    controller_ = std::make_unique<QuorumController>(std::move(options));
    log_ = *raft::DurableLog::Open(env_.get(), "/c1", raft::ConfState{{NodeId(1)}, {}}, &clock_);
    raft::NodeOptions o;
    o.raft.id = NodeId(1);
    o.tick = absl::Milliseconds(2);
    o.snapshot_every = snapshot_every;
    node_ = *raft::Node::Start(o, log_.get(), controller_.get(), &transport_);
    controller_->Attach(node_.get());
    ASSERT_TRUE(Eventually([&] { return controller_->active(); }, absl::Seconds(20)));
  }

  void Stop() {
    if (controller_ == nullptr) return;
    controller_->Stop();
    controller_->Attach(nullptr);
    node_.reset();
    controller_.reset();
    log_.reset();
  }

  v1::CreateTopicsResponse::Result Create(const std::string& name, int partitions = 1, int rf = 1) {
    v1::CreateTopicsRequest req;
    v1::CreateTopicsRequest::Topic* t = req.add_topics();
    t->set_name(name);
    t->set_partitions(partitions);
    t->set_replication_factor(rf);
    v1::CreateTopicsResponse r = AwaitCallback<v1::CreateTopicsResponse>(
        [&](auto done) { controller_->CreateTopics(req, std::move(done)); });
    EXPECT_EQ(v1::NONE, r.error().code()) << r.error().message();
    return r.results_size() > 0 ? r.results(0) : v1::CreateTopicsResponse::Result();
  }

  // Registers and unfences a broker; returns its epoch.
  int64_t Join(int id) {
    v1::RegisterBrokerRequest reg;
    reg.set_broker_id(id);
    *reg.mutable_incarnation_id() = Uuid{3, static_cast<uint64_t>(id)}.ToProto();
    reg.set_address("127.0.0.1:" + std::to_string(9000 + id));
    const int64_t epoch = AwaitCallback<v1::RegisterBrokerResponse>([&](auto done) {
                            controller_->RegisterBroker(reg, std::move(done));
                          }).broker_epoch();
    EXPECT_FALSE(Heartbeat(id, epoch).is_fenced());
    return epoch;
  }

  v1::BrokerHeartbeatResponse Heartbeat(int id, int64_t epoch) {
    v1::BrokerHeartbeatRequest hb;
    hb.set_broker_id(id);
    hb.set_broker_epoch(epoch);
    hb.set_metadata_offset(controller_->committed()->offset());
    return AwaitCallback<v1::BrokerHeartbeatResponse>(
        [&](auto done) { controller_->BrokerHeartbeat(hb, std::move(done)); });
  }

  v1::FetchMetadataResponse Fetch(int64_t from, int32_t wait_ms) {
    v1::FetchMetadataRequest req;
    req.set_from_offset(from);
    req.set_max_wait_ms(wait_ms);
    return AwaitCallback<v1::FetchMetadataResponse>(
        [&](auto done) { controller_->FetchMetadata(req, std::move(done)); });
  }

  FakeClock clock_;
  std::unique_ptr<storage::Env> env_;
  NoPeers transport_;
  std::unique_ptr<QuorumController> controller_;
  std::unique_ptr<raft::DurableLog> log_;
  std::unique_ptr<raft::Node> node_;
};

TEST_F(QuorumControllerTest, AnswersAWriteOnceItsBatchIsApplied) {
  Start();
  Join(1);
  v1::CreateTopicsResponse::Result r = Create("orders", 3);
  EXPECT_EQ(3, r.partitions());
  const TopicImage* t = controller_->committed()->FindTopic("orders");
  ASSERT_NE(nullptr, t) << "visible in the committed image when the answer arrives";
  EXPECT_EQ(Uuid::FromProto(r.topic_id()), t->id);
}

TEST_F(QuorumControllerTest, ConcurrentCreatesOfOneNameLetExactlyOneWin) {
  Start();
  Join(1);
  std::vector<std::thread> threads;
  std::atomic<int> created{0}, exists{0};
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      v1::CreateTopicsRequest req;
      req.add_topics()->set_name("race");
      v1::CreateTopicsResponse r = AwaitCallback<v1::CreateTopicsResponse>(
          [&](auto done) { controller_->CreateTopics(req, std::move(done)); });
      const v1::ErrorCode code = r.results(0).error().code();
      (code == v1::NONE ? created : exists) +=
          (code == v1::NONE || code == v1::TOPIC_ALREADY_EXISTS);
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(1, created.load());
  EXPECT_EQ(7, exists.load());
}

TEST_F(QuorumControllerTest, FetchMetadataReturnsBatchesAndLongPolls) {
  Start();
  Join(1);
  Create("a");
  v1::FetchMetadataResponse all = Fetch(0, 0);
  EXPECT_FALSE(all.has_snapshot());
  ASSERT_GE(all.entries_size(), 3) << "registration, unfence, topic";
  EXPECT_EQ(controller_->committed()->offset(), all.offset());
  MetadataImage replayed;
  for (const v1::MetadataEntry& e : all.entries()) {
    ASSERT_TRUE(replayed.Apply(e.batch(), e.offset()).ok());
  }
  replayed.AdvanceTo(all.offset());
  EXPECT_EQ(controller_->committed()->SerializeSnapshot(), replayed.SerializeSnapshot())
      << "a broker replaying FetchMetadata builds the controller's image";

  const absl::Time start = absl::Now();
  v1::FetchMetadataResponse idle = Fetch(all.offset(), 100);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(90)) << "waited for news";
  EXPECT_EQ(0, idle.entries_size());
  EXPECT_EQ(all.offset(), idle.offset());

  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(50));
    Create("b");
  });
  v1::FetchMetadataResponse news = Fetch(all.offset(), 10000);
  writer.join();
  ASSERT_EQ(1, news.entries_size()) << "woken by the commit, not the timeout";
  EXPECT_EQ("b", news.entries(0).batch().records(0).topic().name());
}

TEST_F(QuorumControllerTest, FetchMetadataSendsTheImageToABrokerTooFarBehind) {
  Start({.history_entries = 2});
  Join(1);
  for (const char* name : {"a", "b", "c", "d"}) Create(name);
  v1::FetchMetadataResponse r = Fetch(0, 0);
  ASSERT_TRUE(r.has_snapshot());
  EXPECT_EQ(0, r.entries_size());
  absl::StatusOr<MetadataImage> image = MetadataImage::FromSnapshot(r.snapshot());
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(4u, image->topics().size());
  EXPECT_EQ(r.offset(), image->offset());
}

TEST_F(QuorumControllerTest, MissedSessionFencesTheBrokerAndReElectsFromIsr) {
  Start({.session_timeout = absl::Milliseconds(300), .clock = &clock_});
  const int64_t e1 = Join(1);
  const int64_t e2 = Join(2);
  Create("t", 4, 2);
  bool led_by_1 = false;
  for (const PartitionImage& p : controller_->committed()->FindTopic("t")->partitions) {
    led_by_1 |= p.leader == NodeId(1);
  }
  ASSERT_TRUE(led_by_1);
  // Broker 2 keeps heartbeating; broker 1 goes silent.
  ASSERT_TRUE(Eventually(
      [&] {
        clock_.Advance(absl::Milliseconds(100));
        EXPECT_EQ(v1::NONE, Heartbeat(2, e2).error().code());
        return controller_->committed()->FindBroker(NodeId(1))->fenced;
      },
      absl::Seconds(20), absl::Milliseconds(20)));
  EXPECT_FALSE(controller_->committed()->FindBroker(NodeId(2))->fenced);
  for (const PartitionImage& p : controller_->committed()->FindTopic("t")->partitions) {
    EXPECT_EQ(NodeId(2), p.leader);
    EXPECT_EQ(std::vector<NodeId>{NodeId(2)}, p.isr);
  }
  // It was only slow: heartbeating again, caught up, it is unfenced but
  // leads nothing until leaders add it back to their ISRs.
  EXPECT_FALSE(Heartbeat(1, e1).is_fenced());
  EXPECT_FALSE(controller_->committed()->FindBroker(NodeId(1))->fenced);
  for (const PartitionImage& p : controller_->committed()->FindTopic("t")->partitions) {
    EXPECT_EQ(NodeId(2), p.leader);
  }
}

TEST_F(QuorumControllerTest, AWallClockStepFencesNobody) {
  Start({.session_timeout = absl::Milliseconds(300), .clock = &clock_});
  const int64_t e1 = Join(1);
  Create("t", 1, 1);
  auto leader_epoch = [&] {
    return controller_->committed()->FindTopic("t")->partitions[0].leader_epoch;
  };
  const auto epoch = leader_epoch();
  // An NTP step or `date -s`: wall time leaps a day either way while
  // heartbeats keep coming on time.
  for (const absl::Duration step : {absl::Hours(24), -absl::Hours(48)}) {
    clock_.SetWallTime(clock_.Now() + step);
    absl::SleepFor(absl::Milliseconds(100));  // session checks run every 30 ms
    for (int i = 0; i < 10; ++i) {
      clock_.Advance(absl::Milliseconds(100));
      ASSERT_EQ(v1::NONE, Heartbeat(1, e1).error().code());
      absl::SleepFor(absl::Milliseconds(20));
    }
    EXPECT_EQ(epoch, leader_epoch()) << "broker 1 was fenced (its leadership moved) after " << step;
  }
  // After the step back, a silent broker is still fenced once its session
  // runs out, not two days later.
  EXPECT_TRUE(Eventually(
      [&] {
        clock_.Advance(absl::Milliseconds(100));
        return controller_->committed()->FindBroker(NodeId(1))->fenced;
      },
      absl::Seconds(20), absl::Milliseconds(20)));
}

TEST_F(QuorumControllerTest, RestartRebuildsTheSameImageFromSnapshotAndLog) {
  Start({}, /*snapshot_every=*/3);
  Join(1);
  Join(2);
  for (int i = 0; i < 7; ++i) Create("t" + std::to_string(i), 2, 2);
  const std::string before = controller_->committed()->SerializeSnapshot();
  const int64_t offset = controller_->committed()->offset();
  Stop();
  Start({}, 3);
  ASSERT_TRUE(
      Eventually([&] { return controller_->committed()->offset() >= offset; }, absl::Seconds(20)));
  MetadataImage restarted = *controller_->committed();
  ASSERT_GE(restarted.offset(), offset);
  // The new term's no-op moved the offset; everything else is identical.
  MetadataImage expected = *MetadataImage::FromSnapshot([&] {
    v1::MetadataSnapshot s;
    EXPECT_TRUE(s.ParseFromString(before));
    return s;
  }());
  expected.AdvanceTo(restarted.offset());
  EXPECT_EQ(expected.SerializeSnapshot(), restarted.SerializeSnapshot());
}

TEST_F(QuorumControllerTest, InactiveControllerAnswersNotController) {
  QuorumController idle({.node_id = NodeId(2), .voters = {{NodeId(1), "127.0.0.1:1"}}});
  v1::CreateTopicsRequest req;
  req.add_topics()->set_name("x");
  v1::CreateTopicsResponse r = AwaitCallback<v1::CreateTopicsResponse>(
      [&](auto done) { idle.CreateTopics(req, std::move(done)); });
  EXPECT_EQ(v1::NOT_CONTROLLER, r.error().code());
  EXPECT_EQ(0, r.results_size());
  EXPECT_EQ(v1::NOT_CONTROLLER, idle.DescribeQuorum().error().code());
}

TEST_F(QuorumControllerTest, EntriesThatAreNotMetadataStopTheController) {
  QuorumController c({.node_id = NodeId(1)});
  raft::Entry garbage{Term(1), raft::Index(1), raft::EntryType::kNormal, "\xff\xff\xff"};
  absl::Status st = c.Apply(garbage);
  EXPECT_EQ(absl::StatusCode::kDataLoss, st.code());
  EXPECT_THAT(std::string(st.message()), HasSubstr("metadata log entry 1"));
  EXPECT_EQ(absl::StatusCode::kDataLoss, c.Restore("\x0a\xff").code());
}

TEST_F(QuorumControllerTest, DescribeQuorumOnTheLeader) {
  Start();
  v1::DescribeQuorumResponse q = controller_->DescribeQuorum();
  ASSERT_EQ(v1::NONE, q.error().code());
  EXPECT_EQ(1, q.leader_id());
  ASSERT_EQ(1, q.voters_size());
  EXPECT_EQ(0, q.voters(0).lag());
  EXPECT_GE(q.commit_index(), 1);
}

}  // namespace
}  // namespace samsa::controller
