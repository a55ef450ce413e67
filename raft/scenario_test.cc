// Scenario tests for the Raft core (style rule 4 in docs/development.md, after etcd-io/raft's
// datadriven testdata). Each file in raft/testdata/ is a script: a command,
// a line "----", and the output the command must print, blocks separated by
// blank lines. Run with --rewrite (or SAMSA_REWRITE=1) to regenerate the
// expected output after a deliberate change, then read the diff.
//
// Commands:
//   nodes N [prevote=false] [checkquorum=false] [one-entry-appends]
//                            N voters, empty logs
//   log ID TERMS...          give ID a log of entries (data "x") with these
//                            terms (durable term = the last) and reboot it
//   term ID T                set ID's durable term to T and reboot it
//   deliver                  one round: process Readys, deliver what is in
//                            flight once, print it
//   campaign ID              start an election on ID now
//   tick ID [N]              N ticks (default 1) on ID
//   tick-all N               N ticks on every live node, one round at a time
//   propose ID DATA          propose DATA on ID
//   conf ID add|remove|learner N
//   transfer ID TO           leadership transfer from ID to TO
//   read-index ID CTX        a ReadIndex request on ID
//   compact ID               ID snapshots at its applied index
//   partition A,B|C,D,E      drop messages between the groups
//   heal
//   slow-disk ID             ID, while it leads, writes its entries without
//                            syncing them (Ready::may_sync_later) until
//   sync ID                  its disk syncs what it wrote
//   crash ID / restart ID    lose ID's memory and unsynced writes / reboot
//                            from its disk
//   drop-pending             lose every message in flight
//   stabilize                process Readys and deliver messages until
//                            nothing moves; prints each delivered message
//   status                   role, term, leader, commit, applied, last index
//   raftlog ID               ID's entries
#include <dirent.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "raft/raft.h"

namespace samsa::raft {
namespace {

struct Disk {
  HardState hs;
  SnapshotMeta snap;
  std::string snap_data;
  std::vector<Entry> entries;
  std::vector<Entry> unsynced;  // written by a slow-disk leader, oldest first

