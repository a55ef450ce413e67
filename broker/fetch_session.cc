#include "broker/fetch_session.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace samsa::broker {

FetchSessions::FetchSessions(Options options)
    : options_(std::move(options)), next_id_(options_.first_id) {}

FetchSessions::Begun FetchSessions::Begin(const v1::ReplicaFetchRequest& request, absl::Time now) {
  const NodeId replica(request.replica_id());
  std::vector<const void*> wake;
  Begun begun;
  {
    absl::MutexLock lock(&mu_);
    auto named = sessions_.find(request.session_id());
    const bool owned = request.session_id() != 0 && named != sessions_.end() &&
                       named->second->replica() == replica;
    if (request.open_session()) {
      if (owned) CloseLocked(*named->second, &wake);
      // Room: this follower's least recently used past its share, then any
      // one idle long enough when all are taken.
      size_t mine = 0;
      for (const auto& [id, s] : sessions_) mine += s->replica() == replica ? 1 : 0;
      if (mine >= std::max<size_t>(options_.max_per_replica, 1)) {
        CloseLocked(
            *LeastRecentlyUsed([&](const FetchSession& s) { return s.replica() == replica; }),
            &wake);
      }
      if (sessions_.size() >= options_.max_sessions) {
        FetchSession* idle = LeastRecentlyUsed([&](const FetchSession& s) {
          return !s.leased_ && now - s.last_used_ >= options_.idle;
        });
        if (idle != nullptr) CloseLocked(*idle, &wake);
      }
      if (sessions_.size() < options_.max_sessions) {
        int32_t id = 0;
        do {
          id = static_cast<int32_t>(next_id_ & 0x7fffffff);
          next_id_ = next_id_ == 0x7fffffff ? 1 : next_id_ + 1;
        } while (id == 0 || sessions_.contains(id));
        auto session = std::make_shared<FetchSession>(id, replica);
        session->leased_ = true;
        session->last_used_ = now;
        session->next_refresh_ = now + options_.refresh;
        sessions_[id] = session;
        begun.session = std::move(session);
      }
    } else if (request.session_id() != 0) {
      if (!owned) {
        begun.error = v1::FETCH_SESSION_ID_NOT_FOUND;
        begun.message = absl::StrCat("no fetch session ", request.session_id(), " of replica ",
                                     replica.value());
      } else if (FetchSession& s = *named->second;
                 s.leased_ || request.session_epoch() != s.next_epoch_) {
        begun.error = v1::INVALID_FETCH_SESSION_EPOCH;
        begun.message =
            s.leased_ ? absl::StrCat("fetch session ", s.id(), " is in use by another request")
                      : absl::StrCat("fetch session ", s.id(), " expects epoch ", s.next_epoch_,
                                     ", not ", request.session_epoch());
      } else {
        s.leased_ = true;
        s.last_used_ = now;
        s.next_epoch_ = s.next_epoch_ == INT32_MAX ? 1 : s.next_epoch_ + 1;
        begun.session = named->second;
      }
    }
  }
  Wake(wake);
  return begun;
}

FetchSession* FetchSessions::LeastRecentlyUsed(
    absl::FunctionRef<bool(const FetchSession&)> eligible) const {
  FetchSession* oldest = nullptr;
  for (const auto& [id, s] : sessions_) {
    if (eligible(*s) && (oldest == nullptr || s->last_used_ < oldest->last_used_)) {
      oldest = s.get();
    }
  }
  return oldest;
}

std::vector<FetchSession::Entry*> FetchSessions::Update(FetchSession& session,
                                                        const v1::ReplicaFetchRequest& request,
                                                        absl::Time now, Resolve resolve,
                                                        std::vector<bool>* named) {
  ++session.round_;
  if (!request.forgotten().empty()) {
    std::vector<storage::TopicPartitionName> gone;
    {
      absl::MutexLock lock(&mu_);
      for (const v1::ReplicaFetchRequest::Forgotten& f : request.forgotten()) {
        storage::TopicPartitionName tp{f.topic(), PartitionId(f.partition())};
        auto it = session.entries_.find(tp);
        if (it == session.entries_.end()) continue;
        Unindex(session, it->second.partition.get(), &it->second);
        gone.push_back(std::move(tp));
      }
    }
    for (const storage::TopicPartitionName& tp : gone) session.entries_.erase(tp);
  }
  std::vector<FetchSession::Entry*> out;
  out.reserve(static_cast<size_t>(request.partitions_size()));
  for (const v1::ReplicaFetchRequest::Partition& in : request.partitions()) {
    FetchSession::Entry& e =
        session.entries_[storage::TopicPartitionName{in.topic(), PartitionId(in.partition())}];
    e.said = in;
    if (e.round != session.round_) {
      e.round = session.round_;
      out.push_back(&e);
    }
  }
  named->assign(out.size(), true);
  CollectTouched(session, now, &out);
  named->resize(out.size(), false);
  Rebind(session, out, resolve);
  return out;
}

