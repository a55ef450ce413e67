// The samsa CLI end to end against a real cluster: the seed's user-clicks
// walkthrough with its JSON outputs parsed and checked, and every bad-input
// path.
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/eventually.h"
#include "common/murmur2.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "storage/env.h"
#include "tests/harness/cluster.h"
#include "tests/harness/status_assert.h"

namespace samsa::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

struct CliResult {
  int code = -1;
  std::string out;
  std::string err;
};

class CliTest : public ::testing::Test {
 protected:
  // Starts `samsa ARGS` with `input` on stdin (bootstrap: the cluster's
  // brokers unless ARGS name one), its stdout and stderr going to
  // Out(n) and Err(n) for the `n` it sets.
  absl::StatusOr<ChildProcess> Start(const std::vector<std::string>& args, const std::string& input,
                                     int* n) {
    *n = runs_++;
    const std::string in = absl::StrCat(dir_.path(), "/in-", *n);
    EXPECT_TRUE(storage::Env::Default()->WriteFileAtomically(in, input).ok());
    std::string command = absl::StrCat("exec '", SAMSA_CLI_BIN, "'");
    if (!bootstrap_.empty()) absl::StrAppend(&command, " --bootstrap '", bootstrap_, "'");
    for (const std::string& a : args) absl::StrAppend(&command, " '", a, "'");
    absl::StrAppend(&command, " < '", in, "' > '", Out(*n), "' 2> '", Err(*n), "'");
    return ChildProcess::Spawn("/bin/sh", {"-c", command}, absl::StrCat(dir_.path(), "/sh.log"));
  }
  std::string Out(int n) const { return absl::StrCat(dir_.path(), "/out-", n); }
  std::string Err(int n) const { return absl::StrCat(dir_.path(), "/err-", n); }

  // Runs `samsa ARGS` to its end (see Start).
  CliResult Run(const std::vector<std::string>& args, const std::string& input = "",
                absl::Duration timeout = absl::Seconds(60)) {
    int n = 0;
    absl::StatusOr<ChildProcess> p = Start(args, input, &n);
    EXPECT_TRUE(p.ok()) << p.status();
    CliResult r;
    if (!p.ok()) return r;
    std::optional<int> status = p->WaitExit(timeout);
    EXPECT_TRUE(status.has_value()) << "samsa " << absl::StrJoin(args, " ") << " did not exit";
    r.code = status.has_value() ? ExitCode(*status) : -1;
    r.out = storage::Env::Default()->ReadFile(Out(n)).value_or("");
    r.err = storage::Env::Default()->ReadFile(Err(n)).value_or("");
    return r;
  }

  void StartCluster(int brokers) {
    cluster_ = std::make_unique<Cluster>(ClusterOptions{
        .voters = 1, .brokers = brokers, .broker_overrides = {"offsets.topic.num.partitions=3"}});
    ASSERT_OK(cluster_->StartAll());
    std::vector<std::string> addresses;
    for (int b = 101; b < 101 + brokers; ++b) {
      ASSERT_OK(cluster_->StartBroker(b));
      ASSERT_TRUE(cluster_->WaitForBrokerState(b, v1::BrokerDescription::ACTIVE));
      addresses.push_back(cluster_->DescribeBroker(b).address());
    }
    bootstrap_ = absl::StrJoin(addresses, ",");
  }

  TempDir dir_;
  int runs_ = 0;
  std::unique_ptr<Cluster> cluster_;
  std::string bootstrap_;
};

std::vector<json> JsonLines(const std::string& text) {
  std::vector<json> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    out.push_back(json::parse(line));
  }
  return out;
}

