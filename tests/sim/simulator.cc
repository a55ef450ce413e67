#include "tests/sim/simulator.h"

#include <algorithm>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "raft/raft.h"

namespace samsa::raft::sim {
namespace {

constexpr int kElectionTicks = 10;
constexpr int64_t kSnapshotEvery = 25;  // applied entries between snapshots
constexpr size_t kTraceLength = 60;

// What a node has on its (simulated) disk: only what a Ready persisted.
struct Disk {
  HardState hard_state;
  SnapshotMeta snapshot;
  std::string snapshot_data;
  std::vector<Entry> entries;  // after the snapshot
};

struct Applied {
  Term term;
  EntryType type;
  std::string data;
  bool operator==(const Applied&) const = default;
};

struct Node {
  NodeId id;
  bool up = true;
  std::unique_ptr<Raft> raft;
  Disk disk;
  int tick_period = 10;
  int64_t next_tick = 0;
  int64_t restart_at = 0;
  // The state machine: every applied entry, index i at position i - 1.
  std::vector<Applied> state;
  Index max_durable_commit;
  Index checked_commit;  // committed entries recorded up to here
  Term leader_checked;   // last term this node was checked as a new leader
  // A leader's writes not yet synced (Ready::may_sync_later), oldest first;
  // a crash keeps a prefix of them. One sync runs at a time, as in
  // raft/node.cc: it covers `syncing` and ends at `sync_at` (-1: none).
  std::vector<std::vector<Entry>> unsynced;
  std::optional<std::pair<Index, Term>> sync_wanted;
  std::pair<Index, Term> syncing;
  int64_t sync_at = -1;
};

struct InFlight {
  int64_t at;
  uint64_t seq;
  Message m;
  bool operator>(const InFlight& o) const { return at != o.at ? at > o.at : seq > o.seq; }
};

std::string EncodeState(const std::vector<Applied>& state) {
  std::string out;
  for (const Applied& a : state) {
    absl::StrAppend(&out, a.term.value(), ":", static_cast<int>(a.type), ":", a.data.size(), ":",
                    a.data);
  }
  return out;
}

std::vector<Applied> DecodeState(const std::string& s) {
  std::vector<Applied> out;
  size_t pos = 0;
  while (pos < s.size()) {
    auto field = [&]() {
      const size_t colon = s.find(':', pos);
      const int64_t v = std::stoll(s.substr(pos, colon - pos));
      pos = colon + 1;
      return v;
    };
    const int64_t term = field();
    const int64_t type = field();
    const int64_t len = field();
    out.push_back(
        {Term(term), static_cast<EntryType>(type), s.substr(pos, static_cast<size_t>(len))});
    pos += static_cast<size_t>(len);
  }
  return out;
}

class Simulation {
 public:
  explicit Simulation(const SimOptions& o) : o_(o), rng_(o.seed) {
    ConfState conf;
    for (int i = 1; i <= o.nodes; ++i) conf.voters.push_back(NodeId(i));
    for (int i = 1; i <= o.nodes; ++i) {
      auto n = std::make_unique<Node>();
      n->id = NodeId(i);
      n->disk.snapshot.conf = conf;
      n->tick_period = 8 + static_cast<int>(rng_() % 5);  // clock skew
      n->next_tick = static_cast<int64_t>(rng_() % 10);
      nodes_.push_back(std::move(n));
      Boot(*nodes_.back());
    }
  }

  SimResult Run() {
    const int64_t end_faults = o_.fault_time;
    int64_t next_chaos = 50;
    int64_t next_proposal = 20;
    while (now_ < end_faults && result_.violations.empty()) {
      now_ = NextEventTime(std::min(next_chaos, next_proposal));
      if (now_ >= next_chaos) {
        Chaos();
        next_chaos = now_ + 30 + static_cast<int64_t>(rng_() % 300);
      }
      if (now_ >= next_proposal) {
        ProposeToLeader(absl::StrCat("v", ++proposals_));
        RequestRead();
        next_proposal = now_ + 10 + static_cast<int64_t>(rng_() % 60);
      }
      Step();
    }
    if (result_.violations.empty()) Liveness();
    result_.elections = static_cast<int64_t>(leaders_.size());
    result_.committed = static_cast<int64_t>(committed_.size());
    result_.trace.assign(trace_.begin(), trace_.end());
    return result_;
  }

