#include "transports/tcp/stream.hpp"

#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>

#include "colossus/error.hpp"
#include "transports/tcp/tcp.hpp"

namespace colossus::transport::tcp {

namespace {
// Frames gathered into one sendmsg: enough to batch a full ring of small
// messages, far below IOV_MAX.
constexpr int kMaxIov = 32;
}  // namespace

// ---- sender ---------------------------------------------------------------

SendStream::SendStream(int p, int ch, std::size_t slot_bytes, int depth, int n)
    : peer(p),
      channel(ch),
      nsockets(n),
      ring(slot_bytes, depth),
      conns(static_cast<std::size_t>(n)) {
  for (int k = 0; k < n; ++k) conns[static_cast<std::size_t>(k)].index = k;
}

namespace {

// Moves a send cursor over `n` written bytes: hello first, then frames.
// Also steps over frames that are empty on this socket (small messages on
// sockets k > 0), which is what lets the ring's tail pass them.
void consume(Conn& c, std::size_t n, uint64_t head, const SlotRing& ring, int nsockets) {
  if (c.hello_off < sizeof(Hello)) {
    const std::size_t take = std::min(n, sizeof(Hello) - c.hello_off);
    c.hello_off += take;
    n -= take;
  }
  while (c.msg < head) {
    const std::size_t frame = frame_bytes(ring.size(c.msg), nsockets, c.index);
    const std::size_t take = std::min(n, frame - c.off);
    c.off += take;
    n -= take;
    if (c.off < frame) break;
    ++c.msg;
    c.off = 0;
  }
}

}  // namespace

bool SendStream::has_output(const Conn& c) const {
  if (c.hello_off < sizeof(Hello)) return true;
  const uint64_t head = ring.head.load(std::memory_order_acquire);
  for (uint64_t m = c.msg; m < head; ++m) {
    if (frame_bytes(ring.size(m), nsockets, c.index) > (m == c.msg ? c.off : 0)) return true;
  }
  return false;
}

IoResult SendStream::write(Conn& c, TcpStats&) {
  IoResult r;
  for (;;) {
    const uint64_t head = ring.head.load(std::memory_order_acquire);
    iovec iov[kMaxIov];
    int n = 0;
    std::size_t want = 0;
    auto add = [&](void* p, std::size_t len) {
      if (len == 0) return;
      iov[n++] = iovec{p, len};
      want += len;
    };
    if (c.hello_off < sizeof(Hello)) {
      add(reinterpret_cast<std::byte*>(&c.hello) + c.hello_off, sizeof(Hello) - c.hello_off);
    }
    std::size_t skip = c.off;
    for (uint64_t m = c.msg; m < head && n + 2 <= kMaxIov; ++m, skip = 0) {
      if (c.index == 0) {
        if (skip < kHeaderBytes) {
          add(reinterpret_cast<std::byte*>(&ring.size(m)) + skip, kHeaderBytes - skip);
          skip = 0;
        } else {
          skip -= kHeaderBytes;
        }
      }
      const Piece p = piece_of(ring.size(m), nsockets, c.index);
      if (p.len > skip) add(ring.slot(m) + p.begin + skip, p.len - skip);
    }
    if (want == 0) {
      consume(c, 0, head, ring, nsockets);
      return r;
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = static_cast<std::size_t>(n);
    // MSG_NOSIGNAL: a peer that died must become PeerFailed, not SIGPIPE.
    const ssize_t sent = ::sendmsg(c.fd.get(), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return r;
      r.closed = true;
      r.err = errno;
      r.mid_message = true;
      return r;
    }
    r.moved = true;
    consume(c, static_cast<std::size_t>(sent), head, ring, nsockets);
    if (static_cast<std::size_t>(sent) < want) return r;  // socket buffer full: wait for POLLOUT
  }
}

IoResult SendStream::check_closed(Conn& c) {
  IoResult r;
  char buf[64];
  const ssize_t got = ::recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
  if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return r;
  r.closed = true;
  r.err = got < 0 ? errno : got > 0 ? EPROTO : 0;
  r.mid_message = !flushed();
  return r;
}

bool SendStream::advance_tail(TcpStats& stats) {
  const uint64_t head = ring.head.load(std::memory_order_acquire);
  uint64_t done = head;
  for (Conn& c : conns) {
    consume(c, 0, head, ring, nsockets);
    done = std::min(done, c.msg);
  }
  const uint64_t tail = ring.tail.load(std::memory_order_relaxed);
  if (done <= tail) return false;
  // Count before publishing: once the tail moves the executor may reuse the slot.
  for (uint64_t m = tail; m < done; ++m) {
    if (piece_of(ring.size(m), nsockets, 0).len < ring.size(m)) {
      stats.messages_striped.fetch_add(1, std::memory_order_relaxed);
    }
  }
  stats.messages_sent.fetch_add(done - tail, std::memory_order_relaxed);
  ring.tail.store(done, std::memory_order_release);
  return true;
}

bool SendStream::flushed() const {
  return ring.tail.load(std::memory_order_acquire) == ring.head.load(std::memory_order_acquire);
}

// ---- receiver -------------------------------------------------------------

RecvStream::RecvStream(int p, int ch, std::size_t slot_bytes, int depth)
    : peer(p), channel(ch), ring(slot_bytes, depth) {}

bool RecvStream::can_read(const Conn& c) const {
  if (!c.fd) return false;
  // A frame may only land in a slot the executor released.
  if (c.msg >= ring.tail.load(std::memory_order_acquire) + ring.depth) return false;
  // Socket k > 0 knows where its piece goes once socket 0 read the header.
  return c.index == 0 || c.msg < headers;
}

void RecvStream::skip_empty(Conn& c) {
  while (c.index != 0 && c.off == 0 && c.msg < headers &&
         piece_of(ring.size(c.msg), nsockets, c.index).len == 0) {
    ++c.msg;
  }
}

IoResult RecvStream::read(Conn& c) {
  IoResult r;
  while (can_read(c)) {
    const uint64_t m = c.msg;
    std::byte* dst = nullptr;
    std::size_t len = 0;
    if (c.index == 0 && c.off < kHeaderBytes) {
      dst = reinterpret_cast<std::byte*>(&ring.size(m)) + c.off;
      len = kHeaderBytes - c.off;
    } else {
      const Piece p = piece_of(ring.size(m), nsockets, c.index);
      const std::size_t done = c.index == 0 ? c.off - kHeaderBytes : c.off;
      dst = ring.slot(m) + p.begin + done;
      len = p.len - done;
    }
    const ssize_t got = ::recv(c.fd.get(), dst, len, MSG_DONTWAIT);
    if (got == 0) {
      r.closed = true;
      // Between frames on socket 0 is where an orderly close lands.
      r.mid_message = !(c.index == 0 && c.off == 0);
      return r;
    }
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return r;
      r.closed = true;
      r.err = errno;
      r.mid_message = true;
      return r;
    }
    r.moved = true;
    c.off += static_cast<std::size_t>(got);
    if (c.index == 0 && c.off == kHeaderBytes) {
      if (ring.size(m) > ring.slot_bytes) {
        protocol_error = "frame of " + std::to_string(ring.size(m)) + " bytes exceeds the " +
                         std::to_string(ring.slot_bytes) + "-byte slot";
        r.closed = true;
        r.err = EPROTO;
        r.mid_message = true;
        return r;
      }
      headers = m + 1;
      for (Conn& o : conns) skip_empty(o);
    }
    if (c.off == frame_bytes(ring.size(m), nsockets, c.index)) {
      ++c.msg;
      c.off = 0;
      skip_empty(c);
    }
    if (static_cast<std::size_t>(got) < len) return r;  // drained for now
  }
  return r;
}

bool RecvStream::sender_done() const {
  if (!header_closed) return false;
  for (const Conn& c : conns) {
    if (c.msg < headers) return false;
  }
  return true;
}

bool RecvStream::advance_head(TcpStats& stats) {
  if (nsockets == 0) return false;
  uint64_t done = conns[0].msg;
  for (const Conn& c : conns) done = std::min(done, c.msg);
  const uint64_t head = ring.head.load(std::memory_order_relaxed);
  if (done <= head) return false;
  stats.messages_received.fetch_add(done - head, std::memory_order_relaxed);
  ring.head.store(done, std::memory_order_release);
  return true;
}

}  // namespace colossus::transport::tcp
