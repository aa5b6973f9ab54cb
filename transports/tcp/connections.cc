// connections.cc: the progress thread's work on individual sockets:
// accepting and authenticating incoming connections, moving frames on
// established ones, and turning socket failures into failed streams.
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>

#include "base/logging.hpp"
#include "transports/tcp/progress.hpp"

namespace colossus::transport {

using tcp::Conn;
using tcp::IoResult;
using tcp::RecvStream;
using tcp::SendStream;

namespace {
constexpr auto kAcceptPause = std::chrono::milliseconds(100);
}  // namespace

std::string TcpProgress::describe(const SendStream& s) const {
  return "rank " + std::to_string(rank_) + " -> rank " + std::to_string(s.peer) + " channel " +
         std::to_string(s.channel);
}

std::string TcpProgress::describe(const RecvStream& r) const {
  return "rank " + std::to_string(r.peer) + " -> rank " + std::to_string(rank_) + " channel " +
         std::to_string(r.channel);
}

void TcpProgress::accept_all() {
  for (;;) {
    bootstrap::Endpoint from;
    int err = 0;
    bootstrap::Fd fd = bootstrap::accept_pending(listener_.get(), &from, &err);
    if (!fd) {
      if (err == 0) return;  // none waiting
      // Out of descriptors (or memory): the connection stays queued and the
      // listener stays readable; pause it rather than spin on poll().
      CLOG(Warn) << "tcp rank " << rank_ << ": accept: " << bootstrap::errno_text(err)
                 << "; retrying in 100 ms";
      listener_paused_until_ = Clock::now() + kAcceptPause;
      return;
    }
    Pending p;
    p.fd = std::move(fd);
    p.from = from.str();
    p.deadline = Clock::now() +
                 std::chrono::duration_cast<Clock::duration>(
                     std::chrono::duration<double>(std::min(options_.timeout_s, kHelloTimeoutS)));
    pending_.push_back(std::move(p));
  }
}

void TcpProgress::read_hello(Pending& p) {
  // Exactly the hello's bytes: the sender's frames may follow right behind.
  const ssize_t got = ::recv(p.fd.get(), reinterpret_cast<std::byte*>(&p.hello) + p.got,
                             sizeof(tcp::Hello) - p.got, MSG_DONTWAIT);
  if (got == 0) return reject(p, "closed after " + std::to_string(p.got) + " of 40 hello bytes");
  if (got < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    return reject(p, bootstrap::errno_text(errno));
  }
  p.got += static_cast<std::size_t>(got);
  if (p.got == sizeof(tcp::Hello)) route(p);
}

void TcpProgress::reject(Pending& p, const std::string& why) {
  CLOG(Warn) << "tcp rank " << rank_ << ": rejected a connection from " << p.from << ": " << why;
  stats_.connections_rejected.fetch_add(1, std::memory_order_relaxed);
  p.fd.reset();
}

void TcpProgress::route(Pending& p) {
  const tcp::Hello& h = p.hello;
  if (h.magic != tcp::kHelloMagic) return reject(p, "not a colossus tcp hello");
  if (h.version != tcp::kWireVersion) {
    return reject(p, "wire version " + std::to_string(h.version) + ", this build speaks " +
                         std::to_string(tcp::kWireVersion));
  }
  // Only ranks of this job know the secret; everything below is trusted to
  // be a (possibly misconfigured) peer.
  if (h.secret != secret_) return reject(p, "wrong job secret");
  if (h.dst != rank_ || h.src < 0 || h.src >= nranks_ || h.channel < 0 ||
      h.channel >= tcp::kMaxChannels || h.nsockets < 1 || h.nsockets > tcp::kMaxSockets ||
      h.socket >= h.nsockets) {
    return reject(p, "malformed hello: rank " + std::to_string(h.src) + " -> " +
                         std::to_string(h.dst) + " channel " + std::to_string(h.channel) +
                         " socket " + std::to_string(h.socket) + "/" + std::to_string(h.nsockets));
  }
  RecvStream* r = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    r = &recv_locked(h.src, h.channel);
  }
  if (r->ring.failed.load(std::memory_order_relaxed)) {
    return reject(p, describe(*r) + " already failed");
  }
  auto mismatch = [&](const std::string& what) {
    reject(p, describe(*r) + ": " + what);
    fail(r->ring, r->conns, describe(*r) + ": " + what, false);
  };
  if (h.slot_bytes != options_.slot_bytes) {
    return mismatch("the sender's slot is " + std::to_string(h.slot_bytes) + " bytes, ours " +
                    std::to_string(options_.slot_bytes) + " (COLOSSUS_SLOT_BYTES differs)");
  }
  if (r->nsockets == 0) {
    r->nsockets = h.nsockets;
    r->conns.resize(h.nsockets);
    for (int k = 0; k < h.nsockets; ++k) r->conns[static_cast<std::size_t>(k)].index = k;
  } else if (r->nsockets != h.nsockets) {
    return mismatch("sockets disagree on the stream's width (" + std::to_string(r->nsockets) +
                    " vs " + std::to_string(h.nsockets) + ")");
  }
  Conn& c = r->conns[h.socket];
  if (c.used) return reject(p, describe(*r) + ": socket " + std::to_string(h.socket) + " again");
  c.fd = std::move(p.fd);
  c.used = true;
  if (std::find(recvs_.begin(), recvs_.end(), r) == recvs_.end()) recvs_.push_back(r);
  stats_.connections_accepted.fetch_add(1, std::memory_order_relaxed);
  CLOG_SUB(Trace, Net) << "tcp: " << describe(*r) << " socket " << h.socket << "/" << h.nsockets
                       << " connected from " << p.from;
  service_recv(*r, c);  // its first frames may already be waiting
}