TEST_F(CliTest, TheUserClicksWalkthrough) {
  StartCluster(3);
  if (HasFatalFailure()) return;
  CliResult created = Run({"--output", "json", "topic", "create", "user-clicks", "--partitions",
                           "6", "--replication-factor", "3", "--config", "retention.ms=86400000"});
  ASSERT_EQ(0, created.code) << created.err;
  const json topic = json::parse(created.out);
  EXPECT_EQ("user-clicks", topic["name"]);
  EXPECT_EQ(32u, topic["topic_id"].get<std::string>().size());
  EXPECT_EQ("86400000", topic["configs"]["retention.ms"]);
  ASSERT_EQ(6u, topic["partitions"].size());
  for (const json& p : topic["partitions"]) {
    EXPECT_EQ(3u, p["replicas"].size());
    EXPECT_EQ(3u, p["isr"].size());
    EXPECT_THAT(p["replicas"].get<std::vector<int>>(), ::testing::Contains(p["leader"].get<int>()));
    EXPECT_EQ(0, p["leader_epoch"]);
  }

  CliResult listed = Run({"--output", "json", "topic", "list"});
  ASSERT_EQ(0, listed.code) << listed.err;
  EXPECT_EQ(json::array({"user-clicks"}), json::parse(listed.out));

  // Click events keyed by user, as in the seed.
  const std::vector<std::pair<std::string, std::string>> clicks = {
      {"john", R"({"user":"John Doe","page":"/product/42","action":"Buy Now"})"},
      {"jane", R"({"user":"Jane Roe","page":"/home","action":"view"})"},
      {"john", R"({"user":"John Doe","page":"/cart","action":"checkout"})"},
      {"max", R"({"user":"Max Mustermann","page":"/search","action":"search"})"},
      {"jane", R"({"user":"Jane Roe","page":"/product/7","action":"Buy Now"})"},
  };
  std::string input;
  for (const auto& [k, v] : clicks) absl::StrAppend(&input, k, "|", v, "\n");
  const std::string report_path = absl::StrCat(dir_.path(), "/report.json");
  CliResult produced = Run(
      {"produce", "user-clicks", "--key-separator", "|", "--delivery-report", report_path}, input);
  ASSERT_EQ(0, produced.code) << produced.err;
  std::vector<json> report = JsonLines(*storage::Env::Default()->ReadFile(report_path));
  ASSERT_EQ(clicks.size(), report.size());
  std::map<std::string, std::vector<int64_t>> offsets_by_key;
  for (const json& r : report) {
    const std::string key = r["key"];
    EXPECT_EQ(PartitionForKey(key, 6), r["partition"]) << "Kafka's partition for " << key;
    offsets_by_key[key].push_back(r["offset"]);
  }
  EXPECT_EQ((std::vector<int64_t>{0, 1}), offsets_by_key["john"]) << "in order, one partition";

  CliResult consumed =
      Run({"consume", "user-clicks", "--from-beginning", "--max-messages", "5", "--timeout-ms",
           "10000", "--print-partition", "--print-offset", "--print-key"});
  ASSERT_EQ(0, consumed.code) << consumed.err;
  std::multiset<std::string> lines, expected;
  for (absl::string_view line : absl::StrSplit(consumed.out, '\n', absl::SkipEmpty())) {
    lines.emplace(line);
  }
  for (const json& r : report) {
    expected.insert(absl::StrCat(r["partition"].get<int>(), "\t", r["offset"].get<int64_t>(), "\t",
                                 r["key"].get<std::string>(), "\t", r["value"].get<std::string>()));
  }
  EXPECT_EQ(expected, lines);

  CliResult values = Run({"consume", "user-clicks", "--from-beginning", "--partition",
                          absl::StrCat(PartitionForKey("john", 6)), "--max-messages", "2"});
  ASSERT_EQ(0, values.code) << values.err;
  EXPECT_EQ(absl::StrCat(clicks[0].second, "\n", clicks[2].second, "\n"), values.out)
      << "the value alone by default, in order";

  // Compressed batches (each codec) come back as they went in, after the
  // clicks that partition 3 already holds.
  const int64_t offsets_in_p3 = std::count_if(report.begin(), report.end(),
                                              [](const json& r) { return r["partition"] == 3; });
  for (const char* codec : {"gzip", "snappy", "lz4", "zstd"}) {
    CliResult zipped = Run({"produce", "user-clicks", "--partition", "3", "--compression", codec},
                           absl::StrCat(codec, "-1\n", codec, "-2\n"));
    ASSERT_EQ(0, zipped.code) << codec << ": " << zipped.err;
  }
  CliResult unzipped = Run({"consume", "user-clicks", "--partition", "3", "--from-beginning",
                            "--max-messages", absl::StrCat(8 + offsets_in_p3)});
  ASSERT_EQ(0, unzipped.code) << unzipped.err;
  std::vector<std::string> p3;
  for (absl::string_view line : absl::StrSplit(unzipped.out, '\n', absl::SkipEmpty())) {
    if (!absl::StartsWith(line, "{")) p3.emplace_back(line);
  }
  EXPECT_EQ((std::vector<std::string>{"gzip-1", "gzip-2", "snappy-1", "snappy-2", "lz4-1", "lz4-2",
                                      "zstd-1", "zstd-2"}),
            p3);

  // Bytes that are not UTF-8 cannot be a JSON string: they come back as
  // base64, whole (the CLI used to abort on them).
  const std::string binary("\x08\x96\x01\xff\xfe\x80", 6);
  ASSERT_EQ(0, Run({"produce", "user-clicks", "--partition", "3"}, binary + "\n").code);
  CliResult as_json = Run({"--output", "json", "consume", "user-clicks", "--partition", "3",
                           "--offset", absl::StrCat(8 + offsets_in_p3), "--max-messages", "1"});
  ASSERT_EQ(0, as_json.code) << as_json.err;
  const json bin = json::parse(as_json.out);
  std::string decoded;
  ASSERT_TRUE(bin["value"].is_object()) << as_json.out;
  ASSERT_TRUE(absl::Base64Unescape(bin["value"]["base64"].get<std::string>(), &decoded));
  EXPECT_EQ(binary, decoded);
  EXPECT_TRUE(bin["key"].is_null());

  // --null-value sends a tombstone: a null value, not the marker's text.
  ASSERT_EQ(0, Run({"produce", "user-clicks", "--partition", "3", "--key-separator", "|",
                    "--null-value", "NULL"},
                   "gone|NULL\n")
                   .code);
  CliResult tombstone = Run({"--output", "json", "consume", "user-clicks", "--partition", "3",
                             "--offset", absl::StrCat(9 + offsets_in_p3), "--max-messages", "1"});
  ASSERT_EQ(0, tombstone.code) << tombstone.err;
  const json t = json::parse(tombstone.out);
  EXPECT_EQ("gone", t["key"]) << tombstone.out;
  EXPECT_TRUE(t["value"].is_null()) << tombstone.out;

  CliResult cluster = Run({"--output", "json", "cluster", "describe"});
  ASSERT_EQ(0, cluster.code) << cluster.err;
  const json c = json::parse(cluster.out);
  ASSERT_EQ(1u, c["controllers"].size());
  EXPECT_EQ(1, c["controllers"][0]["id"]);
  EXPECT_EQ(true, c["controllers"][0]["leader"]);
  EXPECT_GE(c["controllers"][0]["term"].get<int64_t>(), 1);
  EXPECT_GE(c["controllers"][0]["commit_index"].get<int64_t>(), 1);
  EXPECT_EQ(0, c["controllers"][0]["lag"]);
  ASSERT_EQ(3u, c["brokers"].size());
  for (const json& b : c["brokers"]) {
    EXPECT_EQ("active", b["state"]);
    EXPECT_GT(b["epoch"].get<int64_t>(), 0);
    EXPECT_TRUE(b.contains("address") && b.contains("rack") && b.contains("id"));
  }

  CliResult deleted = Run({"topic", "delete", "user-clicks"});
  EXPECT_EQ(0, deleted.code) << deleted.err;
}

