#include "controller/topic_admin.h"

#include <algorithm>
#include <map>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/cluster_config.h"
#include "common/metadata_describe.h"
#include "common/metadata_records.h"
#include "common/string_view.h"
#include "controller/partition_changes.h"
#include "controller/placement.h"
#include "storage/topic_config.h"

namespace samsa::controller {

absl::Status ValidateTopicName(std::string_view name, ReservedNames reserved) {
  if (name.empty() || name.size() > 249) {
    return absl::InvalidArgumentError(
        absl::StrCat("topic name must be 1 to 249 characters, not ", name.size()));
  }
  if (name == "." || name == "..") {
    return absl::InvalidArgumentError("topic name cannot be '.' or '..'");
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("topic name '", ToAbsl(name), "' has a character outside [a-zA-Z0-9._-]"));
    }
  }
  if (reserved == ReservedNames::kRefused && name.starts_with("__")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "topic name '", ToAbsl(name), "' starts with '__', which is reserved for internal topics"));
  }
  return absl::OkStatus();
}

namespace {

// Kafka's collision rule: '.' and '_' may not be the only difference, as
// metric names cannot tell them apart.
std::string Normalized(std::string_view name) {
  return absl::StrReplaceAll(ToAbsl(name), {{".", "_"}});
}

const TopicImage* Collision(const MetadataImage& image, std::string_view name) {
  const std::string norm = Normalized(name);
  for (const auto& [other, topic] : image.topics()) {
    if (Normalized(other) == norm) return topic.get();
  }
  return nullptr;
}

// Partition records for `replicas`, numbered from `first`.
absl::Status AddPartitions(const Uuid& topic, int32_t first,
                           const std::vector<std::vector<NodeId>>& replicas, PendingBatch& batch) {
  for (size_t i = 0; i < replicas.size(); ++i) {
    PartitionImage p;
    p.replicas = replicas[i];
    p.isr = replicas[i];  // an empty log: every replica is in sync
    p.leader = replicas[i].front();
    if (absl::Status st = batch.Add(records::Partition(topic, first + static_cast<int32_t>(i), p));
        !st.ok()) {
      return st;
    }
  }
  return absl::OkStatus();
}

v1::Error InternalError(const absl::Status& st) {
  return MakeError(v1::UNKNOWN_SERVER_ERROR, std::string(st.message()));
}

}  // namespace

v1::CreateTopicsResponse CreateTopics(const v1::CreateTopicsRequest& request,
                                      const TopicDefaults& defaults,
                                      absl::FunctionRef<Uuid()> new_topic_id, PendingBatch& batch) {
  v1::CreateTopicsResponse response;
  absl::flat_hash_set<std::string> seen;
  for (const v1::CreateTopicsRequest::Topic& t : request.topics()) {
    v1::CreateTopicsResponse::Result* result = response.add_results();
    result->set_name(t.name());
    auto fail = [&](v1::ErrorCode code, std::string message) {
      *result->mutable_error() = MakeError(code, std::move(message));
    };
    if (request.auto_create() && !defaults.auto_create) {
      fail(v1::UNKNOWN_TOPIC_OR_PARTITION,
           absl::StrCat("no topic '", t.name(), "', and auto.create.topics.enable is false"));
      continue;
    }
    if (!seen.insert(t.name()).second) {
      fail(v1::INVALID_REQUEST, absl::StrCat("topic '", t.name(), "' is listed twice"));
      continue;
    }
    if (absl::Status st = ValidateTopicName(
            t.name(), request.allow_internal() ? ReservedNames::kAllowed : ReservedNames::kRefused);
        !st.ok()) {
      fail(v1::INVALID_TOPIC_EXCEPTION, std::string(st.message()));
      continue;
    }
    const MetadataImage& image = batch.image();
    if (image.FindTopic(t.name()) != nullptr) {
      fail(v1::TOPIC_ALREADY_EXISTS, absl::StrCat("topic '", t.name(), "' already exists"));
      continue;
    }
    if (const TopicImage* other = Collision(image, t.name()); other != nullptr) {
      fail(v1::INVALID_TOPIC_EXCEPTION,
           absl::StrCat("topic '", t.name(), "' collides with existing topic '", other->name,
                        "' ('.' and '_' are the same in metric names)"));
      continue;
    }
    const int32_t partitions = t.partitions() == 0 ? defaults.partitions : t.partitions();
    if (partitions < 1 || partitions > kMaxPartitions) {
      fail(v1::INVALID_PARTITIONS,
           absl::StrCat("partitions must be 1 to ", kMaxPartitions, ", not ", partitions));
      continue;
    }
    const int32_t rf =
        t.replication_factor() == 0 ? defaults.replication_factor : t.replication_factor();
    if (rf < 1) {
      fail(v1::INVALID_REPLICATION_FACTOR,
           absl::StrCat("replication factor must be at least 1, not ", rf));
      continue;
    }
    bool configs_ok = true;
    for (const auto& [key, value] : t.configs()) {
      if (absl::Status st = storage::TopicConfigDef().Validate(key, value); !st.ok()) {
        fail(v1::INVALID_CONFIG, std::string(st.message()));
        configs_ok = false;
        break;
      }
    }
    if (!configs_ok) continue;
    Uuid id = new_topic_id();
    while (id.IsZero() || image.FindTopic(id) != nullptr) id = new_topic_id();
    absl::StatusOr<std::vector<std::vector<NodeId>>> placement =
        PlaceReplicas(image, partitions, rf, id.hi ^ id.lo);
    if (!placement.ok()) {
      fail(v1::INVALID_REPLICATION_FACTOR, std::string(placement.status().message()));
      continue;
    }
    // Records of one topic go in all together or not at all.
    PendingBatch attempt = batch;
    absl::Status st = attempt.Add(records::Topic(t.name(), id));
    if (st.ok()) st = AddPartitions(id, 0, *placement, attempt);
    std::map<std::string, std::string> configs(t.configs().begin(), t.configs().end());
    if (!configs.contains("min.insync.replicas") &&
        defaults.min_insync_replicas != storage::TopicConfig().min_insync_replicas) {
      // The cluster default travels with the topic, so brokers enforce it.
      configs["min.insync.replicas"] = std::to_string(defaults.min_insync_replicas);
    }
    for (const auto& [key, value] : configs) {
      if (st.ok()) st = attempt.Add(records::Config(id, key, value));
    }
    if (!st.ok()) {
      *result->mutable_error() = InternalError(st);
      continue;
    }
    batch = std::move(attempt);
    *result->mutable_topic_id() = id.ToProto();
    result->set_partitions(partitions);
    result->set_replication_factor(rf);
  }
  return response;
}

