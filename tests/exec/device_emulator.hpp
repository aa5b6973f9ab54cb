// device_emulator.hpp: the device channel kernel emulated on CPU threads,
// for device_protocol_test.cc (see its opening comment for what is checked).
//
// One std::thread per (rank, channel) runs emulate_channel(), a line-for-line
// host copy of lib/exec/cuda/channel_kernel.cuh's loop over the real
// DeviceWork/DeviceConn structures; World wires ranks' connections exactly as
// lib/exec/cuda/device_links.cc does (direct, or through two HostProxy
// instances for a "network" pair). Test-only instrumentation: a shadow size
// per direct message, and counter checks after each run.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>
#include "algorithms/algorithm.hpp"
#include "algorithms/layout.hpp"
#include "colossus/error.hpp"
#include "collectives/reference.hpp"
#include "exec/cuda/device_plan.hpp"
#include "exec/cuda/host_proxy.hpp"
#include "plan/plan.hpp"
#include "reduce/reduce.hpp"
#include "support/values.hpp"
#include "transports/loopback/loopback.hpp"

namespace colossus::test::emu {


using namespace colossus;
using algorithms::Algo;
using algorithms::AlgoParams;
using algorithms::Layout;
using exec::gpu::DeviceConn;
using exec::gpu::DeviceError;
using exec::gpu::DeviceStatus;
using exec::gpu::DeviceStep;
using exec::gpu::DeviceWork;
using exec::gpu::EncodedChannel;
using exec::gpu::HostProxy;
using exec::gpu::kMaxConns;
using exec::gpu::ProxyRing;
using plan::Collective;
using plan::StepKind;
using Clock = std::chrono::steady_clock;

// Every wait of the emulated kernel gives up after this long (DeviceWork::timeout_ns).
inline constexpr double kWaitTimeoutS = 20;
inline constexpr unsigned char kSentinel = 0xA5;
inline constexpr std::uint32_t kNoSize = 0xdeadbeef;

// Messages the emulated kernels have sent (for the log: the sweep is not vacuous).
inline std::atomic<std::uint64_t> g_messages{0};

// ---------------------------------------------------------------------------
// Memory: arenas and connections, as device_links.cc builds them.

// Zeroed host memory aligned like cudaMalloc's (256 B).
class Mem {
 public:
  explicit Mem(std::size_t bytes, unsigned char fill = 0) {
    const std::size_t n = std::max<std::size_t>(256, (bytes + 255) / 256 * 256);
    p_ = static_cast<std::byte*>(std::aligned_alloc(256, n));
    if (p_ == nullptr) throw std::bad_alloc();
    std::memset(p_, fill, n);
  }
  ~Mem() { std::free(p_); }
  Mem(const Mem&) = delete;
  Mem& operator=(const Mem&) = delete;
  std::byte* data() const { return p_; }

 private:
  std::byte* p_ = nullptr;
};

// A replica of transports/cuda_ipc/arena.hpp's ArenaLayout (that header pulls
// in cuda_runtime_api.h): head at 0, tail at 64 (own cache lines), sizes[depth]
// at 128, the ring 256-aligned after them. Keep in sync.
struct ArenaLayout {
  static constexpr std::size_t kHead = 0;
  static constexpr std::size_t kTail = 64;
  static constexpr std::size_t kSizes = 128;
  static std::size_t ring_offset(std::uint32_t depth) { return (kSizes + 4u * depth + 255) / 256 * 256; }
  static std::size_t bytes(std::size_t slot_bytes, std::uint32_t depth) {
    return ring_offset(depth) + slot_bytes * depth;
  }
};

// One rank's arena for one (peer, channel): the ring the peer (or the proxy)
// writes into, its head (the writer's sent count) and tail (the reader's
// received count of the other direction, written by the peer).
class Arena {
 public:
  Arena(std::size_t slot_bytes, std::uint32_t depth, std::uint64_t base)
      : depth_(depth), mem_(ArenaLayout::bytes(slot_bytes, depth)), shadow_(depth, kNoSize) {
    *head() = base;
    *tail() = base;
    for (std::uint32_t i = 0; i < depth; ++i) sizes()[i] = kNoSize;
  }
  std::uint64_t* head() const { return reinterpret_cast<std::uint64_t*>(mem_.data() + ArenaLayout::kHead); }
  std::uint64_t* tail() const { return reinterpret_cast<std::uint64_t*>(mem_.data() + ArenaLayout::kTail); }
  std::uint32_t* sizes() const { return reinterpret_cast<std::uint32_t*>(mem_.data() + ArenaLayout::kSizes); }
  std::byte* ring() const { return mem_.data() + ArenaLayout::ring_offset(depth_); }
  // Test-only, not part of the layout: bytes of each slot's message as its
  // sender cut it (direct connections).
  std::uint32_t* shadow() { return shadow_.data(); }

