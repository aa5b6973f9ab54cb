#include "transports/fault/fault.hpp"

#include <algorithm>
#include <sstream>

#include "colossus/error.hpp"

namespace colossus::transport {

namespace {
constexpr auto kAll = std::numeric_limits<std::uint64_t>::max();
}

const char* to_string(FaultKind k) {
  switch (k) {
    case FaultKind::Drop: return "drop";
    case FaultKind::Truncate: return "truncate";
    case FaultKind::FailAfter: return "fail_after";
  }
  return "?";
}

std::string FaultRule::describe() const {
  std::ostringstream os;
  os << "rank " << rank << ": ";
  switch (kind) {
    case FaultKind::Drop:
      os << "drop messages " << first << ".."
         << (count == kAll ? std::string("end") : std::to_string(first + count - 1))
         << " from rank " << peer;
      break;
    case FaultKind::Truncate:
      os << "truncate messages " << first << ".."
         << (count == kAll ? std::string("end") : std::to_string(first + count - 1)) << " to rank "
         << peer << " by " << short_by << " B";
      break;
    case FaultKind::FailAfter:
      os << "fail rank " << peer << " after " << bytes << " B "
         << (way == FaultWay::Send ? "sent to it" : "received from it");
      break;
  }
  if (kind != FaultKind::FailAfter) {
    os << (channel < 0 ? std::string(", every channel") : ", channel " + std::to_string(channel));
  }
  return os.str();
}

FaultRule drop_messages(int rank, int from_peer, std::uint64_t first, std::uint64_t count,
                        int channel) {
  FaultRule r;
  r.kind = FaultKind::Drop;
  r.rank = rank;
  r.peer = from_peer;
  r.first = first;
  r.count = count;
  r.channel = channel;
  return r;
}

FaultRule truncate_message(int rank, int to_peer, std::uint64_t message, std::size_t short_by,
                           int channel) {
  FaultRule r;
  r.kind = FaultKind::Truncate;
  r.rank = rank;
  r.peer = to_peer;
  r.first = message;
  r.count = 1;
  r.short_by = short_by;
  r.channel = channel;
  return r;
}

FaultRule fail_after(int rank, int peer, FaultWay way, std::size_t bytes) {
  FaultRule r;
  r.kind = FaultKind::FailAfter;
  r.rank = rank;
  r.peer = peer;
  r.way = way;
  r.bytes = bytes;
  return r;
}

namespace {
// What makes a rule impossible for n ranks, or null.
const char* problem(const FaultRule& r, int n) {
  if (r.rank < 0 || r.rank >= n) return "rank out of range";
  if (r.peer < 0 || r.peer >= n) return "peer out of range";
  if (r.channel < -1) return "channel out of range (-1 means every channel)";
  if (r.kind == FaultKind::Truncate && r.short_by == 0) return "it removes no bytes";
  if (r.kind != FaultKind::FailAfter && r.count == 0) return "it affects no message";
  return nullptr;
}
}  // namespace

struct FaultTransport::State {
  struct Peer {
    std::uint64_t sent = 0, received = 0;  // bytes that crossed, all channels
    bool failed = false;
  };
  std::vector<FaultRule> rules;  // this rank's
  std::vector<Peer> peers;
  std::shared_ptr<FaultCounts> counts;

  // The rule of `kind` for message `index` of connection (peer, channel), if any.
  const FaultRule* match(FaultKind kind, int peer, int channel, std::uint64_t index) const {
    for (const FaultRule& r : rules) {
      if (r.kind != kind || r.peer != peer || (r.channel >= 0 && r.channel != channel)) continue;
      if (index >= r.first && index - r.first < r.count) return &r;
    }
    return nullptr;
  }
  bool failed(int peer) const { return peers[static_cast<std::size_t>(peer)].failed; }
  // Whether moving `bytes` more `way` with `peer` goes past a fail_after
  // rule; if so the peer is failed from now on.
  bool trips(int peer, FaultWay way, std::size_t bytes) {
    Peer& p = peers[static_cast<std::size_t>(peer)];
    const std::uint64_t done = way == FaultWay::Send ? p.sent : p.received;
    for (const FaultRule& r : rules) {
      if (r.kind != FaultKind::FailAfter || r.peer != peer || r.way != way) continue;
      if (done + bytes > r.bytes) {
        p.failed = true;
        counts->failed_peers.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
    }
    return false;
  }
};

namespace {

using State = FaultTransport::State;

class FaultSend final : public SendEndpoint {
 public:
  FaultSend(std::unique_ptr<SendEndpoint> inner, std::shared_ptr<State> s, int peer, int channel)
      : inner_(std::move(inner)), s_(std::move(s)), peer_(peer), channel_(channel) {}
  std::size_t slot_bytes() const override { return inner_->slot_bytes(); }
  Status try_acquire(void** slot) override {
    s_->counts->polls.fetch_add(1, std::memory_order_relaxed);
    if (s_->failed(peer_)) return Status::PeerFailed;
    return inner_->try_acquire(slot);
  }
  Status commit(std::size_t bytes) override {
    if (s_->failed(peer_) || s_->trips(peer_, FaultWay::Send, bytes)) return Status::PeerFailed;
    std::size_t n = bytes;
    if (const FaultRule* r = s_->match(FaultKind::Truncate, peer_, channel_, index_); r && bytes) {
      n = bytes - std::min(r->short_by, bytes);
      s_->counts->truncated.fetch_add(1, std::memory_order_relaxed);
    }
    const Status st = inner_->commit(n);
    if (st != Status::Ok) return st;
    ++index_;
    s_->peers[static_cast<std::size_t>(peer_)].sent += n;
    s_->counts->messages_sent.fetch_add(1, std::memory_order_relaxed);
    s_->counts->bytes_sent.fetch_add(n, std::memory_order_relaxed);
    return Status::Ok;
  }

