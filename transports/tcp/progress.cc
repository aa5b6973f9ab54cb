#include "transports/tcp/progress.hpp"

#include <pthread.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "base/logging.hpp"
#include "colossus/error.hpp"

namespace colossus::transport {

using tcp::Conn;
using tcp::RecvStream;
using tcp::SendStream;

namespace {
std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}
}  // namespace

TcpProgress::TcpProgress(int rank, int nranks, uint64_t secret, Doorbell& bell, TcpOptions options,
                         bootstrap::Fd listener, std::vector<bootstrap::Endpoint> peers)
    : rank_(rank),
      nranks_(nranks),
      secret_(secret),
      bell_(bell),
      options_(std::move(options)),
      listener_(std::move(listener)),
      peers_(std::move(peers)) {
  wake_fd_ = bootstrap::Fd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!wake_fd_) {
    throw Error(ErrorCode::SystemError, "tcp: eventfd: " + bootstrap::errno_text(errno));
  }
  thread_ = std::thread([this] { run(); });
}

TcpProgress::~TcpProgress() {
  stop_.store(true);
  wake();
  thread_.join();
}

void TcpProgress::wake() {
  const uint64_t one = 1;
  // Cannot fail short of a bug: the counter saturates only after 2^64 - 2 writes.
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_.get(), &one, sizeof one);
}

SendStream& TcpProgress::send_stream(int peer, int channel) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& s = send_map_[{peer, channel}];
  if (!s) {
    s = std::make_unique<SendStream>(peer, channel, options_.slot_bytes, options_.depth,
                                     options_.sockets_per_peer);
    if (dead_) s->ring.failed.store(true);
    new_sends_.push_back(s.get());
    wake();
  }
  return *s;
}

RecvStream& TcpProgress::recv_stream(int peer, int channel) {
  std::lock_guard<std::mutex> lock(mu_);
  return recv_locked(peer, channel);
}

RecvStream& TcpProgress::recv_locked(int peer, int channel) {
  auto& r = recv_map_[{peer, channel}];
  if (!r) {
    r = std::make_unique<RecvStream>(peer, channel, options_.slot_bytes, options_.depth);
    if (dead_) r->ring.failed.store(true);
  }
  return *r;
}

void TcpProgress::run() {
  pthread_setname_np(pthread_self(), "colossus-tcp");
  try {
    loop();
  } catch (const std::exception& e) {
    // Nothing can make progress any more: fail every stream, so executors
    // see PeerFailed now instead of a timeout later.
    CLOG(Warn) << "tcp rank " << rank_ << ": progress thread stopped: " << e.what();
    std::lock_guard<std::mutex> lock(mu_);
    dead_ = true;
    for (auto& [key, s] : send_map_) s->ring.failed.store(true, std::memory_order_release);
    for (auto& [key, r] : recv_map_) r->ring.failed.store(true, std::memory_order_release);
    bell_.ring();
  }
}

void TcpProgress::loop() {
  const auto idle_limit = seconds(std::min(options_.timeout_s, kLingerIdleS));
  for (;;) {
    adopt_new_streams();
    if (stop_.load()) {
      if (!stopping_) {
        stopping_ = true;
        last_write_ = Clock::now();
      }
      if (!unflushed()) return;
      if (Clock::now() - last_write_ >= idle_limit) {
        CLOG(Warn) << "tcp rank " << rank_ << ": closing with unsent messages: peers took "
                   << "nothing for " << std::min(options_.timeout_s, kLingerIdleS) << " s";
        return;
      }
    }
    // Announce the sleep before deciding what to poll for: an executor that
    // publishes after this fence sees the flag and writes the eventfd; one
    // that published before is seen by build_poll_set. No wake-up is lost.
    sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    const int timeout_ms =
        build_poll_set(stopping_ ? last_write_ + idle_limit : Clock::time_point::max());
    const int ready = ::poll(pfds_.data(), pfds_.size(), timeout_ms);
    sleeping_.store(false, std::memory_order_relaxed);
    if (ready < 0 && errno != EINTR) {
      throw Error(ErrorCode::SystemError, "poll: " + bootstrap::errno_text(errno));
    }

    bool woken = false;
    for (std::size_t i = 0; ready > 0 && i < pfds_.size(); ++i) {
      const short ev = pfds_[i].revents;
      if (ev == 0) continue;
      const Watch& w = watches_[i];
      switch (w.kind) {
        case Watch::Wake: {
          uint64_t count = 0;
          [[maybe_unused]] const ssize_t n = ::read(wake_fd_.get(), &count, sizeof count);
          woken = true;
          break;
        }
        case Watch::Listener: accept_all(); break;
        case Watch::Accepted: read_hello(pending_[w.index]); break;
        case Watch::Send: {
          SendStream& s = *sends_[w.index];
          service_send(s, s.conns[static_cast<std::size_t>(w.conn)], ev);
          break;
        }
        case Watch::Recv: {
          RecvStream& r = *recvs_[w.index];
          service_recv(r, r.conns[static_cast<std::size_t>(w.conn)]);
          break;
        }
      }
    }
    // The executor committed or released something: the sockets it concerns
    // are most likely ready, so try them now rather than after another poll.
    if (woken) service_all();

    const auto now = Clock::now();
    for (Pending& p : pending_) {
      if (p.fd && now >= p.deadline) {
        reject(p, "no complete hello in time");
      }
    }
    std::erase_if(pending_, [](const Pending& p) { return !p.fd; });
    for (SendStream* s : sends_) ring_bell_ |= s->advance_tail(stats_);
    for (RecvStream* r : recvs_) ring_bell_ |= r->advance_head(stats_);
    if (ring_bell_) {
      bell_.ring();
      ring_bell_ = false;
    }
  }
}