 private:
  void Trace(std::string event) {
    event = absl::StrCat("t=", now_, " ", event);
    if (o_.verbose) std::printf("%s\n", event.c_str());
    trace_.push_back(std::move(event));
    if (trace_.size() > kTraceLength) trace_.pop_front();
  }

  void Violation(std::string what) {
    Trace(absl::StrCat("VIOLATION: ", what));
    result_.violations.push_back(absl::StrCat("t=", now_, " ", what));
  }

  Node& NodeOf(NodeId id) { return *nodes_[static_cast<size_t>(id.value() - 1)]; }

  void Boot(Node& n) {
    Config c;
    c.id = n.id;
    c.election_ticks = kElectionTicks;
    c.heartbeat_ticks = 1;
    c.seed = o_.seed * 7919 + static_cast<uint64_t>(n.id.value()) + boots_++;
    c.max_append_bytes = 4096;
    c.snapshot_chunk_bytes = 64;  // several chunks per snapshot
    Restored r{n.disk.hard_state, n.disk.snapshot, n.disk.entries, n.disk.snapshot_data};
    n.raft = std::make_unique<Raft>(c, std::move(r));
    n.state = DecodeState(n.disk.snapshot_data);
    n.checked_commit = n.disk.snapshot.index;
    n.up = true;
  }

  void Crash(Node& n, const char* how) {
    // Whatever writeback reached the disk: a prefix of the unsynced writes.
    const size_t kept = n.unsynced.empty() ? 0 : rng_() % (n.unsynced.size() + 1);
    for (size_t k = 0; k < kept; ++k) PersistEntries(n, n.unsynced[k]);
    n.unsynced.clear();
    n.sync_wanted.reset();
    n.sync_at = -1;
    n.up = false;
    n.raft.reset();
    n.restart_at = now_ + 50 + static_cast<int64_t>(rng_() % 800);
    Trace(absl::StrCat("crash n", n.id.value(), " (", how, ")"));
  }

  int64_t NextEventTime(int64_t bound) {
    int64_t t = bound;
    for (const auto& n : nodes_) {
      t = std::min(t, n->up ? n->next_tick : n->restart_at);
      if (n->up && n->sync_at >= 0) t = std::min(t, n->sync_at);
    }
    if (!network_.empty()) t = std::min(t, network_.top().at);
    return std::max(t, now_);
  }

  // Everything due at now_: deliveries, ticks, restarts.
  void Step() {
    while (!network_.empty() && network_.top().at <= now_ && result_.violations.empty()) {
      InFlight f = network_.top();
      network_.pop();
      Node& to = NodeOf(f.m.to);
      if (!to.up) continue;
      if (o_.verbose) {
        Trace(absl::StrCat("deliver ", MessageTypeName(f.m.type), " n", f.m.from.value(), "->n",
                           f.m.to.value(), " term ", f.m.term.value(), " idx ",
                           f.m.log_index.value(), f.m.reject ? " reject" : "",
                           f.m.entries.empty() ? "" : absl::StrCat(" +", f.m.entries.size())));
      }
      to.raft->Step(f.m);
      HandleReady(to);
      CheckInvariants();
    }
    for (auto& np : nodes_) {
      Node& n = *np;
      if (!n.up && now_ >= n.restart_at && !stop_restarts_) {
        Boot(n);
        Trace(absl::StrCat("restart n", n.id.value(), " term ", n.raft->term().value(), " commit ",
                           n.raft->log().commit().value()));
        n.next_tick = now_ + n.tick_period;
      }
      if (n.up && n.sync_at >= 0 && now_ >= n.sync_at) {
        FinishSync(n);
        HandleReady(n);
        CheckInvariants();
      }
      if (n.up && now_ >= n.next_tick) {
        n.next_tick = now_ + n.tick_period;
        n.raft->Tick();
        HandleReady(n);
        CheckInvariants();
      }
    }
  }

  void SendAll(const std::vector<Message>& messages) {
    for (const Message& m : messages) {
      if (blocked_.contains({m.from, m.to})) continue;
      if (static_cast<int>(rng_() % 1000) < drop_per_mille_) continue;
      const int copies = static_cast<int>(rng_() % 1000) < dup_per_mille_ ? 2 : 1;
      for (int c = 0; c < copies; ++c) {
        const int64_t delay = 1 + static_cast<int64_t>(rng_() % static_cast<uint64_t>(max_delay_));
        network_.push({now_ + delay, seq_++, m});
      }
    }
  }