 private:
  std::uint32_t depth_;
  Mem mem_;
  std::vector<std::uint32_t> shadow_;
};

inline std::uint64_t load_acquire(const std::uint64_t* p) {
  return std::atomic_ref<std::uint64_t>(*const_cast<std::uint64_t*>(p)).load(std::memory_order_acquire);
}
inline void store_release(std::uint64_t* p, std::uint64_t v) {
  std::atomic_ref<std::uint64_t>(*p).store(v, std::memory_order_release);
}

// device_links.cc's fill(), with the arenas' pointers.
inline void fill(DeviceConn& c, Arena& local, Arena& remote, bool proxied) {
  c.recv_ring = local.ring();
  c.recv_head = local.head();
  c.recv_tail_remote = remote.tail();
  c.send_ring_remote = remote.ring();
  c.send_head_remote = remote.head();
  c.send_tail = local.tail();
  c.send_sizes_remote = proxied ? remote.sizes() : nullptr;
}

// One rank's link to one peer on one channel (device_links.cc's Link).
struct Link {
  std::unique_ptr<Arena> mine;        // the ring the peer (or the proxy) writes into
  std::unique_ptr<Arena> proxy_side;  // network: the ring the proxy drains
  Mem progress{2 * sizeof(std::uint64_t)};  // "device memory": sent, received
  DeviceConn conn;
  bool proxied = false;
  // Test-only: where this end records each sent message's bytes (null when proxied).
  std::uint32_t* shadow_send = nullptr;
  std::uint64_t* words() const { return reinterpret_cast<std::uint64_t*>(progress.data()); }
};

// What the emulated kernel checks on a received message, per conn (test-only).
struct ConnCheck {
  std::uint32_t* shadow_send = nullptr;        // sender side: record the message's bytes here
  const std::uint32_t* recv_sizes = nullptr;   // receiver side: the bytes of each slot's message
};

// ---------------------------------------------------------------------------
// The kernel, emulated (channel_kernel.cuh, one block = one thread here).

// detail::wait_at_least, with yields and short sleeps for __nanosleep (the
// machine may have fewer cores than there are channel threads) and the test's
// stop flag besides the abort flag.
inline DeviceError wait_at_least(const std::uint64_t* flag, std::uint64_t value, const DeviceWork& w,
                          const std::atomic<bool>& stop) {
  const auto start = Clock::now();
  for (unsigned spins = 0;; ++spins) {
    if (load_acquire(flag) >= value) return DeviceError::None;
    if ((spins & 15) == 15) {
      if ((w.abort != nullptr && *w.abort != 0) || stop.load(std::memory_order_relaxed))
        return DeviceError::Aborted;
      if (w.timeout_ns != 0 &&
          static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                         Clock::now() - start)
                                         .count()) > w.timeout_ns)
        return DeviceError::Timeout;
    }
    // Yield first (the peer is likely mid-piece); a long wait sleeps a little,
    // so that 16 waiting threads leave 2 cores to the ones with work.
    if (spins < 256) std::this_thread::yield();
    else std::this_thread::sleep_for(std::chrono::microseconds(10));
  }
}

inline char* address(const DeviceWork& w, int buffer, std::uint64_t elem, std::size_t esize) {
  return static_cast<char*>(w.buffers[buffer]) + elem * esize;
}