void TcpProgress::adopt_new_streams() {
  std::vector<SendStream*> fresh;
  {
    std::lock_guard<std::mutex> lock(mu_);
    fresh.swap(new_sends_);
  }
  for (SendStream* s : fresh) {
    sends_.push_back(s);
    start_connects(*s);
  }
}

void TcpProgress::start_connects(SendStream& s) {
  for (Conn& c : s.conns) {
    c.hello.secret = secret_;
    c.hello.src = rank_;
    c.hello.dst = s.peer;
    c.hello.channel = s.channel;
    c.hello.socket = static_cast<uint16_t>(c.index);
    c.hello.nsockets = static_cast<uint16_t>(s.nsockets);
    c.hello.slot_bytes = options_.slot_bytes;
    c.hello_off = 0;
    int err = 0;
    c.fd = bootstrap::start_connect(peers_[static_cast<std::size_t>(s.peer)], &err);
    if (!c.fd) {
      fail(s.ring, s.conns,
           "rank " + std::to_string(rank_) + " -> rank " + std::to_string(s.peer) + " channel " +
               std::to_string(s.channel) + ": cannot connect to " +
               peers_[static_cast<std::size_t>(s.peer)].str() + ": " + bootstrap::errno_text(err),
           false);
      return;
    }
    c.connecting = true;
  }
}

int TcpProgress::build_poll_set(Clock::time_point stop_deadline) {
  pfds_.clear();
  watches_.clear();
  auto add = [&](int fd, short events, Watch w) {
    pfds_.push_back(pollfd{fd, events, 0});
    watches_.push_back(w);
  };
  add(wake_fd_.get(), POLLIN, {Watch::Wake, 0, 0});
  const auto now = Clock::now();
  Clock::time_point deadline = stop_deadline;
  if (now >= listener_paused_until_) {
    add(listener_.get(), POLLIN, {Watch::Listener, 0, 0});
  } else {
    deadline = std::min(deadline, listener_paused_until_);
  }
  for (std::size_t i = 0; i < pending_.size(); ++i) {
    add(pending_[i].fd.get(), POLLIN, {Watch::Accepted, i, 0});
    deadline = std::min(deadline, pending_[i].deadline);
  }
  for (std::size_t i = 0; i < sends_.size(); ++i) {
    for (const Conn& c : sends_[i]->conns) {
      if (!c.fd) continue;
      // POLLIN on a send socket only ever reports the peer closing it.
      const short ev = c.connecting
                           ? POLLOUT
                           : static_cast<short>(POLLIN | (sends_[i]->has_output(c) ? POLLOUT : 0));
      add(c.fd.get(), ev, {Watch::Send, i, c.index});
    }
  }
  for (std::size_t i = 0; i < recvs_.size(); ++i) {
    // A socket with no slot to read into is left out: TCP's window holds
    // the sender back, and polling it would only spin on POLLIN.
    for (const Conn& c : recvs_[i]->conns) {
      if (recvs_[i]->can_read(c)) add(c.fd.get(), POLLIN, {Watch::Recv, i, c.index});
    }
  }
  if (deadline == Clock::time_point::max()) return -1;
  if (deadline <= now) return 0;
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count());
}

bool TcpProgress::unflushed() const {
  for (const SendStream* s : sends_) {
    if (!s->ring.failed.load(std::memory_order_relaxed) && !s->flushed()) return true;
  }
  return false;
}

}  // namespace colossus::transport