  void HandleReady(Node& n) {
    while (n.up && n.raft->HasReady()) {
      Ready rd = n.raft->GetReady();
      if (chaos_on_ && rng_() % 1000 < 3) {
        // Power fails while this Ready is being written: at most a prefix
        // of its entries (after those of earlier unsynced writes) reached
        // the disk, nothing else, and no message went out.
        if (!rd.entries.empty()) {
          const size_t keep = rng_() % rd.entries.size();
          n.unsynced.emplace_back(rd.entries.begin(),
                                  rd.entries.begin() + static_cast<ptrdiff_t>(keep));
        }
        Crash(n, "mid-persist");
        return;
      }
      // A leader writes and goes on while its disk syncs (mostly; sometimes
      // it syncs at once, which is also allowed).
      if (rd.may_sync_later && rng_() % 4 != 0) {
        SendAll(rd.messages);
        if (!rd.entries.empty()) {
          n.unsynced.push_back(rd.entries);
          n.sync_wanted = {rd.entries.back().index, rd.entries.back().term};
          if (n.sync_at < 0) StartSync(n);
        }
        for (const Entry& e : rd.committed) Apply(n, e);
        for (const ReadState& rs : rd.read_states) CheckRead(n, rs);
        n.raft->AdvanceUnsynced(rd);
        MaybeSnapshot(n);
        continue;
      }
      FlushUnsynced(n);  // a Ready saved in full syncs earlier writes too
      if (rd.snapshot.has_value()) {
        n.disk.snapshot = rd.snapshot->meta;
        n.disk.snapshot_data = rd.snapshot->data;
        n.disk.entries.clear();
      }
      PersistEntries(n, rd.entries);
      if (rd.hard_state.has_value()) PersistHardState(n, *rd.hard_state);
      SendAll(rd.messages);
      if (rd.snapshot.has_value()) InstallSnapshot(n, *rd.snapshot);
      for (const Entry& e : rd.committed) Apply(n, e);
      for (const ReadState& rs : rd.read_states) CheckRead(n, rs);
      n.raft->Advance(rd);
      MaybeSnapshot(n);
    }
  }

  void StartSync(Node& n) {
    n.syncing = *n.sync_wanted;
    n.sync_wanted.reset();
    n.sync_at = now_ + 1 + static_cast<int64_t>(rng_() % 30);
  }

  // The sync ends: what it covers is on disk (and possibly more).
  void FinishSync(Node& n) {
    FlushUnsynced(n);
    n.sync_at = -1;
    if (o_.verbose) {
      Trace(absl::StrCat("n", n.id.value(), " synced to ", n.syncing.first.value()));
    }
    n.raft->Synced(n.syncing.first, n.syncing.second);
    if (n.sync_wanted.has_value()) StartSync(n);
  }

  void FlushUnsynced(Node& n) {
    for (const std::vector<Entry>& w : n.unsynced) PersistEntries(n, w);
    n.unsynced.clear();
  }

  void PersistEntries(Node& n, const std::vector<Entry>& entries) {
    if (entries.empty()) return;
    auto& d = n.disk.entries;
    const Index first = entries.front().index;
    d.erase(std::remove_if(d.begin(), d.end(), [&](const Entry& e) { return e.index >= first; }),
            d.end());
    d.insert(d.end(), entries.begin(), entries.end());
  }

  void PersistHardState(Node& n, const HardState& hs) {
    if (hs.commit < n.max_durable_commit) {
      Violation(absl::StrCat("n", n.id.value(), " durable commit went back from ",
                             n.max_durable_commit.value(), " to ", hs.commit.value()));
    }
    n.max_durable_commit = std::max(n.max_durable_commit, hs.commit);
    if (hs.vote != kNoNode) {
      auto [it, inserted] = votes_.emplace(std::make_pair(n.id, hs.term), hs.vote);
      if (!inserted && it->second != hs.vote) {
        Violation(absl::StrCat("n", n.id.value(), " voted for n", it->second.value(), " and n",
                               hs.vote.value(), " in term ", hs.term.value()));
      }
    }
    n.disk.hard_state = hs;
  }