 private:
  std::unique_ptr<SendEndpoint> inner_;
  std::shared_ptr<State> s_;
  int peer_, channel_;
  std::uint64_t index_ = 0;  // messages committed on this connection
};

class FaultRecv final : public RecvEndpoint {
 public:
  FaultRecv(std::unique_ptr<RecvEndpoint> inner, std::shared_ptr<State> s, int peer, int channel)
      : inner_(std::move(inner)), s_(std::move(s)), peer_(peer), channel_(channel) {}
  std::size_t slot_bytes() const override { return inner_->slot_bytes(); }
  Status try_peek(const void** data, std::size_t* bytes) override {
    s_->counts->polls.fetch_add(1, std::memory_order_relaxed);
    for (;;) {
      if (s_->failed(peer_)) return Status::PeerFailed;
      const Status st = inner_->try_peek(data, bytes);
      if (st != Status::Ok) return st;
      if (!s_->match(FaultKind::Drop, peer_, channel_, index_)) break;
      const Status gone = inner_->release();  // off the wire, never seen
      if (gone != Status::Ok) return gone;
      ++index_;
      s_->counts->dropped.fetch_add(1, std::memory_order_relaxed);
    }
    if (s_->trips(peer_, FaultWay::Recv, *bytes)) return Status::PeerFailed;
    peeked_ = *bytes;
    return Status::Ok;
  }
  Status release() override {
    if (s_->failed(peer_)) return Status::PeerFailed;
    const Status st = inner_->release();
    if (st != Status::Ok) return st;
    ++index_;
    s_->peers[static_cast<std::size_t>(peer_)].received += peeked_;
    s_->counts->messages_received.fetch_add(1, std::memory_order_relaxed);
    s_->counts->bytes_received.fetch_add(peeked_, std::memory_order_relaxed);
    return Status::Ok;
  }

 private:
  std::unique_ptr<RecvEndpoint> inner_;
  std::shared_ptr<State> s_;
  int peer_, channel_;
  std::uint64_t index_ = 0;  // messages taken off this connection, dropped ones too
  std::size_t peeked_ = 0;
};

}  // namespace

FaultTransport::FaultTransport(std::unique_ptr<Transport> inner, std::vector<FaultRule> rules)
    : inner_(std::move(inner)),
      counts_(std::make_shared<FaultCounts>()),
      state_(std::make_shared<State>()) {
  if (!inner_) throw Error(ErrorCode::InvalidArgument, "fault transport: no transport to wrap");
  name_ = std::string("fault+") + inner_->name();
  const int n = inner_->nranks();
  for (const FaultRule& r : rules) {
    const char* bad = problem(r, n);
    if (bad) {
      throw Error(ErrorCode::InvalidArgument, "fault transport: rule \"" + r.describe() +
                                                  "\" for " + std::to_string(n) + " ranks: " + bad);
    }
    if (r.rank == inner_->rank()) state_->rules.push_back(r);
  }
  state_->peers.resize(static_cast<std::size_t>(n));
  state_->counts = counts_;
}

FaultTransport::~FaultTransport() = default;

void FaultTransport::check_peer(int peer) const {
  if (peer < 0 || peer >= nranks()) {
    throw Error(ErrorCode::InvalidArgument,
                std::string(name()) + ": rank " + std::to_string(rank()) + " connecting to rank " +
                    std::to_string(peer) + " of " + std::to_string(nranks()));
  }
}

std::unique_ptr<SendEndpoint> FaultTransport::connect_send(int peer, int channel) {
  check_peer(peer);
  auto inner = inner_->connect_send(peer, channel);
  return std::make_unique<FaultSend>(std::move(inner), state_, peer, channel);
}

std::unique_ptr<RecvEndpoint> FaultTransport::connect_recv(int peer, int channel) {
  check_peer(peer);
  auto inner = inner_->connect_recv(peer, channel);
  return std::make_unique<FaultRecv>(std::move(inner), state_, peer, channel);
}

std::vector<std::unique_ptr<Transport>> wrap_with_faults(
    std::vector<std::unique_ptr<Transport>> transports, const std::vector<FaultRule>& rules) {
  std::vector<std::unique_ptr<Transport>> out;
  for (auto& t : transports) out.push_back(std::make_unique<FaultTransport>(std::move(t), rules));
  return out;
}

}  // namespace colossus::transport