v1::DeleteTopicsResponse DeleteTopics(const v1::DeleteTopicsRequest& request, PendingBatch& batch) {
  v1::DeleteTopicsResponse response;
  for (const std::string& name : request.names()) {
    v1::TopicResult* result = response.add_results();
    result->set_name(name);
    const TopicImage* topic = batch.image().FindTopic(name);
    if (topic == nullptr) {
      *result->mutable_error() =
          MakeError(v1::UNKNOWN_TOPIC_OR_PARTITION, absl::StrCat("no topic '", name, "'"));
      continue;
    }
    if (absl::Status st = batch.Add(records::RemoveTopic(topic->id)); !st.ok()) {
      *result->mutable_error() = InternalError(st);
    }
  }
  return response;
}

v1::CreatePartitionsResponse CreatePartitions(const v1::CreatePartitionsRequest& request,
                                              PendingBatch& batch) {
  v1::CreatePartitionsResponse response;
  for (const v1::CreatePartitionsRequest::Topic& t : request.topics()) {
    v1::TopicResult* result = response.add_results();
    result->set_name(t.name());
    auto fail = [&](v1::ErrorCode code, std::string message) {
      *result->mutable_error() = MakeError(code, std::move(message));
    };
    const TopicImage* topic = batch.image().FindTopic(t.name());
    if (topic == nullptr) {
      fail(v1::UNKNOWN_TOPIC_OR_PARTITION, absl::StrCat("no topic '", t.name(), "'"));
      continue;
    }
    const auto current = static_cast<int32_t>(topic->partitions.size());
    if (t.count() <= current || t.count() > kMaxPartitions) {
      fail(v1::INVALID_PARTITIONS,
           absl::StrCat("topic '", t.name(), "' has ", current,
                        " partitions; the new count must be larger and at most ", kMaxPartitions,
                        ", not ", t.count()));
      continue;
    }
    const int rf =
        topic->partitions.empty() ? 1 : static_cast<int>(topic->partitions.front().replicas.size());
    absl::StatusOr<std::vector<std::vector<NodeId>>> placement = PlaceReplicas(
        batch.image(), t.count() - current, rf, topic->id.hi ^ topic->id.lo ^ current);
    if (!placement.ok()) {
      fail(v1::INVALID_REPLICATION_FACTOR, std::string(placement.status().message()));
      continue;
    }
    PendingBatch attempt = batch;
    if (absl::Status st = AddPartitions(topic->id, current, *placement, attempt); !st.ok()) {
      *result->mutable_error() = InternalError(st);
      continue;
    }
    batch = std::move(attempt);
  }
  return response;
}