// channel_kernel<T, Op>(batch) for one block. Returns "" or what went wrong
// (the status is filled as the kernel fills it on a failed wait).
inline std::string emulate_channel(const DeviceWork& w, DataType dtype, ReduceOp op,
                            const std::vector<ConnCheck>& checks, const std::atomic<bool>& stop) {
  std::uint64_t sent[kMaxConns], received[kMaxConns];
  if (w.num_conns > kMaxConns) return "more conns than kMaxConns";
  for (int i = 0; i < w.num_conns; ++i) {
    sent[i] = w.conns[i].progress[0];
    received[i] = w.conns[i].progress[1];
  }
  const std::size_t esize = dtype_size(dtype);
  const std::uint64_t piece = w.slot_bytes / esize;
  for (int s = 0; s < w.num_steps; ++s) {
    const DeviceStep step = w.steps[s];
    const auto kind = static_cast<StepKind>(step.kind);
    const int rc = step.recv_conn, sc = step.send_conn;
    const int divisor = step.finalize ? w.divisor : 1;
    for (std::uint64_t done = 0; done < step.count; done += piece) {
      const std::uint64_t n = step.count - done < piece ? step.count - done : piece;
      DeviceError err = DeviceError::None;
      int conn = -1;
      bool for_slot = false;  // test-only: which wait gave up (rc may equal sc)
      if (rc >= 0) {
        conn = rc;
        err = wait_at_least(w.conns[rc].recv_head, received[rc] + 1, w, stop);
      }
      if (err == DeviceError::None && sc >= 0 && sent[sc] + 1 > w.depth) {
        conn = sc;
        for_slot = true;
        err = wait_at_least(w.conns[sc].send_tail, sent[sc] + 1 - w.depth, w, stop);
      }
      if (err != DeviceError::None) {
        w.status->error = static_cast<int>(err);
        w.status->step = s;
        w.status->peer_conn = conn;
        return std::string(err == DeviceError::Timeout ? "timeout" : "aborted") +
               " waiting in step " + std::to_string(s) + " piece at " + std::to_string(done) +
               " on conn " + std::to_string(conn) + (for_slot ? " (free slot)" : " (message)");
      }

      const char* msg = rc >= 0 ? static_cast<const char*>(w.conns[rc].recv_ring) +
                                      (received[rc] % w.depth) * w.slot_bytes
                                : nullptr;
      char* slot = sc >= 0 ? static_cast<char*>(w.conns[sc].send_ring_remote) +
                                 (sent[sc] % w.depth) * w.slot_bytes
                           : nullptr;
      // Test-only: the message is the piece this end expects.
      if (rc >= 0 && checks[static_cast<std::size_t>(rc)].recv_sizes != nullptr) {
        const std::uint32_t got = checks[static_cast<std::size_t>(rc)].recv_sizes[received[rc] % w.depth];
        if (got != n * esize) {
          return "step " + std::to_string(s) + " piece at " + std::to_string(done) + ": received a " +
                 std::to_string(got) + " B message, the step's piece is " + std::to_string(n * esize) +
                 " B (the ends cut the stream differently)";
        }
      }
      const char* src = address(w, step.src_buffer, step.src_offset + done, esize);
      char* dst = address(w, step.dst_buffer, step.dst_offset + done, esize);
      reduce::ReduceCopyArgs r;
      r.dtype = dtype;
      r.op = op;  // Avg reduces as Sum; the divisor finalizes (as executor.cc)
      r.count = n;
      r.divisor = divisor;
      switch (kind) {
        case StepKind::Send: r.in0 = src; r.out0 = slot; break;
        case StepKind::Recv: r.in0 = msg; r.out0 = dst; break;
        case StepKind::RecvReduce: r.in0 = msg; r.in1 = src; r.out0 = dst; break;
        case StepKind::RecvReduceSend: r.in0 = msg; r.in1 = src; r.out0 = slot; break;
        case StepKind::RecvCopySend: r.in0 = msg; r.out0 = dst; r.out1 = slot; break;
        case StepKind::RecvReduceCopySend: r.in0 = msg; r.in1 = src; r.out0 = dst; r.out1 = slot; break;
        case StepKind::Copy: r.in0 = src; r.out0 = dst; break;
        case StepKind::Reduce: r.in0 = dst; r.in1 = src; r.out0 = dst; break;
        default: return "step " + std::to_string(s) + ": unknown kind " + std::to_string(step.kind);
      }
      // An in-place Copy with nothing to finalize has nothing to do.
      if (!(kind == StepKind::Copy && r.in0 == r.out0 && divisor <= 1)) reduce::reduce_copy(r);

      if (rc >= 0) store_release(w.conns[rc].recv_tail_remote, ++received[rc]);
      if (sc >= 0) {
        if (w.conns[sc].send_sizes_remote != nullptr)  // a proxy peer: the network needs lengths
          w.conns[sc].send_sizes_remote[sent[sc] % w.depth] = static_cast<std::uint32_t>(n * esize);
        if (std::uint32_t* sh = checks[static_cast<std::size_t>(sc)].shadow_send)  // test-only
          sh[sent[sc] % w.depth] = static_cast<std::uint32_t>(n * esize);
        store_release(w.conns[sc].send_head_remote, ++sent[sc]);
        g_messages.fetch_add(1, std::memory_order_relaxed);
      }
    }
  }
  for (int i = 0; i < w.num_conns; ++i) {
    w.conns[i].progress[0] = sent[i];
    w.conns[i].progress[1] = received[i];
  }
  return "";
}