  void InstallSnapshot(Node& n, const Snapshot& s) {
    n.state = DecodeState(s.data);
    if (static_cast<int64_t>(n.state.size()) != s.meta.index.value()) {
      Violation(absl::StrCat("n", n.id.value(), " installed a snapshot at ", s.meta.index.value(),
                             " holding ", n.state.size(), " entries"));
      return;
    }
    for (size_t i = 0; i < n.state.size(); ++i)
      CheckApplied(n, Index(static_cast<int64_t>(i) + 1), n.state[i]);
    Trace(absl::StrCat("n", n.id.value(), " installed snapshot at ", s.meta.index.value()));
  }

  void Apply(Node& n, const Entry& e) {
    if (e.index.value() != static_cast<int64_t>(n.state.size()) + 1) {
      Violation(
          absl::StrCat("n", n.id.value(), " applied ", e.index.value(), " after ", n.state.size()));
      return;
    }
    const Applied a{e.term, e.type, e.data};
    n.state.push_back(a);
    CheckApplied(n, e.index, a);
    if (e.type == EntryType::kConfChange) {
      Trace(absl::StrCat("n", n.id.value(), " applied conf change at ", e.index.value()));
    }
    if (!marker_.empty() && e.data == marker_) ++marker_applied_;
  }

  // State machine safety: one entry per index, cluster-wide.
  void CheckApplied(const Node& n, Index i, const Applied& a) {
    const size_t k = static_cast<size_t>(i.value() - 1);
    if (k < applied_.size()) {
      if (!(applied_[k] == a)) {
        Violation(absl::StrCat("n", n.id.value(), " applied (term ", a.term.value(), ", '", a.data,
                               "') at ", i.value(), " where another applied (term ",
                               applied_[k].term.value(), ", '", applied_[k].data, "')"));
      }
    } else if (k == applied_.size()) {
      applied_.push_back(a);
    }
  }

  // ReadIndex (thesis §6.4) is linearizable: a read answered at index i must
  // see every entry committed anywhere before the read was requested. Reads
  // go to any node that believes it leads, stale leaders included.
  void RequestRead() {
    std::vector<Node*> leaders;
    for (auto& n : nodes_) {
      if (n->up && n->raft->role() == Role::kLeader) leaders.push_back(n.get());
    }
    if (leaders.empty()) return;
    Node& n = *leaders[rng_() % leaders.size()];
    const uint64_t ctx = ++read_contexts_;
    const int64_t committed = committed_.empty() ? 0 : committed_.rbegin()->first;
    if (n.raft->ReadIndex(ctx).ok()) {
      reads_[ctx] = committed;
      HandleReady(n);
      CheckInvariants();
    }
  }

  void CheckRead(const Node& n, const ReadState& rs) {
    auto it = reads_.find(rs.context);
    if (it == reads_.end()) {
      Violation(absl::StrCat("n", n.id.value(), " answered unknown read ", rs.context));
      return;
    }
    if (rs.index.value() < it->second) {
      Violation(absl::StrCat("n", n.id.value(), " answered read ", rs.context, " at index ",
                             rs.index.value(), " but ", it->second,
                             " was committed before it was asked"));
    }
    reads_.erase(it);
    ++result_.reads;
  }

  void MaybeSnapshot(Node& n) {
    const Index applied = n.raft->log().applied();
    if (applied - n.disk.snapshot.index < kSnapshotEvery) return;
    if (!n.raft->Compact(Snapshot{SnapshotMeta{applied, Term(0), {}}, EncodeState(n.state)}).ok()) {
      return;
    }
    // Write the snapshot, then drop the entries it covers.
    n.disk.snapshot = n.raft->log().snapshot();
    n.disk.snapshot_data = EncodeState(n.state);
    auto& d = n.disk.entries;
    d.erase(std::remove_if(d.begin(), d.end(), [&](const Entry& e) { return e.index <= applied; }),
            d.end());
  }