  void Write(const std::vector<Entry>& written) {
    if (written.empty()) return;
    const Index first = written.front().index;
    entries.erase(std::remove_if(entries.begin(), entries.end(),
                                 [&](const Entry& e) { return e.index >= first; }),
                  entries.end());
    entries.insert(entries.end(), written.begin(), written.end());
  }
  void Sync() {
    Write(unsynced);
    unsynced.clear();
  }
};

std::string Describe(const Message& m) {
  std::string s = absl::StrCat(m.from.value(), "->", m.to.value(), " ", MessageTypeName(m.type),
                               " term=", m.term.value());
  switch (m.type) {
    case MessageType::kVote:
    case MessageType::kPreVote:
      absl::StrAppend(&s, " last=", m.log_index.value(), "/", m.log_term.value(),
                      m.transfer ? " transfer" : "");
      break;
    case MessageType::kAppend: {
      absl::StrAppend(&s, " prev=", m.log_index.value(), "/", m.log_term.value(),
                      " commit=", m.commit.value());
      std::vector<std::string> es;
      for (const Entry& e : m.entries) {
        es.push_back(absl::StrCat(
            e.index.value(), "/", e.term.value(), e.type == EntryType::kConfChange ? " conf" : "",
            e.data.empty() || e.type == EntryType::kConfChange ? "" : " " + e.data));
      }
      if (!es.empty()) absl::StrAppend(&s, " [", absl::StrJoin(es, ", "), "]");
      if (m.heartbeat) absl::StrAppend(&s, " heartbeat");
      if (m.read_context) absl::StrAppend(&s, " read=", m.read_context);
      break;
    }
    case MessageType::kAppendResponse:
      absl::StrAppend(&s, " idx=", m.log_index.value());
      if (m.reject) {
        absl::StrAppend(&s, " reject hint=", m.hint_index.value(), "/", m.hint_term.value());
      }
      if (m.read_context) absl::StrAppend(&s, " read=", m.read_context);
      break;
    case MessageType::kVoteResponse:
    case MessageType::kPreVoteResponse:
      absl::StrAppend(&s, m.reject ? " reject" : " granted");
      break;
    case MessageType::kSnapshot:
      absl::StrAppend(&s, " snap=", m.snapshot.index.value(), "/", m.snapshot.term.value(),
                      " offset=", m.chunk_offset, " bytes=", m.chunk.size(),
                      m.last_chunk ? " last" : "");
      break;
    case MessageType::kSnapshotResponse:
      if (m.last_chunk) {
        absl::StrAppend(&s, " done idx=", m.log_index.value());
      } else {
        absl::StrAppend(&s, " have=", m.chunk_offset);
      }
      break;
    case MessageType::kTimeoutNow:
      break;
  }
  return s;
}

using Args = std::vector<std::string>;

// A scenario's world: the nodes, their disks and the network between them.
class Env {
 public:
  // Runs one scenario command (`args[0]` names it) and returns its output.
  std::string Run(const Args& args) {
    static const std::map<std::string, std::string (Env::*)(const Args&)> kCommands = {
        {"nodes", &Env::CmdNodes},
        {"log", &Env::CmdLog},
        {"term", &Env::CmdTerm},
        {"deliver", &Env::CmdDeliver},
        {"campaign", &Env::CmdCampaign},
        {"tick", &Env::CmdTick},
        {"tick-all", &Env::CmdTickAll},
        {"propose", &Env::CmdPropose},
        {"conf", &Env::CmdConf},
        {"transfer", &Env::CmdTransfer},
        {"read-index", &Env::CmdReadIndex},
        {"compact", &Env::CmdCompact},
        {"partition", &Env::CmdPartition},
        {"heal", &Env::CmdHeal},
        {"slow-disk", &Env::CmdSlowDisk},
        {"sync", &Env::CmdSync},
        {"crash", &Env::CmdCrash},
        {"restart", &Env::CmdRestart},
        {"drop-pending", &Env::CmdDropPending},
        {"stabilize", &Env::CmdStabilize},
        {"status", &Env::CmdStatus},
        {"raftlog", &Env::CmdRaftlog},
    };
    out_.str("");
    auto it = kCommands.find(args[0]);
    if (it == kCommands.end()) return absl::StrCat("unknown command '", args[0], "'");
    return (this->*it->second)(args);
  }

 private:
  // Argument `i` as a node id.
  static NodeId Id(const Args& args, size_t i) { return NodeId(std::stoi(args.at(i))); }

  std::string CmdNodes(const Args& args) {
    const int n = std::stoi(args.at(1));
    for (size_t i = 2; i < args.size(); ++i) {
      if (args[i] == "prevote=false") prevote_ = false;
      if (args[i] == "checkquorum=false") checkquorum_ = false;
      if (args[i] == "one-entry-appends") max_append_bytes_ = 0;
    }
    for (int i = 1; i <= n; ++i) bootstrap_.voters.push_back(NodeId(i));
    for (int i = 1; i <= n; ++i) {
      disks_[NodeId(i)].snap.conf = bootstrap_;
      Boot(NodeId(i));
    }
    return "ok";
  }

  std::string CmdLog(const Args& args) {
    Disk& d = disks_[Id(args, 1)];
    d.entries.clear();
    for (size_t i = 2; i < args.size(); ++i) {
      d.entries.push_back(Entry{Term(std::stoi(args[i])), Index(static_cast<int64_t>(i) - 1),
                                EntryType::kNormal, "x"});
    }
    d.hs.term = d.entries.empty() ? Term(0) : d.entries.back().term;
    Boot(Id(args, 1));
    return "ok";
  }

  std::string CmdTerm(const Args& args) {
    disks_[Id(args, 1)].hs.term = Term(std::stoi(args.at(2)));
    Boot(Id(args, 1));
    return "ok";
  }

