#include "raft/wire.h"

#include "absl/strings/str_cat.h"

namespace samsa::raft {

void ToProto(const Message& m, samsa::v1::RaftMessage* out) {
  out->set_type(static_cast<samsa::v1::RaftMessage::Type>(m.type));
  out->set_from(m.from.value());
  out->set_to(m.to.value());
  out->set_term(m.term.value());
  out->set_log_index(m.log_index.value());
  out->set_log_term(m.log_term.value());
  for (const Entry& e : m.entries) {
    samsa::v1::RaftEntry* pe = out->add_entries();
    pe->set_term(e.term.value());
    pe->set_index(e.index.value());
    pe->set_type(static_cast<uint32_t>(e.type));
    pe->set_data(e.data);
  }
  out->set_commit(m.commit.value());
  out->set_reject(m.reject);
  out->set_hint_term(m.hint_term.value());
  out->set_hint_index(m.hint_index.value());
  out->set_transfer(m.transfer);
  out->set_heartbeat(m.heartbeat);
  out->set_read_context(m.read_context);
  if (m.type == MessageType::kSnapshot || m.type == MessageType::kSnapshotResponse) {
    samsa::v1::RaftSnapshotMeta* s = out->mutable_snapshot();
    s->set_index(m.snapshot.index.value());
    s->set_term(m.snapshot.term.value());
    for (NodeId v : m.snapshot.conf.voters) s->mutable_conf()->add_voters(v.value());
    for (NodeId l : m.snapshot.conf.learners) s->mutable_conf()->add_learners(l.value());
    out->set_chunk_offset(m.chunk_offset);
    out->set_chunk(m.chunk);
    out->set_last_chunk(m.last_chunk);
  }
}

absl::StatusOr<Message> FromProto(const samsa::v1::RaftMessage& p) {
  if (p.type() < 0 || p.type() > samsa::v1::RaftMessage::TIMEOUT_NOW) {
    return absl::InvalidArgumentError(absl::StrCat("unknown raft message type ", p.type()));
  }
  if (p.term() < 0 || p.log_index() < 0 || p.log_term() < 0 || p.commit() < 0 ||
      p.hint_index() < 0 || p.hint_term() < 0) {
    return absl::InvalidArgumentError("raft message with a negative term or index");
  }
  Message m;
  m.type = static_cast<MessageType>(p.type());
  m.from = NodeId(p.from());
  m.to = NodeId(p.to());
  m.term = Term(p.term());
  m.log_index = Index(p.log_index());
  m.log_term = Term(p.log_term());
  m.entries.reserve(static_cast<size_t>(p.entries_size()));
  Index expected = m.log_index + 1;
  for (const samsa::v1::RaftEntry& pe : p.entries()) {
    if (pe.type() > 1 || pe.index() != expected.value() || pe.term() < 0) {
      return absl::InvalidArgumentError("raft entries out of order or of an unknown type");
    }
    m.entries.push_back(
        Entry{Term(pe.term()), Index(pe.index()), static_cast<EntryType>(pe.type()), pe.data()});
    expected = expected + 1;
  }
  m.commit = Index(p.commit());
  m.reject = p.reject();
  m.hint_term = Term(p.hint_term());
  m.hint_index = Index(p.hint_index());
  m.transfer = p.transfer();
  m.heartbeat = p.heartbeat();
  m.read_context = p.read_context();
  m.snapshot.index = Index(p.snapshot().index());
  m.snapshot.term = Term(p.snapshot().term());
  for (int32_t v : p.snapshot().conf().voters()) m.snapshot.conf.voters.push_back(NodeId(v));
  for (int32_t l : p.snapshot().conf().learners()) m.snapshot.conf.learners.push_back(NodeId(l));
  m.chunk_offset = p.chunk_offset();
  m.chunk = p.chunk();
  m.last_chunk = p.last_chunk();
  return m;
}

}  // namespace samsa::raft