void TcpProgress::service_send(SendStream& s, Conn& c, short revents) {
  if (!c.fd) return;
  if (c.connecting) {
    if (!(revents & (POLLOUT | POLLERR | POLLHUP))) return;
    if (const int err = bootstrap::connect_result(c.fd.get())) {
      return fail(s.ring, s.conns,
                  describe(s) + ": cannot connect to " +
                      peers_[static_cast<std::size_t>(s.peer)].str() + ": " +
                      bootstrap::errno_text(err),
                  false);
    }
    c.connecting = false;
    revents |= POLLOUT;  // connected sockets are writable: send the hello now
  }
  IoResult io;
  if (revents & POLLIN) io = s.check_closed(c);
  if (!io.closed && (revents & (POLLOUT | POLLERR | POLLHUP))) io = s.write(c, stats_);
  if (io.moved && stopping_) last_write_ = Clock::now();
  if (!io.closed) return;
  const std::string why = io.err == EPROTO ? "the receiver sent data on a one-way socket"
                          : io.err         ? bootstrap::errno_text(io.err)
                                           : "the receiver closed the connection";
  fail(s.ring, s.conns,
       describe(s) + " socket " + std::to_string(c.index) + ": " + why +
           (io.mid_message ? " with messages still to send" : ""),
       !io.mid_message && io.err != EPROTO);
}

void TcpProgress::service_recv(RecvStream& r, Conn& c) {
  const IoResult io = r.read(c);
  if (!io.closed) {
    if (r.header_closed) finish_if_sender_done(r);
    return;
  }
  if (io.err == 0 && !io.mid_message) {
    // Socket 0 closed between frames: the sender announced its last
    // message. Sockets k > 0 may still carry pieces of the messages it
    // announced (the sender wrote them before closing, but they travel on
    // other connections and may arrive later): close this one only, and end
    // the stream once the others have delivered their last pieces.
    c.fd.reset();
    r.header_closed = true;
    return finish_if_sender_done(r);
  }
  const std::string why = io.err == EPROTO ? r.protocol_error
                          : io.err         ? bootstrap::errno_text(io.err)
                                           : "the sender closed the connection";
  fail(r.ring, r.conns,
       describe(r) + " socket " + std::to_string(c.index) + ": " + why +
           (io.mid_message ? " in the middle of a message" : ""),
       !io.mid_message && io.err == 0);
}

void TcpProgress::finish_if_sender_done(RecvStream& r) {
  if (!r.sender_done()) return;
  fail(r.ring, r.conns, describe(r) + ": the sender closed the connection", true);
}

void TcpProgress::service_all() {
  for (SendStream* s : sends_) {
    for (Conn& c : s->conns) {
      if (c.fd && !c.connecting && s->has_output(c)) service_send(*s, c, POLLOUT);
    }
  }
  for (RecvStream* r : recvs_) {
    for (Conn& c : r->conns) {
      if (r->can_read(c)) service_recv(*r, c);
    }
  }
}

void TcpProgress::fail(tcp::SlotRing& ring, std::vector<Conn>& conns, const std::string& what,
                       bool quiet) {
  if (ring.failed.load(std::memory_order_relaxed)) return;
  // A receiver keeps every message that arrived whole: publish them before
  // the flag, so an endpoint that sees the flag also sees them.
  for (RecvStream* r : recvs_) {
    if (&r->ring == &ring) r->advance_head(stats_);
  }
  for (Conn& c : conns) {
    c.fd.reset();
    c.connecting = false;
  }
  ring.failed.store(true, std::memory_order_release);
  ring_bell_ = true;
  if (quiet) {
    CLOG_SUB(Info, Net) << "tcp: " << what;
  } else {
    CLOG(Warn) << "tcp: " << what;
  }
}

}  // namespace colossus::transport