// ---------------------------------------------------------------------------
// A world: n ranks' connections (made on demand, kept across runs) and,
// optionally, ranks 0 and 1 talking through host proxies.

class World {
 public:
  World(int n, std::size_t slot_bytes, std::uint32_t depth, std::uint64_t base = 0,
        bool proxy01 = false)
      : n_(n), slot_bytes_(slot_bytes), depth_(depth), base_(base) {
    for (int r = 0; r < n; ++r) abort_.push_back(std::make_unique<volatile int>(0));
    if (proxy01) {
      auto nets = transport::make_loopback_transports(2, slot_bytes, static_cast<int>(depth));
      for (int r = 0; r < 2; ++r)
        proxies_.push_back(std::make_unique<HostProxy>(std::move(nets[static_cast<std::size_t>(r)]),
                                                       slot_bytes, depth, abort_[static_cast<std::size_t>(r)].get()));
    }
  }
  ~World() { proxies_.clear(); }  // the proxies poll the arenas: stop them first
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int size() const { return n_; }
  std::size_t slot_bytes() const { return slot_bytes_; }
  // Test-only: edits each channel's encoding before it runs (negative controls).
  void set_mutator(std::function<void(int rank, int channel, EncodedChannel&)> m) { mutate_ = std::move(m); }
  void set_timeout(double seconds) { timeout_s_ = seconds; }
  bool proxied(int r, int p) const { return !proxies_.empty() && r != p && r < 2 && p < 2; }

  Link& link(int r, int p, int c) {
    connect(r, p, c);
    return *links_.at({r, p, c});
  }

