// host_proxy.cc: the proxy thread (see host_proxy.hpp for the protocol).
//
// Counters are plain uint64_t in memory the GPU maps, so the host touches
// them through std::atomic_ref: acquire loads of the kernel's counter before
// reading what it published, release stores of ours after writing (or
// finishing reading) the slot it covers. Each Conn keeps the proxy's own
// count (shipped / delivered) so it never has to re-read what it wrote.
#include "exec/cuda/host_proxy.hpp"

#include <pthread.h>

#include <algorithm>
#include <cstring>

#include "colossus/error.hpp"

namespace colossus::exec::gpu {

using transport::Status;
using Clock = std::chrono::steady_clock;

struct HostProxy::Conn {
  bool send = false;  // direction: kernel -> net (true) or net -> kernel
  int peer = 0;
  int channel = 0;
  ProxyRing ring;
  std::uint64_t count = 0;  // send: messages shipped (= our tail); recv: delivered (= our head)
  std::size_t limit = 0;    // largest message both the ring slot and the endpoint hold
  std::unique_ptr<transport::SendEndpoint> tx;
  std::unique_ptr<transport::RecvEndpoint> rx;
};

namespace {

void check_ring(const ProxyRing& r, bool send) {
  if (!r.slots || !r.head || !r.tail || (send && !r.sizes)) {
    throw Error(ErrorCode::InvalidArgument,
                "host proxy: ring without slots, counters or (send direction) sizes");
  }
}

}  // namespace

HostProxy::HostProxy(std::unique_ptr<transport::Transport> net, std::size_t slot_bytes,
                     std::uint32_t depth, volatile int* abort)
    : net_(std::move(net)), slot_bytes_(slot_bytes), depth_(depth), abort_(abort) {
  if (!net_) throw Error(ErrorCode::InvalidArgument, "host proxy: no transport");
  if (depth_ == 0 || slot_bytes_ == 0 || slot_bytes_ > net_->slot_bytes()) {
    throw Error(ErrorCode::InvalidArgument, "host proxy: rings of " + std::to_string(depth_) +
                                                " x " + std::to_string(slot_bytes_) +
                                                " B do not fit the transport's " +
                                                std::to_string(net_->slot_bytes()) + " B slots");
  }
  thread_ = std::thread([this] { loop(); });
}

HostProxy::~HostProxy() {
  stop_.store(true, std::memory_order_release);
  net_->doorbell().ring();  // cut a backoff sleep short
  thread_.join();
  // The thread destroyed its endpoints on the way out, before net_ goes.
}

void HostProxy::add_send(int peer, int channel, ProxyRing ring) {
  check_ring(ring, true);
  auto c = std::make_unique<Conn>();
  c->send = true;
  c->peer = peer;
  c->channel = channel;
  c->ring = ring;
  // We own tail in this direction: continue from what it says.
  c->count = std::atomic_ref<std::uint64_t>(*ring.tail).load(std::memory_order_acquire);
  std::lock_guard<std::mutex> lock(mu_);
  pending_.push_back(std::move(c));
}

void HostProxy::add_recv(int peer, int channel, ProxyRing ring) {
  check_ring(ring, false);
  auto c = std::make_unique<Conn>();
  c->peer = peer;
  c->channel = channel;
  c->ring = ring;
  c->count = std::atomic_ref<std::uint64_t>(*ring.head).load(std::memory_order_acquire);
  std::lock_guard<std::mutex> lock(mu_);
  pending_.push_back(std::move(c));
}

void HostProxy::kick() {
  kicks_.fetch_add(1, std::memory_order_release);
  net_->doorbell().ring();  // a sleeping proxy turns hot now, not after its sleep
}

std::string HostProxy::error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return error_;
}

void HostProxy::fail(const Conn& c, const std::string& what) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.empty()) {
      error_ =
          "peer " + std::to_string(c.peer) + " channel " + std::to_string(c.channel) + ": " + what;
    }
  }
  // error_ is set first, so whoever sees the flag finds the reason. The flag
  // is host-mapped memory the kernels poll; an atomic store on the host side
  // (the word stays a plain int for the device's volatile loads).
  if (abort_) __atomic_store_n(abort_, 1, __ATOMIC_RELEASE);
  // A proxy that failed stops: the loop sees stop_ and exits.
  stop_.store(true, std::memory_order_release);
}