// The seed's scenario: orders-topic with P0 and P1 holding offsets 0..4;
// group-A and group-B read at their own pace, each resuming from its own
// committed offsets.
TEST_F(CliTest, TwoGroupsReadTheSameTopicIndependently) {
  StartCluster(3);
  if (HasFatalFailure()) return;
  ASSERT_EQ(0, Run({"topic", "create", "orders-topic", "--partitions", "2"}).code);
  for (int p = 0; p < 2; ++p) {
    std::string orders;
    for (int i = 0; i < 5; ++i) absl::StrAppend(&orders, "p", p, "-order-", i, "\n");
    ASSERT_EQ(0, Run({"produce", "orders-topic", "--partition", absl::StrCat(p)}, orders).code);
  }
  auto read = [&](const std::string& group, int n) {
    CliResult r =
        Run({"consume", "orders-topic", "--group", group, "--from-beginning", "--max-messages",
             absl::StrCat(n), "--timeout-ms", "10000", "--print-partition", "--print-offset"});
    EXPECT_EQ(0, r.code) << r.err;
    std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
    return lines;
  };
  std::vector<std::string> a1 = read("group-A", 3);
  std::vector<std::string> b1 = read("group-B", 10);
  std::vector<std::string> a2 = read("group-A", 7);
  ASSERT_EQ(3u, a1.size());
  ASSERT_EQ(10u, b1.size()) << "group-B reads everything, whatever group-A did";
  ASSERT_EQ(7u, a2.size()) << "group-A resumes after what it printed";
  std::multiset<std::string> a_all(a1.begin(), a1.end());
  a_all.insert(a2.begin(), a2.end());
  EXPECT_EQ(std::multiset<std::string>(b1.begin(), b1.end()), a_all)
      << "together group-A's reads are every record once";
  CliResult none = Run({"consume", "orders-topic", "--group", "group-B", "--timeout-ms", "1500"});
  EXPECT_EQ(0, none.code) << none.err;
  EXPECT_EQ("", none.out) << "group-B has read everything";
  EXPECT_EQ(2, Run({"consume", "orders-topic", "--group", "g", "--partition", "0"}).code);

  // group describe: each group's own committed offsets and lag.
  CliResult described = Run({"--output", "json", "group", "describe", "group-A"});
  ASSERT_EQ(0, described.code) << described.err;
  const json a = json::parse(described.out);
  EXPECT_EQ("group-A", a["group"]);
  EXPECT_EQ("empty", a["state"]) << "its consumers left";
  EXPECT_TRUE(a["members"].empty());
  ASSERT_EQ(2u, a["offsets"].size());
  for (const json& o : a["offsets"]) {
    EXPECT_EQ(5, o["committed"]);
    EXPECT_EQ(5, o["log_end"]);
    EXPECT_EQ(0, o["lag"]);
  }
  CliResult listed = Run({"--output", "json", "group", "list"});
  ASSERT_EQ(0, listed.code) << listed.err;
  std::set<std::string> names;
  for (const json& g : json::parse(listed.out)) names.insert(g["group"]);
  EXPECT_EQ((std::set<std::string>{"group-A", "group-B"}), names);

  // The seed's last question: how those offsets look inside
  // __consumer_offsets. Its records print decoded; a group's records share
  // one partition, so the last one per partition of the topic is what the
  // group has committed.
  CliResult inside = Run({"--output", "json", "consume", "__consumer_offsets", "--from-beginning",
                          "--timeout-ms", "2000"});
  ASSERT_EQ(0, inside.code) << inside.err;
  std::map<std::tuple<std::string, std::string, int>, int64_t> newest;
  for (const json& r : JsonLines(inside.out)) {
    ASSERT_TRUE(r["value"].is_object()) << r.dump();
    newest[{r["key"]["group"], r["key"]["topic"], r["key"]["partition"]}] = r["value"]["offset"];
  }
  EXPECT_EQ((std::map<std::tuple<std::string, std::string, int>, int64_t>{
                {{"group-A", "orders-topic", 0}, 5},
                {{"group-A", "orders-topic", 1}, 5},
                {{"group-B", "orders-topic", 0}, 5},
                {{"group-B", "orders-topic", 1}, 5}}),
            newest);
  CliResult text =
      Run({"consume", "__consumer_offsets", "--from-beginning", "--timeout-ms", "2000"});
  ASSERT_EQ(0, text.code) << text.err;
  EXPECT_THAT(text.out, HasSubstr("[group-A,orders-topic,1]\toffset=5 leader_epoch=-1 "
                                  "metadata=\"\" commit_time=20"));

  // reset-offsets moves group-B back; group-A is untouched.
  CliResult reset =
      Run({"group", "reset-offsets", "group-B", "--topic", "orders-topic", "--to-earliest"});
  ASSERT_EQ(0, reset.code) << reset.err;
  const json b = json::parse(Run({"--output", "json", "group", "describe", "group-B"}).out);
  for (const json& o : b["offsets"]) {
    EXPECT_EQ(0, o["committed"]);
    EXPECT_EQ(5, o["lag"]);
  }
  EXPECT_EQ(10u, read("group-B", 10).size()) << "group-B reads everything again";
  EXPECT_EQ(2, Run({"group", "reset-offsets", "group-B", "--topic", "orders-topic", "--to-earliest",
                    "--to-latest"})
                   .code);

  // While group-B has a member, its offsets cannot be reset nor the group
  // deleted.
  int n = 0;
  absl::StatusOr<ChildProcess> member =
      Start({"consume", "orders-topic", "--group", "group-B"}, "", &n);
  ASSERT_TRUE(member.ok()) << member.status();
  (void)Eventually(
      [&] {
        return absl::StrContains(storage::Env::Default()->ReadFile(Err(n)).value_or(""),
                                 "assigned");
      },
      absl::Seconds(20), absl::Milliseconds(50));
  EXPECT_THAT(storage::Env::Default()->ReadFile(Err(n)).value_or(""),
              HasSubstr("group group-B: assigned orders-topic-0 orders-topic-1"));
  CliResult live =
      Run({"group", "reset-offsets", "group-B", "--topic", "orders-topic", "--to-latest"});
  EXPECT_EQ(1, live.code);
  EXPECT_THAT(live.err, HasSubstr("NON_EMPTY_GROUP"));
  CliResult busy = Run({"group", "delete", "group-B"});
  EXPECT_EQ(1, busy.code);
  EXPECT_THAT(busy.err, HasSubstr("NON_EMPTY_GROUP"));
  EXPECT_EQ(0, member->Terminate());
  EXPECT_THAT(storage::Env::Default()->ReadFile(Err(n)).value_or(""),
              HasSubstr("group group-B: revoked orders-topic-0 orders-topic-1"))
      << "leaving revokes what it held";

  // delete: the group and its offsets are gone, deleted in
  // __consumer_offsets by records with a null value.
  ASSERT_EQ(0, Run({"group", "delete", "group-B"}).code);
  CliResult gone = Run({"group", "describe", "group-B"});
  EXPECT_EQ(1, gone.code);
  EXPECT_THAT(gone.err, HasSubstr("GROUP_ID_NOT_FOUND"));
  CliResult tombstones =
      Run({"consume", "__consumer_offsets", "--from-beginning", "--timeout-ms", "2000"});
  EXPECT_THAT(tombstones.out, HasSubstr("[group-B,orders-topic,0]\tnull\n"));
}

