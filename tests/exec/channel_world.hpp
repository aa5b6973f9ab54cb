// channel_world.hpp: ranks' device connections in host memory, for running
// the channel kernel's loop on CPU threads (device_protocol_test.cc).
//
// World makes each (rank, peer, channel) link on demand, as DeviceLinks
// (lib/exec/cuda/device_links.cc) does, and wires it with the same functions
// (conn_wiring.hpp): both ends direct, or, for ranks 0 and 1 of a "network"
// World, through two real HostProxy instances over a loopback transport.
// What stays here rather than shared with device_links.cc: where the memory
// comes from (cudaMalloc, cuda_ipc arenas and IPC handle exchange there;
// 256-byte aligned host memory here) and the order of the exchange.
// World::run runs one Plan per rank: encode_channel (the real encoder), then
// one CPU thread per non-empty channel running the kernel's loop
// (channel_cpu.hpp), then checks every link's counters.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "colossus/types.hpp"
#include "exec/channel_cpu.hpp"
#include "exec/cuda/conn_wiring.hpp"
#include "exec/cuda/device_plan.hpp"
#include "exec/cuda/host_proxy.hpp"
#include "plan/plan.hpp"
#include "transports/loopback/loopback.hpp"

namespace colossus::test::emu {

using exec::gpu::ArenaPointers;
using exec::gpu::DeviceConn;
using exec::gpu::DeviceStatus;
using exec::gpu::DeviceStep;
using exec::gpu::EncodedChannel;
using exec::gpu::HostProxy;
using exec::gpu::kMaxConns;
using exec::gpu::proxy_recv_ring;
using exec::gpu::proxy_send_ring;
using exec::gpu::wire_conn;

// Every wait of a channel gives up after this long (DeviceWork::timeout_ns).
inline constexpr double kWaitTimeoutS = 20;
inline constexpr std::uint32_t kNoSize = 0xdeadbeef;

// Zeroed (or `fill`ed) host memory aligned like cudaMalloc's (256 B).
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

// One rank's arena for one (peer, channel): the ring the peer (or the proxy)
// writes into, its head (the writer's sent count) and tail (the received
// count of the other direction, written by the peer), each counter on its own
// cache line, and a size per slot. (Laid out its own way: the kernel and the
// proxy see only the pointers, conn_wiring.hpp.)
class Arena {
 public:
  Arena(std::size_t slot_bytes, std::uint32_t depth, std::uint64_t base)
      : counters_(128),
        sizes_(4 * std::size_t{depth}),
        ring_(slot_bytes * depth),
        shadow_(depth, kNoSize) {
    *head() = base;
    *tail() = base;
    for (std::uint32_t i = 0; i < depth; ++i) sizes()[i] = kNoSize;
  }
  std::uint64_t* head() const { return reinterpret_cast<std::uint64_t*>(counters_.data()); }
  std::uint64_t* tail() const { return reinterpret_cast<std::uint64_t*>(counters_.data() + 64); }
  std::uint32_t* sizes() const { return reinterpret_cast<std::uint32_t*>(sizes_.data()); }
  ArenaPointers pointers() const { return ArenaPointers{ring_.data(), head(), tail(), sizes()}; }
  // Test-only: bytes of each slot's message as its sender cut it (direct connections).
  std::uint32_t* shadow() { return shadow_.data(); }

 private:
  Mem counters_, sizes_, ring_;
  std::vector<std::uint32_t> shadow_;
};

inline std::uint64_t load_acquire(const std::uint64_t* p) {
  return std::atomic_ref<std::uint64_t>(*const_cast<std::uint64_t*>(p))
      .load(std::memory_order_acquire);
}

// One rank's link to one peer on one channel (device_links.cc's Link).
struct Link {
  std::unique_ptr<Arena> mine;              // the ring the peer (or the proxy) writes into
  std::unique_ptr<Arena> proxy_side;        // network: the ring the proxy drains
  Mem progress{2 * sizeof(std::uint64_t)};  // "device memory": sent, received
  DeviceConn conn;
  bool proxied = false;
  // Test-only: where this end records each sent message's bytes (null when proxied).
  std::uint32_t* shadow_send = nullptr;
  std::uint64_t* words() const { return reinterpret_cast<std::uint64_t*>(progress.data()); }
};

// A world: n ranks' connections (made on demand, kept across runs) and,
// optionally, ranks 0 and 1 talking through host proxies.

class World {
 public:
  World(int n, std::size_t slot_bytes, std::uint32_t depth, std::uint64_t base = 0,
        bool proxy01 = false);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int size() const { return n_; }
  std::size_t slot_bytes() const { return slot_bytes_; }
  // Test-only: edits each channel's encoding before it runs (negative controls).
  void set_mutator(std::function<void(int rank, int channel, EncodedChannel&)> m) {
    mutate_ = std::move(m);
  }
  void set_timeout(double seconds) { timeout_s_ = seconds; }
  bool proxied(int r, int p) const { return !proxies_.empty() && r != p && r < 2 && p < 2; }

  Link& link(int r, int p, int c) {
    connect(r, p, c);
    return *links_.at({r, p, c});
  }

  // Runs one Plan per rank (plans[r], buffers[r] = send, recv, scratch) as the
  // device executor would: encode, connect, one CPU thread per non-empty
  // channel running the kernel's loop, all at once. Returns the problems.
  std::vector<std::string> run(const std::vector<plan::Plan>& plans,
                               const std::vector<std::array<void*, 3>>& buffers);

 private:
  using Key = std::tuple<int, int, int>;  // rank, peer, channel
  // Both ends of (r, p, c), as DeviceLinks::connect and exchange make them.
  void connect(int r, int p, int c);
  // Every link's counters: grew by what the Plans send, and agree across ends.
  std::vector<std::string> check_counters(
      const std::map<Key, std::pair<std::uint64_t, std::uint64_t>>& before,
      const std::map<Key, std::uint64_t>& will_send,
      const std::map<Key, std::uint64_t>& will_recv) const;

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
