#include "controller/topic_admin.h"

#include "common/metadata_records.h"
#include "controller/test_util.h"
#include "gmock/gmock.h"

namespace samsa::controller {
namespace {

using ::testing::HasSubstr;

class TopicAdminTest : public ::testing::Test {
 protected:
  TopicAdminTest() : image_(ImageWithBrokers(3)) {}

  // Runs CreateTopics for one topic and commits what it wrote.
  v1::CreateTopicsResponse::Result Create(const std::string& name, int partitions = 0, int rf = 0,
                                          std::map<std::string, std::string> configs = {},
                                          bool allow_internal = false) {
    v1::CreateTopicsRequest req;
    req.set_allow_internal(allow_internal);
    v1::CreateTopicsRequest::Topic* t = req.add_topics();
    t->set_name(name);
    t->set_partitions(partitions);
    t->set_replication_factor(rf);
    for (const auto& [k, v] : configs) (*t->mutable_configs())[k] = v;
    return CreateMany(req).results(0);
  }

  v1::CreateTopicsResponse CreateMany(const v1::CreateTopicsRequest& req) {
    PendingBatch batch(image_);
    v1::CreateTopicsResponse resp = CreateTopics(
        req, defaults_,
        [this] {
          return Uuid{++next_id_, 1};
        },
        batch);
    if (!batch.empty()) Commit(image_, batch);
    return resp;
  }