  void CheckInvariants() {
    for (auto& np : nodes_) {
      Node& n = *np;
      if (!n.up) continue;
      const Raft& r = *n.raft;
      // Election safety.
      if (r.role() == Role::kLeader) {
        auto [it, inserted] = leaders_.emplace(r.term(), n.id);
        if (!inserted && it->second != n.id) {
          Violation(absl::StrCat("two leaders in term ", r.term().value(), ": n",
                                 it->second.value(), " and n", n.id.value()));
        }
        if (inserted) Trace(absl::StrCat("n", n.id.value(), " leads term ", r.term().value()));
        if (n.leader_checked != r.term()) {
          n.leader_checked = r.term();
          CheckLeaderCompleteness(n);
        }
      }
      // Record what this node knows is committed.
      const RaftLog& log = r.log();
      for (Index i = std::max(n.checked_commit, log.snapshot().index) + 1; i <= log.commit(); ++i) {
        const Entry& e = log.At(i);
        const Applied a{e.term, e.type, e.data};
        auto [it, inserted] = committed_.emplace(i.value(), a);
        if (!inserted && !(it->second == a)) {
          Violation(absl::StrCat("n", n.id.value(), " committed (term ", e.term.value(), ") at ",
                                 i.value(), " where term ", it->second.term.value(),
                                 " was committed"));
        }
      }
      n.checked_commit = std::max(n.checked_commit, log.commit());
    }
    // Log matching, pairwise.
    for (size_t a = 0; a < nodes_.size(); ++a) {
      for (size_t b = a + 1; b < nodes_.size(); ++b) {
        if (nodes_[a]->up && nodes_[b]->up) CheckLogMatching(*nodes_[a], *nodes_[b]);
      }
    }
  }

  void CheckLeaderCompleteness(const Node& n) {
    const RaftLog& log = n.raft->log();
    for (const auto& [index, a] : committed_) {
      const Index i(index);
      if (i <= log.snapshot().index) continue;
      if (i > log.last_index() || log.At(i).term != a.term || log.At(i).data != a.data) {
        Violation(absl::StrCat("leader n", n.id.value(), " of term ", n.raft->term().value(),
                               " lacks committed entry ", index));
        return;
      }
    }
  }

  void CheckLogMatching(const Node& x, const Node& y) {
    const RaftLog& a = x.raft->log();
    const RaftLog& b = y.raft->log();
    const Index lo = std::max(a.first_index(), b.first_index());
    const Index hi = std::min(a.last_index(), b.last_index());
    for (Index i = hi; i >= lo; i = i - 1) {
      if (a.At(i).term != b.At(i).term) continue;
      for (Index j = lo; j <= i; ++j) {
        if (!(a.At(j) == b.At(j))) {
          Violation(absl::StrCat("logs of n", x.id.value(), " and n", y.id.value(), " agree at ",
                                 i.value(), " but differ at ", j.value()));
          return;
        }
      }
      return;
    }
  }

  Node* Leader() {
    Node* best = nullptr;
    for (auto& n : nodes_) {
      if (n->up && n->raft->role() == Role::kLeader &&
          (best == nullptr || n->raft->term() > best->raft->term())) {
        best = n.get();
      }
    }
    return best;
  }

  void ProposeToLeader(const std::string& data) {
    Node* l = Leader();
    if (l == nullptr) return;
    (void)l->raft->Propose(data);
    HandleReady(*l);
    CheckInvariants();
  }

  void Chaos() {
    if (!chaos_on_) return;
    const int roll = static_cast<int>(rng_() % 100);
    if (roll < 25) {
      Node& n = *nodes_[rng_() % nodes_.size()];
      if (n.up) Crash(n, "kill");
    } else if (roll < 40) {
      // Partition: a random group cut off, in both directions or one.
      blocked_.clear();
      std::vector<NodeId> group;
      for (auto& n : nodes_) {
        if (rng_() % 2) group.push_back(n->id);
      }
      const bool one_way = rng_() % 3 == 0;
      for (auto& a : nodes_) {
        for (auto& b : nodes_) {
          const bool ga = std::count(group.begin(), group.end(), a->id) > 0;
          const bool gb = std::count(group.begin(), group.end(), b->id) > 0;
          if (ga && !gb) {
            blocked_.insert({a->id, b->id});
            if (!one_way) blocked_.insert({b->id, a->id});
          }
        }
      }
      std::vector<std::string> names;
      for (NodeId id : group) names.push_back(absl::StrCat("n", id.value()));
      Trace(absl::StrCat(one_way ? "one-way " : "", "partition {", absl::StrJoin(names, ","), "}"));
    } else if (roll < 55) {
      blocked_.clear();
      Trace("heal");
    } else if (roll < 70) {
      drop_per_mille_ = static_cast<int>(rng_() % 200);
      dup_per_mille_ = static_cast<int>(rng_() % 50);
      max_delay_ = 1 + static_cast<int>(rng_() % 40);
      Trace(absl::StrCat("network drop=", drop_per_mille_, "/1000 dup=", dup_per_mille_,
                         "/1000 delay<=", max_delay_));
    } else if (roll < 85 && o_.membership && o_.nodes >= 3) {
      Node* l = Leader();
      if (l == nullptr) return;
      const ConfState& conf = l->raft->conf();
      ConfChange cc;
      if (static_cast<int>(conf.voters.size()) == o_.nodes) {
        cc = {ConfChangeType::kRemoveVoter, conf.voters[rng_() % conf.voters.size()]};
      } else {
        for (auto& n : nodes_) {
          if (std::count(conf.voters.begin(), conf.voters.end(), n->id) == 0) {
            cc = {rng_() % 2 ? ConfChangeType::kAddVoter : ConfChangeType::kAddLearner, n->id};
            break;
          }
        }
      }
      if (l->raft->ProposeConfChange(cc).ok()) {
        Trace(absl::StrCat("n", l->id.value(), " proposes ",
                           cc.type == ConfChangeType::kRemoveVoter ? "remove"
                           : cc.type == ConfChangeType::kAddVoter  ? "add voter"
                                                                   : "add learner",
                           " n", cc.node.value()));
        HandleReady(*l);
        CheckInvariants();
      }
    } else {
      Node* l = Leader();
      if (l == nullptr) return;
      const auto& voters = l->raft->conf().voters;
      const NodeId to = voters[rng_() % voters.size()];
      if (l->raft->TransferLeadership(to).ok()) {
        Trace(absl::StrCat("n", l->id.value(), " transfers leadership to n", to.value()));
        HandleReady(*l);
        CheckInvariants();
      }
    }
  }

