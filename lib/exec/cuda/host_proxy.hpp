// host_proxy.hpp: the host proxy thread that carries a GPU's network steps.
//
// The device-side executor (channel_kernel.cuh) speaks one FIFO protocol to
// every peer (device_plan.hpp). For a peer on another host there is no peer
// memory to write into, so the "peer" is this proxy: the kernel's rings and
// counters for that connection live in pinned, host-mapped memory of this
// process, and the proxy thread moves each slot between that memory and a
// network Transport (tcp today):
//
//   send direction  kernel writes slot, sizes[slot], then head = ++n (release)
//                   proxy sees head > shipped, copies sizes[slot] bytes into a
//                   transport slot, commits it, then tail = ++shipped (release)
//   recv direction  proxy sees delivered - tail < depth (a free slot), peeks a
//                   transport message, copies it into the slot, releases it,
//                   then head = ++delivered (release); the kernel reads the
//                   slot and advances tail
//
// So a ProxyRing is exactly what DeviceConn points at, and the kernel cannot
// tell the proxy from a peer GPU. GPUDirect RDMA (a later issue) replaces the
// copies with NIC reads and writes of the same slots; the ring interface
// stays. The proxy only touches host memory and a Transport: it builds and is
// tested without CUDA (tests/exec/host_proxy_test.cc).
//
// Progress: one thread per proxy polls every registered ring. After kick()
// (a collective was enqueued) it polls hot, yielding between rounds, for
// kHotPoll; then it backs off with sleeps doubling up to kMaxSleep, so an
// idle communicator costs next to nothing and ranks on few cores progress.
// A transport failure (peer died, socket error) is recorded, sets the abort
// flag (which every kernel wait watches) and stops the proxy; error() says
// what happened.
//
// Thread safety: add_* and kick() from the owner's thread; the rings' memory
// is shared with the GPU under the counters' acquire/release; the Transport
// given to the proxy is used by the proxy thread only (after add_*).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "transports/transport.hpp"

namespace colossus::exec::gpu {

// One direction of one network connection, in host memory the GPU maps.
// Counters only grow (as in DeviceConn); slot i % depth holds message i.
struct ProxyRing {
  std::byte* slots = nullptr;      // depth * slot_bytes
  std::uint32_t* sizes = nullptr;  // depth: bytes of each slot's message (send direction)
  std::uint64_t* head = nullptr;   // messages produced (kernel: send; proxy: recv)
  std::uint64_t* tail = nullptr;   // messages consumed (proxy: send; kernel: recv)
};

class HostProxy {
 public:
  static constexpr std::chrono::milliseconds kHotPoll{50};
  static constexpr std::chrono::microseconds kMaxSleep{1000};

  // `net` carries every registered connection; slot_bytes and depth are the
  // rings' (slot_bytes <= net.slot_bytes()). `abort` (may be null) is set to
  // 1 on a failure. The thread starts at once and idles until a ring moves.
  HostProxy(std::unique_ptr<transport::Transport> net, std::size_t slot_bytes, std::uint32_t depth,
            volatile int* abort);
  ~HostProxy();  // stops and joins the thread
  HostProxy(const HostProxy&) = delete;
  HostProxy& operator=(const HostProxy&) = delete;

  // Registers a ring the kernel produces into, shipped to `peer` on the
  // net's `channel`; and a ring the proxy fills from `peer`'s `channel`.
  // The counters must read 0 (or the values both ends agree on).
  void add_send(int peer, int channel, ProxyRing ring);
  void add_recv(int peer, int channel, ProxyRing ring);

  // A collective that may use the rings was enqueued: poll hot for a while.
  void kick();

  // "" while healthy; else the first failure, e.g. "peer 3 channel 1: peer failed".
  std::string error() const;
  transport::Transport& net() { return *net_; }

 private:
  struct Conn;
  void loop();
  bool progress(Conn& c);  // true when it moved a message
  void fail(const Conn& c, const std::string& what);

  std::unique_ptr<transport::Transport> net_;
  std::size_t slot_bytes_;
  std::uint32_t depth_;
  volatile int* abort_;
  mutable std::mutex mu_;                       // guards pending_, error_
  std::vector<std::unique_ptr<Conn>> pending_;  // added, not yet picked up by the thread
  std::string error_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> kicks_{0};
  std::thread thread_;
};

}  // namespace colossus::exec::gpu