  MetadataImage image_;
  TopicDefaults defaults_{.partitions = 2, .replication_factor = 2, .min_insync_replicas = 1};
  uint64_t next_id_ = 0;
};

TEST_F(TopicAdminTest, CreatesWithDefaultsAndPlacesEveryPartition) {
  v1::CreateTopicsResponse::Result r = Create("orders");
  ASSERT_EQ(v1::NONE, r.error().code()) << r.error().message();
  EXPECT_EQ(2, r.partitions());
  EXPECT_EQ(2, r.replication_factor());
  const TopicImage* t = image_.FindTopic("orders");
  ASSERT_NE(nullptr, t);
  EXPECT_EQ(Uuid::FromProto(r.topic_id()), t->id);
  ASSERT_EQ(2u, t->partitions.size());
  for (const PartitionImage& p : t->partitions) {
    EXPECT_EQ(2u, p.replicas.size());
    EXPECT_EQ(p.replicas, p.isr) << "a new partition's replicas are all in sync";
    EXPECT_EQ(p.replicas.front(), p.leader);
  }
}

TEST_F(TopicAdminTest, EveryValidationErrorHasItsCodeAndSaysWhy) {
  ASSERT_EQ(v1::NONE, Create("taken").error().code());
  ASSERT_EQ(v1::NONE, Create("a.b").error().code());
  struct Case {
    std::string name;
    int partitions;
    int rf;
    std::map<std::string, std::string> configs;
    v1::ErrorCode code;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", 1, 1, {}, v1::INVALID_TOPIC_EXCEPTION, "1 to 249 characters"},
      {std::string(250, 'x'), 1, 1, {}, v1::INVALID_TOPIC_EXCEPTION, "not 250"},
      {"..", 1, 1, {}, v1::INVALID_TOPIC_EXCEPTION, "'.' or '..'"},
      {"sp ace", 1, 1, {}, v1::INVALID_TOPIC_EXCEPTION, "outside [a-zA-Z0-9._-]"},
      {"__internal", 1, 1, {}, v1::INVALID_TOPIC_EXCEPTION, "reserved for internal topics"},
      {"taken", 1, 1, {}, v1::TOPIC_ALREADY_EXISTS, "already exists"},
      {"a_b", 1, 1, {}, v1::INVALID_TOPIC_EXCEPTION, "collides with existing topic 'a.b'"},
      {"p", -1, 1, {}, v1::INVALID_PARTITIONS, "not -1"},
      {"p", kMaxPartitions + 1, 1, {}, v1::INVALID_PARTITIONS, "1 to 100000"},
      {"r", 1, -2, {}, v1::INVALID_REPLICATION_FACTOR, "at least 1"},
      {"r", 1, 4, {}, v1::INVALID_REPLICATION_FACTOR, "3 are available"},
      {"c", 1, 1, {{"retention.mss", "1"}}, v1::INVALID_CONFIG, "retention.mss"},
      {"c", 1, 1, {{"retention.ms", "-5"}}, v1::INVALID_CONFIG, "retention.ms"},
      {"c", 1, 1, {{"flush.policy", "sometimes"}}, v1::INVALID_CONFIG, "not a flush policy"},
      {"c",
       1,
       1,
       {{"cleanup.policy", "compress"}},
       v1::INVALID_CONFIG,
       "'compress' is not a cleanup policy (delete, compact, or compact,delete)"},
      {"c",
       1,
       1,
       {{"cleanup.policy", "compact,compact"}},
       v1::INVALID_CONFIG,
       "not a cleanup policy"},
      {"c",
       1,
       1,
       {{"min.cleanable.dirty.ratio", "1.5"}},
       v1::INVALID_CONFIG,
       "not a ratio between 0 and 1"},
      {"c", 1, 1, {{"delete.retention.ms", "-1"}}, v1::INVALID_CONFIG, "delete.retention.ms"},
  };
  const std::string before = image_.SerializeSnapshot();
  for (const Case& c : cases) {
    v1::CreateTopicsResponse::Result r = Create(c.name, c.partitions, c.rf, c.configs);
    EXPECT_EQ(c.code, r.error().code()) << c.name << ": " << r.error().message();
    EXPECT_THAT(r.error().message(), HasSubstr(c.message)) << c.name;
  }
  EXPECT_EQ(before, image_.SerializeSnapshot()) << "a refused create writes nothing";
  EXPECT_EQ(v1::NONE, Create("__internal", 1, 1, {}, /*allow_internal=*/true).error().code());
}

TEST_F(TopicAdminTest, OneRequestCreatesEachGoodTopicAndRefusesDuplicates) {
  v1::CreateTopicsRequest req;
  for (const char* name : {"x", "bad name", "x", "y"}) req.add_topics()->set_name(name);
  v1::CreateTopicsResponse resp = CreateMany(req);
  ASSERT_EQ(4, resp.results_size());
  EXPECT_EQ(v1::NONE, resp.results(0).error().code());
  EXPECT_EQ(v1::INVALID_TOPIC_EXCEPTION, resp.results(1).error().code());
  EXPECT_EQ(v1::INVALID_REQUEST, resp.results(2).error().code());
  EXPECT_EQ(v1::NONE, resp.results(3).error().code());
  EXPECT_NE(nullptr, image_.FindTopic("x"));
  EXPECT_NE(nullptr, image_.FindTopic("y"));
}

TEST_F(TopicAdminTest, AutoCreateNeedsTheSetting) {
  v1::CreateTopicsRequest req;
  req.set_auto_create(true);
  req.add_topics()->set_name("auto");
  EXPECT_EQ(v1::UNKNOWN_TOPIC_OR_PARTITION, CreateMany(req).results(0).error().code());
  defaults_.auto_create = true;
  EXPECT_EQ(v1::NONE, CreateMany(req).results(0).error().code());
}

TEST_F(TopicAdminTest, ClusterMinInsyncReplicasTravelsWithTheTopic) {
  defaults_.min_insync_replicas = 2;
  ASSERT_EQ(v1::NONE, Create("m").error().code());
  EXPECT_EQ("2", image_.FindTopic("m")->configs.at("min.insync.replicas"));
  ASSERT_EQ(v1::NONE, Create("n", 0, 0, {{"min.insync.replicas", "1"}}).error().code());
  EXPECT_EQ("1", image_.FindTopic("n")->configs.at("min.insync.replicas"));
}

TEST_F(TopicAdminTest, DeleteTopics) {
  ASSERT_EQ(v1::NONE, Create("gone").error().code());
  v1::DeleteTopicsRequest req;
  req.add_names("gone");
  req.add_names("never");
  PendingBatch batch(image_);
  v1::DeleteTopicsResponse resp = DeleteTopics(req, batch);
  Commit(image_, batch);
  EXPECT_EQ(v1::NONE, resp.results(0).error().code());
  EXPECT_EQ(v1::UNKNOWN_TOPIC_OR_PARTITION, resp.results(1).error().code());
  EXPECT_EQ(nullptr, image_.FindTopic("gone"));
}

TEST_F(TopicAdminTest, CreatePartitionsOnlyGrows) {
  ASSERT_EQ(v1::NONE, Create("grow", 2, 2).error().code());
  auto grow = [&](const std::string& name, int count) {
    v1::CreatePartitionsRequest req;
    v1::CreatePartitionsRequest::Topic* t = req.add_topics();
    t->set_name(name);
    t->set_count(count);
    PendingBatch batch(image_);
    v1::CreatePartitionsResponse resp = CreatePartitions(req, batch);
    if (!batch.empty()) Commit(image_, batch);
    return resp.results(0).error();
  };
  EXPECT_EQ(v1::INVALID_PARTITIONS, grow("grow", 2).code());
  EXPECT_EQ(v1::INVALID_PARTITIONS, grow("grow", 1).code());
  EXPECT_EQ(v1::UNKNOWN_TOPIC_OR_PARTITION, grow("nope", 3).code());
  EXPECT_EQ(v1::NONE, grow("grow", 5).code());
  const TopicImage* t = image_.FindTopic("grow");
  ASSERT_EQ(5u, t->partitions.size());
  EXPECT_EQ(2u, t->partitions[4].replicas.size()) << "new partitions keep the replication factor";
}

// (key, delete?, value) -> AlterConfigs ops.
void AddOps(const std::vector<std::tuple<std::string, bool, std::string>>& ops,
            google::protobuf::RepeatedPtrField<v1::AlterConfigsRequest::Op>* out) {
  for (const auto& [key, del, value] : ops) {
    v1::AlterConfigsRequest::Op* op = out->Add();
    op->set_key(key);
    op->set_kind(del ? v1::AlterConfigsRequest::Op::DELETE : v1::AlterConfigsRequest::Op::SET);
    op->set_value(value);
  }
}

TEST_F(TopicAdminTest, ClusterConfigsAreValidatedAndKeptInTheImage) {
  auto alter = [&](std::vector<std::tuple<std::string, bool, std::string>> ops) {
    v1::AlterConfigsRequest req;
    AddOps(ops, req.mutable_cluster_ops());
    PendingBatch batch(image_);
    v1::AlterConfigsResponse resp = AlterConfigs(req, batch);
    if (!batch.empty()) Commit(image_, batch);
    EXPECT_EQ("", resp.results(0).name()) << "the cluster's result is named \"\"";
    return resp.results(0).error();
  };
  v1::Error e = alter(
      {{"replica.move.max.bytes.per.second", false, "52428800"}, {"segment.bytes", false, "1"}});
  EXPECT_EQ(v1::INVALID_CONFIG, e.code());
  EXPECT_THAT(e.message(), ::testing::HasSubstr("unknown cluster config key 'segment.bytes'"));
  EXPECT_TRUE(image_.cluster_configs().empty()) << "a refused op refuses the whole change";
  e = alter({{"replica.move.max.bytes.per.second", false, "0"}});
  EXPECT_EQ(v1::INVALID_CONFIG, e.code());
  EXPECT_THAT(e.message(), ::testing::HasSubstr("-1 means no limit"));
  ASSERT_EQ(v1::NONE, alter({{"replica.move.max.bytes.per.second", false, "52428800"}}).code());
  EXPECT_EQ("52428800", image_.cluster_configs().at("replica.move.max.bytes.per.second"));
  absl::StatusOr<MetadataImage> restored = MetadataImage::FromSnapshot(image_.ToSnapshot());
  ASSERT_TRUE(restored.ok());
  EXPECT_EQ(image_.cluster_configs(), restored->cluster_configs());
  ASSERT_EQ(v1::NONE, alter({{"replica.move.max.bytes.per.second", true, ""}}).code());
  EXPECT_TRUE(image_.cluster_configs().empty());
}

TEST_F(TopicAdminTest, AlterConfigsIsWholePerTopicAndValidated) {
  ASSERT_EQ(v1::NONE, Create("cfg", 1, 1, {{"retention.ms", "1000"}}).error().code());
  auto alter = [&](std::vector<std::tuple<std::string, bool, std::string>> ops) {
    v1::AlterConfigsRequest req;
    v1::AlterConfigsRequest::Topic* t = req.add_topics();
    t->set_name("cfg");
    AddOps(ops, t->mutable_ops());
    PendingBatch batch(image_);
    v1::AlterConfigsResponse resp = AlterConfigs(req, batch);
    if (!batch.empty()) Commit(image_, batch);
    return resp.results(0).error();
  };
  EXPECT_EQ(v1::INVALID_CONFIG,
            alter({{"segment.bytes", false, "2048"}, {"bogus", false, "1"}}).code());
  EXPECT_FALSE(image_.FindTopic("cfg")->configs.contains("segment.bytes"))
      << "a refused op refuses the whole topic's change";
  EXPECT_EQ(v1::INVALID_CONFIG, alter({{"segment.bytes", false, "12"}}).code());
  EXPECT_EQ(v1::NONE, alter({{"segment.bytes", false, "2048"}, {"retention.ms", true, ""}}).code());
  EXPECT_EQ("2048", image_.FindTopic("cfg")->configs.at("segment.bytes"));
  EXPECT_FALSE(image_.FindTopic("cfg")->configs.contains("retention.ms"));

  v1::DescribeConfigsRequest dreq;
  dreq.add_topics("cfg");
  dreq.add_topics("missing");
  v1::DescribeConfigsResponse d = DescribeConfigs(dreq, image_);
  EXPECT_EQ(v1::UNKNOWN_TOPIC_OR_PARTITION, d.results(1).error().code());
  bool saw_segment = false, saw_retention = false;
  for (const v1::ConfigEntry& e : d.results(0).configs()) {
    if (e.key() == "segment.bytes") {
      saw_segment = true;
      EXPECT_EQ("2048", e.value());
      EXPECT_EQ(v1::ConfigEntry::TOPIC, e.source());
    }
    if (e.key() == "retention.ms") {
      saw_retention = true;
      EXPECT_EQ(v1::ConfigEntry::DEFAULT, e.source());
    }
  }
  EXPECT_TRUE(saw_segment && saw_retention);
}

TEST_F(TopicAdminTest, DescribeTopicsListsAllOrNamed) {
  ASSERT_EQ(v1::NONE, Create("one", 1, 1).error().code());
  ASSERT_EQ(v1::NONE, Create("two", 3, 1).error().code());
  EXPECT_EQ(2, DescribeTopics({}, image_).topics_size());
  v1::DescribeTopicsRequest req;
  req.add_names("two");
  req.add_names("three");
  v1::DescribeTopicsResponse r = DescribeTopics(req, image_);
  ASSERT_EQ(2, r.topics_size());
  EXPECT_EQ(3, r.topics(0).partitions_size());
  EXPECT_EQ(v1::UNKNOWN_TOPIC_OR_PARTITION, r.topics(1).error().code());
  EXPECT_EQ(image_.offset(), r.metadata_offset());
}

}  // namespace
}  // namespace samsa::controller
