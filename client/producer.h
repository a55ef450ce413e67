// Producer: the asynchronous, batching, idempotent producer (Kafka's
// KafkaProducer, docs/architecture.md §4).
//
//   auto producer = Producer::Create({.bootstrap = "127.0.0.1:9092"});
//   (*producer)->Send({.topic = "clicks", .key = "user-1", .value = "buy"},
//                     [](absl::StatusOr<RecordMetadata> m) { ... });
//   (*producer)->Flush(absl::Seconds(30));
//
// Partitioning: the record's partition if set, else murmur2 of the key
// (the partition a Kafka client picks), else a sticky partition per topic
// that changes when its batch is sent, so null-key records fill batches.
//
// Batching: records for a partition gather in a batch until it reaches
// batch_size bytes or is linger old; a sender thread then encodes it as one
// RecordBatch v2 (compressed as configured) and sends it to the partition's
// leader, batches for the same broker together.
//
// Idempotence (on by default): the producer gets a producer id
// (InitProducerId) and numbers each partition's batches with sequences. A
// batch is sent only within max_in_flight batches of the partition's oldest
// unanswered one (the broker remembers a producer's last five batches, so a
// retry always finds its original there). When a batch fails with a
// retriable error (no leader, not enough replicas, a lost response), its
// partition stops sending new batches and resends from the failed one, in
// order, one at a time: batches the broker already has are recognized
// (answered with their original offsets), the rest are written in order. A record is retried until
// delivery_timeout; a batch that finally fails moves its partition to a new producer epoch with
// sequences from 0, so the failure cannot make later batches look like duplicates. Delivery
// callbacks of one partition run in record order.
//
// Back-pressure: Send blocks while buffer_memory bytes of records wait to
// be delivered, at most max_block; then the callback gets RESOURCE_EXHAUSTED.
// Errors reach callbacks as statuses carrying the Kafka code (errors.h).
//
// Thread-safe. Callbacks run on the producer's threads and must not block
// (they may call Send, not Flush or Close). Flush returns once the callbacks
// of the records it waited for have run.
#pragma once

#include <future>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/transport.h"
#include "storage/compression.h"
#include "storage/record_batch.h"

namespace samsa::client {

// Batch compression codecs: none, gzip, snappy, lz4, zstd.
using storage::Compression;
using storage::CompressionName;
using storage::ParseCompression;

struct ProducerConfig {
  std::string bootstrap = "127.0.0.1:9092";  // host:port[,host:port...]
  int acks = -1;                             // -1 (all), 1 or 0
  int32_t batch_size = 16384;                // bytes per partition batch
  absl::Duration linger = absl::Milliseconds(5);
  Compression compression = Compression::kNone;
  bool idempotence = true;
  int max_in_flight = 5;  // batches per partition; at most 5 with idempotence
  absl::Duration delivery_timeout = absl::Minutes(2);
  absl::Duration request_timeout = absl::Seconds(30);
  absl::Duration retry_backoff = absl::Milliseconds(100);
  int64_t buffer_memory = int64_t{32} << 20;
  absl::Duration max_block = absl::Minutes(1);
  int32_t max_request_size = 1 << 20;  // the largest batch (one record at least)
};

struct ProducerRecord {
  std::string topic = {};
  std::optional<int32_t> partition = {};
  std::optional<std::string> key = {};    // nullopt: null
  std::optional<std::string> value = {};  // nullopt: null (a tombstone)
  std::vector<std::pair<std::string, std::optional<std::string>>> headers = {};
  int64_t timestamp_ms = -1;  // -1: when Send is called
};

struct RecordMetadata {
  std::string topic;
  int32_t partition = -1;
  int64_t offset = -1;  // -1 with acks=0
  int64_t timestamp_ms = -1;
};

using DeliveryCallback = absl::AnyInvocable<void(absl::StatusOr<RecordMetadata>)>;

class Producer {
 public:
  // Checks the configuration and, with idempotence, gets a producer id
  // (waiting at most max_block for a broker).
  static absl::StatusOr<std::unique_ptr<Producer>> Create(
      ProducerConfig config, std::shared_ptr<Transport> transport = nullptr);
  // Close(), waiting up to a minute.
  ~Producer();

  // Queues `record`; `done` gets its offset or why it was not delivered.
  void Send(ProducerRecord record, DeliveryCallback done);
  std::future<absl::StatusOr<RecordMetadata>> Send(ProducerRecord record);

  // Sends every batch now and waits until each record sent before the call
  // has its answer; DEADLINE_EXCEEDED if that takes longer than `timeout`.
  absl::Status Flush(absl::Duration timeout);
  // Flushes, then fails what is left (FAILED_PRECONDITION: closed) and
  // stops. Later Sends fail at once.
  absl::Status Close(absl::Duration timeout = absl::Minutes(1));

  class Impl;

 private:
  explicit Producer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace samsa::client