// `consume --group` stopped while its brokers are down gives up on its
// commit within a couple of seconds, says what it could not commit and
// fails; a second signal ends it at once.
TEST_F(CliTest, AGroupConsumerStopsPromptlyWhenItsBrokersAreGone) {
  StartCluster(1);
  if (HasFatalFailure()) return;
  ASSERT_EQ(0, Run({"topic", "create", "stops", "--partitions", "1"}).code);
  ASSERT_EQ(0, Run({"produce", "stops"}, "a\nb\nc\n").code);
  auto consumer = [&](const std::string& group, int* n) {
    absl::StatusOr<ChildProcess> p =
        Start({"consume", "stops", "--group", group, "--from-beginning"}, "", n);
    EXPECT_TRUE(p.ok()) << p.status();
    return p;
  };
  int first = 0, second = 0;
  absl::StatusOr<ChildProcess> one = consumer("stopping", &first);
  absl::StatusOr<ChildProcess> two = consumer("impatient", &second);
  ASSERT_TRUE(one.ok() && two.ok());
  // Both have printed the three records: they own the partition and hold
  // offsets not yet committed (auto-commit waits 5 s).
  for (int n : {first, second}) {
    ASSERT_TRUE(Eventually(
        [&] { return storage::Env::Default()->ReadFile(Out(n)).value_or("") == "a\nb\nc\n"; },
        absl::Seconds(30)))
        << "consumer " << n
        << " printed: " << storage::Env::Default()->ReadFile(Out(n)).value_or("");
  }
  cluster_->KillBroker(101);

  one->Signal(SIGTERM);
  const absl::Time signalled = absl::Now();
  std::optional<int> status = one->WaitExit(absl::Seconds(10));
  const absl::Duration took = absl::Now() - signalled;
  ASSERT_TRUE(status.has_value()) << "still running 10 s after SIGTERM";
  const std::string err = storage::Env::Default()->ReadFile(Err(first)).value_or("");
  EXPECT_LT(took, absl::Seconds(3)) << err;
  EXPECT_NE(0, ExitCode(*status));
  EXPECT_THAT(err, HasSubstr("group stopping: could not commit stops-0 at 3")) << err;

  // Two signals pending at once merge into one: the second goes once the
  // first was taken.
  two->Signal(SIGINT);
  ASSERT_TRUE(Eventually([&] {
    return absl::StrContains(storage::Env::Default()->ReadFile(Err(second)).value_or(""),
                             "stopping (interrupt again to exit at once)");
  }));
  two->Signal(SIGINT);
  status = two->WaitExit(absl::Seconds(10));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(130, ExitCode(*status));
  EXPECT_THAT(storage::Env::Default()->ReadFile(Err(second)).value_or(""),
              HasSubstr("interrupted again: exiting now"));
}