namespace {

// The records that apply `ops` to the configs `current` of `topic` (zero:
// the cluster's), keys and values checked against `def`; the first bad op's
// error otherwise. Every op is checked before any is written: a change is
// whole.
absl::StatusOr<std::vector<v1::MetadataRecord>> ConfigChanges(
    const google::protobuf::RepeatedPtrField<v1::AlterConfigsRequest::Op>& ops,
    const ConfigDef& def, const char* what, const Uuid& topic,
    const absl::btree_map<std::string, std::string>& current) {
  std::vector<v1::MetadataRecord> changes;
  for (const v1::AlterConfigsRequest::Op& op : ops) {
    if (def.Find(op.key()) == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("unknown ", what, " config key '", op.key(), "'"));
    }
    if (op.kind() == v1::AlterConfigsRequest::Op::DELETE) {
      if (current.contains(op.key()))
        changes.push_back(records::Config(topic, op.key(), std::nullopt));
      continue;
    }
    if (absl::Status st = def.Validate(op.key(), op.value()); !st.ok()) return st;
    changes.push_back(records::Config(topic, op.key(), op.value()));
  }
  return changes;
}

}  // namespace

v1::AlterConfigsResponse AlterConfigs(const v1::AlterConfigsRequest& request, PendingBatch& batch) {
  v1::AlterConfigsResponse response;
  if (!request.cluster_ops().empty()) {
    v1::TopicResult* result = response.add_results();
    absl::StatusOr<std::vector<v1::MetadataRecord>> changes =
        ConfigChanges(request.cluster_ops(), ClusterConfigDef(), "cluster", Uuid{},
                      batch.image().cluster_configs());
    if (!changes.ok()) {
      *result->mutable_error() =
          MakeError(v1::INVALID_CONFIG, std::string(changes.status().message()));
    } else {
      PendingBatch attempt = batch;
      absl::Status st;
      for (v1::MetadataRecord& r : *changes) {
        if (st.ok()) st = attempt.Add(std::move(r));
      }
      if (st.ok()) {
        batch = std::move(attempt);
      } else {
        *result->mutable_error() = InternalError(st);
      }
    }
  }
  for (const v1::AlterConfigsRequest::Topic& t : request.topics()) {
    v1::TopicResult* result = response.add_results();
    result->set_name(t.name());
    const TopicImage* topic = batch.image().FindTopic(t.name());
    if (topic == nullptr) {
      *result->mutable_error() =
          MakeError(v1::UNKNOWN_TOPIC_OR_PARTITION, absl::StrCat("no topic '", t.name(), "'"));
      continue;
    }
    absl::StatusOr<std::vector<v1::MetadataRecord>> changes =
        ConfigChanges(t.ops(), storage::TopicConfigDef(), "topic", topic->id, topic->configs);
    if (!changes.ok()) {
      *result->mutable_error() =
          MakeError(v1::INVALID_CONFIG, std::string(changes.status().message()));
      continue;
    }
    PendingBatch attempt = batch;
    absl::Status st;
    for (v1::MetadataRecord& r : *changes) {
      if (st.ok()) st = attempt.Add(std::move(r));
    }
    // Enabling unclean election may bring offline partitions back.
    if (st.ok()) st = Reconcile(attempt).status();
    if (!st.ok()) {
      *result->mutable_error() = InternalError(st);
      continue;
    }
    batch = std::move(attempt);
  }
  return response;
}

v1::DescribeConfigsResponse DescribeConfigs(const v1::DescribeConfigsRequest& request,
                                            const MetadataImage& image) {
  v1::DescribeConfigsResponse response;
  for (const std::string& name : request.topics()) {
    v1::DescribeConfigsResponse::Result* result = response.add_results();
    result->set_topic(name);
    const TopicImage* topic = image.FindTopic(name);
    if (topic == nullptr) {
      *result->mutable_error() =
          MakeError(v1::UNKNOWN_TOPIC_OR_PARTITION, absl::StrCat("no topic '", name, "'"));
      continue;
    }
    for (const ConfigKey& key : storage::TopicConfigDef().keys()) {
      v1::ConfigEntry* e = result->add_configs();
      e->set_key(key.name);
      e->set_doc(key.doc);
      if (auto it = topic->configs.find(key.name); it != topic->configs.end()) {
        e->set_value(it->second);
        e->set_source(v1::ConfigEntry::TOPIC);
      } else {
        e->set_value(key.default_value.value_or(""));
        e->set_source(v1::ConfigEntry::DEFAULT);
      }
    }
  }
  return response;
}

v1::DescribeTopicsResponse DescribeTopics(const v1::DescribeTopicsRequest& request,
                                          const MetadataImage& image) {
  v1::DescribeTopicsResponse response;
  response.set_metadata_offset(image.offset());
  samsa::DescribeTopics(image, request.names(), response.mutable_topics());
  return response;
}

}  // namespace samsa::controller