  std::string CmdDeliver(const Args&) {
    DeliverRound();
    for (auto& [nid, r] : nodes_) Process(nid);
    std::string s = out_.str();
    return s.empty() ? "(nothing)" : s.substr(0, s.size() - 1);
  }

  std::string CmdCampaign(const Args& args) {
    nodes_[Id(args, 1)]->Campaign();
    return Quiet(Id(args, 1));
  }

  std::string CmdTick(const Args& args) {
    const int n = args.size() > 2 ? std::stoi(args[2]) : 1;
    for (int i = 0; i < n; ++i) nodes_[Id(args, 1)]->Tick();
    return Quiet(Id(args, 1));
  }

  std::string CmdTickAll(const Args& args) {
    for (int i = 0; i < std::stoi(args.at(1)); ++i) {
      for (auto& [nid, r] : nodes_) r->Tick();
      Stabilize();
    }
    return Status();
  }

  std::string CmdPropose(const Args& args) {
    auto r = nodes_[Id(args, 1)]->Propose(args.at(2));
    return r.ok() ? absl::StrCat("index ", r->value()) : std::string(r.status().message());
  }

  std::string CmdConf(const Args& args) {
    ConfChange cc{args.at(2) == "add"      ? ConfChangeType::kAddVoter
                  : args.at(2) == "remove" ? ConfChangeType::kRemoveVoter
                                           : ConfChangeType::kAddLearner,
                  Id(args, 3)};
    if (cc.type != ConfChangeType::kRemoveVoter && !disks_.contains(cc.node)) {
      // A new, empty node starts from the bootstrap membership, like
      // every node; the log's changes bring it up to date.
      disks_[cc.node].snap.conf = bootstrap_;
      Boot(cc.node);
    }
    auto r = nodes_[Id(args, 1)]->ProposeConfChange(cc);
    return r.ok() ? absl::StrCat("index ", r->value()) : std::string(r.status().message());
  }

  std::string CmdTransfer(const Args& args) {
    absl::Status st = nodes_[Id(args, 1)]->TransferLeadership(Id(args, 2));
    return st.ok() ? "ok" : std::string(st.message());
  }

  std::string CmdReadIndex(const Args& args) {
    absl::Status st = nodes_[Id(args, 1)]->ReadIndex(std::stoull(args.at(2)));
    return st.ok() ? "ok" : std::string(st.message());
  }

  std::string CmdCompact(const Args& args) {
    Raft& r = *nodes_[Id(args, 1)];
    const Index applied = r.log().applied();
    absl::Status st = r.Compact(
        Snapshot{SnapshotMeta{applied, Term(0), {}}, absl::StrCat("state@", applied.value())});
    if (!st.ok()) return std::string(st.message());
    Disk& d = disks_[Id(args, 1)];
    d.snap = r.log().snapshot();
    d.snap_data = absl::StrCat("state@", applied.value());
    d.entries.erase(std::remove_if(d.entries.begin(), d.entries.end(),
                                   [&](const Entry& e) { return e.index <= applied; }),
                    d.entries.end());
    return absl::StrCat("snapshot at ", applied.value());
  }

  std::string CmdPartition(const Args& args) {
    blocked_.clear();
    std::vector<std::vector<NodeId>> groups;
    for (absl::string_view g : absl::StrSplit(args.at(1), '|')) {
      groups.emplace_back();
      for (absl::string_view n : absl::StrSplit(g, ',')) {
        int v = 0;
        if (absl::SimpleAtoi(n, &v)) groups.back().push_back(NodeId(v));
      }
    }
    for (size_t a = 0; a < groups.size(); ++a) {
      for (size_t b = 0; b < groups.size(); ++b) {
        if (a == b) continue;
        for (NodeId x : groups[a]) {
          for (NodeId y : groups[b]) blocked_.insert({x, y});
        }
      }
    }
    return "ok";
  }

  std::string CmdHeal(const Args&) {
    blocked_.clear();
    return "ok";
  }