// The same with a broker that hangs (SIGSTOP) instead of dying: calls to
// it do not fail, they wait; stopping cancels them.
TEST_F(CliTest, AGroupConsumerStopsPromptlyWhenItsBrokerHangs) {
  StartCluster(1);
  if (HasFatalFailure()) return;
  ASSERT_EQ(0, Run({"topic", "create", "hangs", "--partitions", "1"}).code);
  ASSERT_EQ(0, Run({"produce", "hangs"}, "a\nb\n").code);
  int n = 0;
  absl::StatusOr<ChildProcess> consumer =
      Start({"consume", "hangs", "--group", "waiting", "--from-beginning"}, "", &n);
  ASSERT_TRUE(consumer.ok()) << consumer.status();
  ASSERT_TRUE(
      Eventually([&] { return storage::Env::Default()->ReadFile(Out(n)).value_or("") == "a\nb\n"; },
                 absl::Seconds(30)));
  cluster_->broker_process(101).Signal(SIGSTOP);
  consumer->Signal(SIGTERM);
  const absl::Time signalled = absl::Now();
  std::optional<int> status = consumer->WaitExit(absl::Seconds(60));
  const absl::Duration took = absl::Now() - signalled;
  cluster_->broker_process(101).Signal(SIGCONT);
  ASSERT_TRUE(status.has_value()) << "still running 60 s after SIGTERM";
  const std::string err = storage::Env::Default()->ReadFile(Err(n)).value_or("");
  EXPECT_LT(took, absl::Seconds(3)) << err;
  EXPECT_NE(0, ExitCode(*status));
  EXPECT_THAT(err, HasSubstr("group waiting: could not commit hangs-0 at 2")) << err;
}