std::vector<FetchSession::Entry*> FetchSessions::TakeTouched(FetchSession& session, absl::Time now,
                                                             Resolve resolve) {
  ++session.round_;
  std::vector<FetchSession::Entry*> out;
  CollectTouched(session, now, &out);
  Rebind(session, out, resolve);
  return out;
}

void FetchSessions::CollectTouched(FetchSession& session, absl::Time now,
                                   std::vector<FetchSession::Entry*>* out) {
  absl::flat_hash_set<FetchSession::Entry*> touched;
  bool all = false;
  {
    absl::MutexLock lock(&mu_);
    touched.swap(session.touched_);
    all = session.all_touched_ || now >= session.next_refresh_;
    if (now >= session.next_refresh_) session.next_refresh_ = now + options_.refresh;
    session.all_touched_ = false;
    session.woken_ = false;
  }
  auto add = [&](FetchSession::Entry* e) {
    if (e->round == session.round_) return;
    e->round = session.round_;
    out->push_back(e);
  };
  if (all) {
    for (auto& [tp, e] : session.entries_) add(&e);
  } else {
    for (FetchSession::Entry* e : touched) add(e);
  }
}

void FetchSessions::Rebind(FetchSession& session, std::span<FetchSession::Entry* const> entries,
                           Resolve resolve) {
  std::vector<std::pair<FetchSession::Entry*, std::shared_ptr<Partition>>> moved;
  for (FetchSession::Entry* e : entries) {
    std::shared_ptr<Partition> now =
        resolve(storage::TopicPartitionName{e->said.topic(), PartitionId(e->said.partition())});
    if (now != e->partition) moved.emplace_back(e, std::move(now));
  }
  if (moved.empty()) return;
  absl::MutexLock lock(&mu_);
  for (auto& [e, partition] : moved) {
    Unindex(session, e->partition.get(), e);
    e->partition = std::move(partition);
    if (e->partition != nullptr && !session.closed_) {
      index_[e->partition.get()].emplace_back(&session, e);
      session.indexed_.insert(e->partition.get());
    }
  }
}

void FetchSessions::Unindex(FetchSession& session, const Partition* partition,
                            FetchSession::Entry* entry) {
  session.touched_.erase(entry);
  if (partition == nullptr) return;
  auto it = index_.find(partition);
  if (it == index_.end()) return;
  std::erase_if(it->second, [&](const auto& held) { return held.first == &session; });
  if (it->second.empty()) index_.erase(it);
  session.indexed_.erase(partition);
}

void FetchSessions::KeepTouched(FetchSession& session, FetchSession::Entry* entry) {
  absl::MutexLock lock(&mu_);
  session.touched_.insert(entry);
}

bool FetchSessions::Woken(const FetchSession& session) const {
  absl::MutexLock lock(&mu_);
  return session.woken_ || session.closed_;
}

bool FetchSessions::Release(FetchSession& session) {
  absl::MutexLock lock(&mu_);
  session.leased_ = false;
  return !session.closed_;
}

void FetchSessions::Touch(const Partition* partition, bool wake) {
  std::vector<const void*> woken;
  {
    absl::MutexLock lock(&mu_);
    auto it = index_.find(partition);
    if (it == index_.end()) return;
    for (const auto& [session, entry] : it->second) {
      session->touched_.insert(entry);
      if (wake && !session->woken_) {
        session->woken_ = true;
        if (session->leased_) woken.push_back(session);
      }
    }
  }
  Wake(woken);
}

void FetchSessions::TouchAll() {
  std::vector<const void*> woken;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [id, session] : sessions_) {
      session->all_touched_ = true;
      session->woken_ = true;
      if (session->leased_) woken.push_back(session.get());
    }
  }
  Wake(woken);
}

void FetchSessions::CloseLocked(FetchSession& session, std::vector<const void*>* wake) {
  for (const Partition* p : session.indexed_) {
    auto it = index_.find(p);
    if (it == index_.end()) continue;
    std::erase_if(it->second, [&](const auto& held) { return held.first == &session; });
    if (it->second.empty()) index_.erase(it);
  }
  session.indexed_.clear();
  session.touched_.clear();
  session.closed_ = true;
  if (session.leased_) wake->push_back(&session);
  sessions_.erase(session.id());
}

void FetchSessions::Wake(const std::vector<const void*>& sessions) const {
  if (options_.on_wake == nullptr) return;
  for (const void* s : sessions) options_.on_wake(s);
}

size_t FetchSessions::size() const {
  absl::MutexLock lock(&mu_);
  return sessions_.size();
}

}  // namespace samsa::broker