  // Runs one Plan per rank (plans[r], buffers[r] = send, recv, scratch) as the
  // device executor would: encode, connect, one emulated block per non-empty
  // channel, all at once. Returns the problems.
  std::vector<std::string> run(const std::vector<plan::Plan>& plans,
                               const std::vector<std::array<void*, 3>>& buffers) {
    std::vector<std::string> problems;
    const DataType dtype = plans.at(0).args.dtype;
    const ReduceOp op = plans[0].args.op;
    const std::size_t esize = dtype_size(dtype);
    const std::uint64_t piece = slot_bytes_ / esize;

    struct Job {
      int rank = 0, channel = 0;
      EncodedChannel enc;
      std::vector<DeviceConn> conns;  // copied, as into device memory
      std::vector<ConnCheck> checks;
      DeviceWork work;
      DeviceStatus status;
      std::string result;
    };
    std::vector<std::unique_ptr<Job>> jobs;
    // Pieces each (rank, peer, channel) must send and receive, from the Plans.
    std::map<std::tuple<int, int, int>, std::uint64_t> will_send, will_recv;
    for (int r = 0; r < n_; ++r) {
      const plan::Plan& p = plans[static_cast<std::size_t>(r)];
      for (std::size_t c = 0; c < p.channels.size(); ++c) {
        auto job = std::make_unique<Job>();
        job->rank = r;
        job->channel = static_cast<int>(c);
        try {
          job->enc = exec::gpu::encode_channel(p.channels[c]);
        } catch (const std::exception& e) {
          problems.push_back("rank " + std::to_string(r) + " channel " + std::to_string(c) +
                             ": encode_channel: " + e.what());
          continue;
        }
        if (mutate_) mutate_(r, static_cast<int>(c), job->enc);
        for (const plan::Step& s : p.channels[c].steps) {
          const std::uint64_t pieces = (s.count() + piece - 1) / piece;
          if (plan::sends(s.kind)) will_send[{r, s.send_peer, static_cast<int>(c)}] += pieces;
          if (plan::receives(s.kind)) will_recv[{r, s.recv_peer, static_cast<int>(c)}] += pieces;
        }
        if (job->enc.steps.empty()) continue;  // a channel with nothing to do launches no block
        for (const int peer : job->enc.peers) {
          Link& l = link(r, peer, job->channel);
          job->conns.push_back(l.conn);
          ConnCheck k;
          k.shadow_send = l.shadow_send;
          k.recv_sizes = l.proxied ? l.mine->sizes() : l.mine->shadow();
          job->checks.push_back(k);
        }
        DeviceWork& w = job->work;
        w.steps = job->enc.steps.data();
        w.num_steps = static_cast<int>(job->enc.steps.size());
        w.conns = job->conns.data();
        w.num_conns = static_cast<int>(job->conns.size());
        for (int b = 0; b < 3; ++b) w.buffers[b] = buffers[static_cast<std::size_t>(r)][static_cast<std::size_t>(b)];
        w.slot_bytes = slot_bytes_;
        w.depth = depth_;
        w.divisor = op == ReduceOp::Avg ? p.args.nranks : 1;  // as stream_executor.cc
        w.timeout_ns = static_cast<std::uint64_t>(timeout_s_ * 1e9);
        w.abort = abort_[static_cast<std::size_t>(r)].get();
        w.status = &job->status;
        jobs.push_back(std::move(job));
      }
    }
    if (!problems.empty()) return problems;

    // Counters before, per link.
    std::map<std::tuple<int, int, int>, std::pair<std::uint64_t, std::uint64_t>> before;
    for (const auto& [key, l] : links_) before[key] = {l->words()[0], l->words()[1]};

    for (auto& p : proxies_) p->kick();
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    threads.reserve(jobs.size());
    for (auto& j : jobs) {
      threads.emplace_back([&, job = j.get()] {
        try {
          job->result = emulate_channel(job->work, dtype, op, job->checks, stop);
        } catch (const std::exception& e) {
          job->result = std::string("threw: ") + e.what();
        }
        if (!job->result.empty()) stop = true;
      });
    }
    for (auto& t : threads) t.join();
    for (const auto& j : jobs) {
      if (j->result.empty()) continue;
      const plan::Plan& p = plans[static_cast<std::size_t>(j->rank)];
      std::string what = "rank " + std::to_string(j->rank) + " channel " + std::to_string(j->channel) + ": " +
                         j->result;
      if (j->status.step >= 0) {
        const auto& steps = p.channels[static_cast<std::size_t>(j->channel)].steps;
        what += " [" + plan::describe(steps[static_cast<std::size_t>(j->status.step)]) + "]";
      }
      problems.push_back(what);
    }
    for (std::size_t r = 0; r < proxies_.size(); ++r) {
      if (!proxies_[r]->error().empty()) problems.push_back("proxy of rank " + std::to_string(r) + ": " + proxies_[r]->error());
    }
    if (!problems.empty()) return problems;

    // Every link's counters: grew by what the Plans send, and agree across ends.
    for (const auto& [key, l] : links_) {
      const auto [r, p, c] = key;
      const Link& other = *links_.at({p, r, c});
      const std::uint64_t sent = l->words()[0], received = l->words()[1];
      const std::uint64_t want_sent = before[key].first + lookup(will_send, key);
      const std::uint64_t want_recv = before[key].second + lookup(will_recv, key);
      std::ostringstream os;
      os << "link rank " << r << " -> " << p << " channel " << c << ": ";
      if (sent != want_sent) os << "sent " << sent << ", the plans send " << want_sent << "; ";
      if (received != want_recv) os << "received " << received << ", the plans receive " << want_recv << "; ";
      if (sent != other.words()[1]) os << "sent " << sent << " but the peer received " << other.words()[1] << "; ";
      if (!l->proxied) {
        // The counters in the peer's arena are this end's.
        if (load_acquire(other.mine->head()) != sent) os << "head in the peer's arena " << *other.mine->head() << "; ";
        if (load_acquire(other.mine->tail()) != received) os << "tail in the peer's arena " << *other.mine->tail() << "; ";
      } else {
        if (load_acquire(l->proxy_side->head()) != sent) os << "head in the proxy-side arena " << *l->proxy_side->head() << "; ";
        if (load_acquire(l->proxy_side->tail()) != received) os << "tail in the proxy-side arena " << *l->proxy_side->tail() << "; ";
      }
      const std::string s = os.str();
      if (s.find(';') != std::string::npos) problems.push_back(s);
    }
    return problems;
  }