TEST_F(CliTest, BadInputGetsUsageOrOneLineWithTheErrorCode) {
  StartCluster(1);
  if (HasFatalFailure()) return;
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"topic"},
           {"topic", "create"},
           {"topic", "list", "--bogus"},
           {"--output", "yaml", "topic", "list"},
           {"topic", "create", "x", "--partitions", "zero"},
           {"consume", "x", "--offset", "3"},
           {"produce", "x", "--acks", "2"},
           {"produce", "x", "--compression", "brotli"},
       }) {
    CliResult r = Run(args);
    EXPECT_EQ(2, r.code) << absl::StrJoin(args, " ");
    EXPECT_THAT(r.err, HasSubstr("usage: samsa")) << absl::StrJoin(args, " ");
  }

  ASSERT_EQ(0,
            Run({"topic", "create", "t", "--partitions", "1", "--replication-factor", "1"}).code);
  struct Case {
    std::vector<std::string> args;
    std::string error;
  };
  for (const Case& c : std::vector<Case>{
           {{"topic", "create", "t"}, "TOPIC_ALREADY_EXISTS"},
           {{"topic", "create", "u", "--replication-factor", "3"}, "INVALID_REPLICATION_FACTOR"},
           {{"topic", "create", "u", "--config", "retention.ms=soon"}, "INVALID_CONFIG"},
           {{"topic", "describe", "missing"}, "UNKNOWN_TOPIC_OR_PARTITION"},
           {{"consume", "missing", "--timeout-ms", "100"}, "UNKNOWN_TOPIC_OR_PARTITION"},
       }) {
    CliResult r = Run(c.args);
    EXPECT_EQ(1, r.code) << absl::StrJoin(c.args, " ");
    EXPECT_THAT(r.err, HasSubstr(c.error)) << absl::StrJoin(c.args, " ");
    EXPECT_EQ(1, std::count(r.err.begin(), r.err.end(), '\n')) << r.err;
  }

  // A line without the key separator, and a topic that does not exist:
  // the report says which record failed and why; the exit code is 1.
  const std::string report_path = absl::StrCat(dir_.path(), "/bad-report.json");
  CliResult partly = Run({"produce", "t", "--key-separator", ":", "--delivery-report", report_path},
                         "a:1\nno separator\nb:2\n");
  EXPECT_EQ(1, partly.code);
  EXPECT_THAT(partly.err, HasSubstr("1 of 3 records were not delivered"));
  std::vector<json> report = JsonLines(*storage::Env::Default()->ReadFile(report_path));
  ASSERT_EQ(3u, report.size());
  int errors = 0;
  for (const json& r : report) {
    if (!r.contains("error")) continue;
    ++errors;
    EXPECT_EQ("no separator", r["value"]);
    EXPECT_TRUE(r["key"].is_null());
  }
  EXPECT_EQ(1, errors);
  CliResult unknown = Run({"produce", "missing"}, "x\n");
  EXPECT_EQ(1, unknown.code);
  EXPECT_THAT(unknown.err, HasSubstr("UNKNOWN_TOPIC_OR_PARTITION"));

  // Nobody listening: one line, within the timeout.
  const std::string saved = bootstrap_;
  bootstrap_ = absl::StrCat("127.0.0.1:", ReservePort());
  const absl::Time start = absl::Now();
  CliResult unreachable = Run({"--request-timeout-ms", "1500", "topic", "list"});
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_EQ(1, unreachable.code);
  EXPECT_EQ(1, std::count(unreachable.err.begin(), unreachable.err.end(), '\n')) << unreachable.err;
  EXPECT_THAT(unreachable.err, HasSubstr("no broker answered"));
  bootstrap_ = saved;
}

}  // namespace
}  // namespace samsa::testing