  std::string CmdSlowDisk(const Args& args) {
    slow_.insert(Id(args, 1));
    return "ok";
  }

  std::string CmdSync(const Args& args) {
    Disk& d = disks_[Id(args, 1)];
    if (d.unsynced.empty()) return "nothing to sync";
    const Entry last = d.unsynced.back();
    d.Sync();
    nodes_[Id(args, 1)]->Synced(last.index, last.term);
    return Quiet(Id(args, 1));
  }

  std::string CmdCrash(const Args& args) {
    nodes_.erase(Id(args, 1));
    disks_[Id(args, 1)].unsynced.clear();
    return "ok";
  }

  std::string CmdRestart(const Args& args) {
    Boot(Id(args, 1));
    return "ok";
  }

  std::string CmdDropPending(const Args&) {
    const size_t n = inflight_.size();
    inflight_.clear();
    return absl::StrCat("dropped ", n);
  }

  std::string CmdStabilize(const Args&) {
    Stabilize();
    std::string s = out_.str();
    return s.empty() ? "(nothing)" : s.substr(0, s.size() - 1);
  }

  std::string CmdStatus(const Args&) { return Status(); }

  std::string CmdRaftlog(const Args& args) {
    const RaftLog& log = nodes_[Id(args, 1)]->log();
    std::vector<std::string> lines;
    if (log.snapshot().index > Index(0)) {
      lines.push_back(absl::StrCat("snapshot ", log.snapshot().index.value(), "/",
                                   log.snapshot().term.value()));
    }
    for (Index i = log.first_index(); i <= log.last_index(); ++i) {
      const Entry& e = log.At(i);
      lines.push_back(absl::StrCat(
          i.value(), "/", e.term.value(), e.type == EntryType::kConfChange ? " conf" : "",
          e.data.empty() || e.type == EntryType::kConfChange ? "" : " " + e.data));
    }
    return lines.empty() ? "(empty)" : absl::StrJoin(lines, "\n");
  }

  void Boot(NodeId id) {
    Config c;
    c.id = id;
    c.election_ticks = 10;
    c.heartbeat_ticks = 1;
    c.pre_vote = prevote_;
    c.check_quorum = checkquorum_;
    c.seed = static_cast<uint64_t>(id.value());
    c.snapshot_chunk_bytes = 8;
    c.max_append_bytes = max_append_bytes_;
    const Disk& d = disks_[id];
    nodes_[id] = std::make_unique<Raft>(c, Restored{d.hs, d.snap, d.entries, d.snap_data});
  }

  // Processes ID's Ready without printing (messages go in flight).
  std::string Quiet(NodeId id) {
    Process(id);
    return Status();
  }

  void Process(NodeId id) {
    auto it = nodes_.find(id);
    if (it == nodes_.end()) return;
    Raft& r = *it->second;
    while (r.HasReady()) {
      Ready rd = r.GetReady();
      Disk& d = disks_[id];
      const bool later = rd.may_sync_later && slow_.contains(id);
      if (later) {
        d.unsynced.insert(d.unsynced.end(), rd.entries.begin(), rd.entries.end());
      } else {
        d.Sync();  // a Ready saved in full syncs earlier writes too
        if (rd.snapshot) {
          d.snap = rd.snapshot->meta;
          d.snap_data = rd.snapshot->data;
          d.entries.clear();
        }
        d.Write(rd.entries);
        if (rd.hard_state) d.hs = *rd.hard_state;
      }
      for (Message& m : rd.messages) inflight_.push_back(std::move(m));
      for (const ReadState& rs : rd.read_states) {
        out_ << id.value() << " read ctx=" << rs.context << " index=" << rs.index.value() << "\n";
      }
      if (later) {
        r.AdvanceUnsynced(rd);
      } else {
        r.Advance(rd);
      }
    }
  }