 private:
  static std::uint64_t lookup(const std::map<std::tuple<int, int, int>, std::uint64_t>& m,
                              const std::tuple<int, int, int>& k) {
    auto it = m.find(k);
    return it == m.end() ? 0 : it->second;
  }

  // Both ends of (r, p, c), as DeviceLinks::connect and exchange make them.
  void connect(int r, int p, int c) {
    if (links_.count({r, p, c}) != 0) return;
    if (r < 0 || p < 0 || r >= n_ || p >= n_) throw std::runtime_error("link to a rank out of range");
    auto make = [&](int a, int b) {
      auto l = std::make_unique<Link>();
      l->words()[0] = l->words()[1] = base_;
      l->mine = std::make_unique<Arena>(slot_bytes_, depth_, base_);
      l->proxied = proxied(a, b);
      if (l->proxied) l->proxy_side = std::make_unique<Arena>(slot_bytes_, depth_, base_);
      links_[{a, b, c}] = std::move(l);
    };
    make(r, p);
    if (p != r) make(p, r);
    for (const auto& [a, b] : {std::pair{r, p}, std::pair{p, r}}) {
      Link& mine = *links_.at({a, b, c});
      Link& theirs = *links_.at({b, a, c});
      mine.conn.progress = mine.words();
      if (mine.proxied) {
        fill(mine.conn, *mine.mine, *mine.proxy_side, true);
        Arena& in = *mine.mine;
        Arena& out = *mine.proxy_side;
        HostProxy& proxy = *proxies_.at(static_cast<std::size_t>(a));
        proxy.add_send(b, c, ProxyRing{out.ring(), out.sizes(), out.head(), in.tail()});
        proxy.add_recv(b, c, ProxyRing{in.ring(), in.sizes(), in.head(), out.tail()});
      } else {
        fill(mine.conn, *mine.mine, *theirs.mine, false);
        mine.shadow_send = theirs.mine->shadow();
      }
      if (a == b) break;
    }
  }

  int n_;
  std::size_t slot_bytes_;
  std::uint32_t depth_;
  std::uint64_t base_;
  double timeout_s_ = kWaitTimeoutS;
  std::function<void(int, int, EncodedChannel&)> mutate_;
  std::vector<std::unique_ptr<volatile int>> abort_;
  std::map<std::tuple<int, int, int>, std::unique_ptr<Link>> links_;
  std::vector<std::unique_ptr<HostProxy>> proxies_;  // declared last: destroyed first
};

}  // namespace colossus::test::emu