bool HostProxy::progress(Conn& c) {
  const auto bad = [&](Status st) {
    fail(c, st == Status::PeerFailed ? "peer failed" : "transport error");
    return false;
  };
  bool moved = false;
  if (c.send) {
    std::atomic_ref<std::uint64_t> head(*c.ring.head), tail(*c.ring.tail);
    const std::uint64_t produced = head.load(std::memory_order_acquire);
    while (c.count < produced) {
      void* out = nullptr;
      const Status st = c.tx->try_acquire(&out);
      if (st == Status::Pending) break;
      if (st != Status::Ok) return bad(st);
      const std::size_t slot = c.count % depth_;
      const std::size_t bytes = c.ring.sizes[slot];  // published before head (acquired above)
      if (bytes > c.limit) {
        fail(c, "message of " + std::to_string(bytes) + " B exceeds the " +
                    std::to_string(c.limit) + " B slot");
        return false;
      }
      if (bytes) std::memcpy(out, c.ring.slots + slot * slot_bytes_, bytes);
      const Status done = c.tx->commit(bytes);
      if (done != Status::Ok) return bad(done);
      tail.store(++c.count, std::memory_order_release);  // the slot is the kernel's again
      moved = true;
    }
  } else {
    std::atomic_ref<std::uint64_t> head(*c.ring.head), tail(*c.ring.tail);
    const std::uint64_t consumed = tail.load(std::memory_order_acquire);
    while (c.count - consumed < depth_) {
      const void* in = nullptr;
      std::size_t bytes = 0;
      const Status st = c.rx->try_peek(&in, &bytes);
      if (st == Status::Pending) break;
      if (st != Status::Ok) return bad(st);
      if (bytes > c.limit) {
        fail(c, "received " + std::to_string(bytes) + " B, more than the " +
                    std::to_string(c.limit) + " B slot");
        return false;
      }
      const std::size_t slot = c.count % depth_;
      if (bytes) std::memcpy(c.ring.slots + slot * slot_bytes_, in, bytes);
      if (c.ring.sizes) c.ring.sizes[slot] = static_cast<std::uint32_t>(bytes);
      const Status done = c.rx->release();
      if (done != Status::Ok) return bad(done);
      head.store(++c.count, std::memory_order_release);  // slot and size visible first
      moved = true;
    }
  }
  return moved;
}

void HostProxy::loop() {
  pthread_setname_np(pthread_self(), "colossus-proxy");
  // Connected conns live here, on the thread that uses them; they (and their
  // endpoints) are destroyed when it returns, before the Transport.
  std::vector<std::unique_ptr<Conn>> conns;
  std::uint64_t kicks_seen = 0;
  Clock::time_point hot_until{};  // not hot until kicked or something moves
  auto sleep = std::chrono::microseconds(1);

  while (!stop_.load(std::memory_order_acquire)) {
    std::vector<std::unique_ptr<Conn>> fresh;
    {
      std::lock_guard<std::mutex> lock(mu_);
      fresh.swap(pending_);
    }
    for (auto& c : fresh) {
      try {
        // An endpoint may offer less than net_->slot_bytes() promises at most.
        if (c->send) {
          c->tx = net_->connect_send(c->peer, c->channel);
          c->limit = std::min(slot_bytes_, c->tx->slot_bytes());
        } else {
          c->rx = net_->connect_recv(c->peer, c->channel);
          c->limit = slot_bytes_;
        }
      } catch (const std::exception& e) {
        fail(*c, std::string("connect failed: ") + e.what());
        break;
      }
      conns.push_back(std::move(c));
    }

    // Read before trying: a message or free slot that lands after our look
    // changes the epoch, and the wait below returns at once.
    const std::uint32_t epoch = net_->doorbell().epoch();
    bool moved = false;
    for (auto& c : conns) {
      if (stop_.load(std::memory_order_relaxed)) break;
      moved |= progress(*c);
    }
    if (stop_.load(std::memory_order_acquire)) break;

    const auto now = Clock::now();
    const std::uint64_t kicks = kicks_.load(std::memory_order_acquire);
    if (moved || kicks != kicks_seen) {
      kicks_seen = kicks;
      hot_until = now + kHotPoll;
      sleep = std::chrono::microseconds(1);
    }
    if (moved) continue;
    if (now < hot_until) {
      // Hot: the kernel may publish any moment and does not ring anything.
      std::this_thread::yield();
    } else {
      // Cold: sleep, but wake early for transport traffic, a kick or stop.
      net_->doorbell().wait(epoch, now + sleep);
      sleep = std::min<std::chrono::microseconds>(sleep * 2, kMaxSleep);
    }
  }
}

}  // namespace colossus::exec::gpu
