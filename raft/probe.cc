#include "raft/probe.h"

#include "common/metrics.h"

namespace samsa::raft {

RaftProbe::RaftProbe(prometheus::Registry& r)
    : term_(NewGauge(r, "samsa_raft_term", "Current Raft term")),
      commit_(NewGauge(r, "samsa_raft_commit_index", "Highest log index known committed")),
      applied_(NewGauge(r, "samsa_raft_applied_index", "Highest log index applied")),
      leader_(NewGauge(r, "samsa_raft_leader", "1 while this node is the Raft leader")),
      leader_id_(NewGauge(r, "samsa_raft_leader_id", "Node id of the known leader, -1 if none")),
      elections_started_(
          NewCounter(r, "samsa_raft_elections_started_total", "Elections this node started")),
      elections_won_(NewCounter(r, "samsa_raft_elections_won_total", "Elections this node won")),
      persist_(prometheus::BuildHistogram()
                   .Name("samsa_raft_persist_seconds")
                   .Help("Time to persist one Ready, fsync included")
                   .Register(r)
                   .Add({}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001,
                                                                    0.0025, 0.005, 0.01, 0.025,
                                                                    0.05, 0.1, 0.25, 1})) {}

void RaftProbe::OnStatus(const Status& s) {
  term_.Set(static_cast<double>(s.term.value()));
  commit_.Set(static_cast<double>(s.commit.value()));
  applied_.Set(static_cast<double>(s.applied.value()));
  leader_.Set(s.role == Role::kLeader ? 1 : 0);
  leader_id_.Set(s.leader.value());
  // A new campaign shows as entering (pre-)candidacy, or a new term while
  // in it.
  const bool campaigning = s.role == Role::kPreCandidate || s.role == Role::kCandidate;
  const bool was_campaigning = last_role_ == Role::kPreCandidate || last_role_ == Role::kCandidate;
  if (campaigning &&
      (!was_campaigning || (s.role == Role::kPreCandidate && s.term != last_term_))) {
    elections_started_.Increment();
  }
  if (s.role == Role::kLeader && last_role_ != Role::kLeader) elections_won_.Increment();
  last_role_ = s.role;
  last_term_ = s.term;
}

}  // namespace samsa::raft