  void Liveness() {
    // Faults stop: everyone up, a clean network.
    chaos_on_ = false;
    blocked_.clear();
    drop_per_mille_ = 0;
    dup_per_mille_ = 0;
    max_delay_ = 10;
    for (auto& n : nodes_) n->restart_at = std::min(n->restart_at, now_);
    Trace("faults stop");
    // Nodes that are still voters must settle on a leader and commit.
    const int64_t deadline = now_ + o_.liveness_time;
    int64_t next_try = now_;
    int attempt = 0;
    while (now_ < deadline && result_.violations.empty()) {
      now_ = NextEventTime(next_try);
      if (now_ >= next_try) {
        marker_ = absl::StrCat("live-", attempt++);
        marker_applied_ = 0;
        ProposeToLeader(marker_);
        next_try = now_ + 300;
      }
      Step();
      Node* l = Leader();
      if (l != nullptr && marker_applied_ * 2 > static_cast<int>(l->raft->conf().voters.size())) {
        return;
      }
    }
    if (!result_.violations.empty()) return;
    result_.liveness_failure = true;
    std::vector<std::string> states;
    for (auto& n : nodes_) {
      if (!n->up) {
        states.push_back(absl::StrCat("n", n->id.value(), " down"));
        continue;
      }
      const auto s = n->raft->status();
      states.push_back(absl::StrCat("n", n->id.value(), " ", RoleName(s.role), " term ",
                                    s.term.value(), " commit ", s.commit.value(), " last ",
                                    s.last_index.value(), " voters ", s.conf.voters.size()));
    }
    result_.liveness_detail = absl::StrJoin(states, "; ");
    Trace(absl::StrCat("LIVENESS: no commit within ", o_.liveness_time, ": ",
                       result_.liveness_detail));
  }

  const SimOptions o_;
  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::priority_queue<InFlight, std::vector<InFlight>, std::greater<>> network_;
  std::set<std::pair<NodeId, NodeId>> blocked_;
  int drop_per_mille_ = 0;
  int dup_per_mille_ = 0;
  int max_delay_ = 10;
  bool chaos_on_ = true;
  bool stop_restarts_ = false;
  int64_t now_ = 0;
  uint64_t seq_ = 0;
  uint64_t boots_ = 0;
  int64_t proposals_ = 0;
  std::string marker_;
  int marker_applied_ = 0;

  uint64_t read_contexts_ = 0;
  std::map<uint64_t, int64_t> reads_;  // pending read -> max committed index when asked
  std::map<Term, NodeId> leaders_;
  std::map<std::pair<NodeId, Term>, NodeId> votes_;
  std::map<int64_t, Applied> committed_;
  std::vector<Applied> applied_;
  std::deque<std::string> trace_;
  SimResult result_;
};

}  // namespace

SimResult RunSimulation(const SimOptions& options) { return Simulation(options).Run(); }

}  // namespace samsa::raft::sim