  void DeliverRound() {
    for (auto& [id, r] : nodes_) Process(id);
    std::deque<Message> batch;
    batch.swap(inflight_);
    for (Message& m : batch) {
      auto it = nodes_.find(m.to);
      if (blocked_.contains({m.from, m.to}) || it == nodes_.end()) {
        out_ << "dropped " << Describe(m) << "\n";
        continue;
      }
      out_ << Describe(m) << "\n";
      it->second->Step(m);
    }
  }

  void Stabilize() {
    for (int round = 0; round < 1000; ++round) {
      for (auto& [id, r] : nodes_) Process(id);
      if (inflight_.empty()) return;
      DeliverRound();
    }
    out_ << "did not stabilize\n";
  }

  std::string Status() {
    std::vector<std::string> lines;
    for (auto& [id, r] : disks_) {
      auto it = nodes_.find(id);
      if (it == nodes_.end()) {
        lines.push_back(absl::StrCat(id.value(), ": down"));
        continue;
      }
      const auto s = it->second->status();
      std::vector<std::string> voters;
      for (NodeId v : s.conf.voters) voters.push_back(absl::StrCat(v.value()));
      lines.push_back(absl::StrCat(id.value(), ": ", RoleName(s.role), " term=", s.term.value(),
                                   " leader=", s.leader.value(), " commit=", s.commit.value(),
                                   " applied=", s.applied.value(), " last=", s.last_index.value(),
                                   " voters=", absl::StrJoin(voters, ",")));
    }
    return absl::StrJoin(lines, "\n");
  }

  ConfState bootstrap_;
  bool prevote_ = true;
  bool checkquorum_ = true;
  size_t max_append_bytes_ = 1 << 20;
  std::map<NodeId, Disk> disks_;
  std::map<NodeId, std::unique_ptr<Raft>> nodes_;
  std::deque<Message> inflight_;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  std::set<NodeId> slow_;  // slow-disk leaders
  std::ostringstream out_;
};

// Runs one file; returns the file as it should be (expected output replaced
// by actual output).
std::string RunFile(const std::string& text) {
  Env env;
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  std::string out;
  size_t i = 0;
  while (i < lines.size()) {
    const std::string& line = lines[i];
    if (line.empty() || line[0] == '#') {
      out += line + (i + 1 < lines.size() ? "\n" : "");
      ++i;
      continue;
    }
    out += line + "\n";
    ++i;
    if (i >= lines.size() || lines[i] != "----") {
      out += "----\nmissing ---- after the command\n";
      continue;
    }
    out += "----\n";
    ++i;
    while (i < lines.size() && !lines[i].empty()) ++i;  // old expected output
    std::vector<std::string> args = absl::StrSplit(line, ' ', absl::SkipEmpty());
    out += env.Run(args) + "\n";
  }
  return out;
}

class ScenarioTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ScenarioTest, MatchesExpectedTrace) {
  const std::string path = std::string(SAMSA_RAFT_TESTDATA) + "/" + GetParam();
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream buf;
  buf << in.rdbuf();
  const std::string expected = buf.str();
  const std::string actual = RunFile(expected);
  const std::vector<std::string> argv = ::testing::internal::GetArgvs();
  const bool rewrite = getenv("SAMSA_REWRITE") != nullptr ||
                       std::find(argv.begin(), argv.end(), "--rewrite") != argv.end();
  if (rewrite) {
    std::ofstream(path) << actual;
    return;
  }
  EXPECT_EQ(expected, actual) << "rerun with SAMSA_REWRITE=1 to regenerate " << path;
}

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> files;
  if (DIR* d = opendir(SAMSA_RAFT_TESTDATA)) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name.size() > 4 && name.ends_with(".txt")) files.push_back(name);
    }
    closedir(d);
  }
  std::sort(files.begin(), files.end());
  return files;
}

INSTANTIATE_TEST_SUITE_P(Files, ScenarioTest, ::testing::ValuesIn(ScenarioFiles()),
                         [](const auto& info) {
                           std::string n = info.param.substr(0, info.param.size() - 4);
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

}  // namespace
}  // namespace samsa::raft
