// conn_wiring.hpp: how a link's arenas become a DeviceConn and proxy rings.
//
// A link (this rank <-> one peer, on one channel) has two arenas, each one
// direction's ring and counters in its receiver's memory (device_plan.hpp):
// `local`, the arena the peer writes into, and `remote`, the one this rank
// writes into (the peer's, or for a network peer a second arena of this rank
// that the host proxy drains). DeviceLinks (device_links.cc) wires the
// arenas of transports/cuda_ipc this way, the CPU test of the channel loop
// (tests/exec) its host-memory arenas; what an arena's memory looks like
// (cuda_ipc's ArenaLayout) is the transport's, and nobody here depends on it:
// the kernel and the proxy see only these four pointers per arena.
#pragma once

#include <cstddef>
#include <cstdint>

#include "exec/cuda/device_plan.hpp"
#include "exec/cuda/host_proxy.hpp"

namespace colossus::exec::gpu {

// One arena as seen from where it is used (device or host addresses).
struct ArenaPointers {
  std::byte* ring = nullptr;       // depth slots
  std::uint64_t* head = nullptr;   // the writer's sent count
  std::uint64_t* tail = nullptr;   // the writer's received count of the other direction
  std::uint32_t* sizes = nullptr;  // depth entries: bytes per slot (proxied rings)
};

// The kernel's view of the link: receive from `local`, send into `remote`.
// `proxied`: `remote` is drained by the host proxy, which needs lengths.
inline DeviceConn wire_conn(const ArenaPointers& local, const ArenaPointers& remote, bool proxied,
                            std::uint64_t* progress) {
  DeviceConn c;
  c.recv_ring = local.ring;
  c.recv_head = local.head;
  c.recv_tail_remote = remote.tail;
  c.send_ring_remote = remote.ring;
  c.send_head_remote = remote.head;
  c.send_tail = local.tail;
  c.send_sizes_remote = proxied ? remote.sizes : nullptr;
  c.progress = progress;
  return c;
}

// A network link's rings as the host proxy moves them (host addresses):
// `in` is the arena the proxy fills from the network (the kernel's local),
// `out` the one the kernel fills and the proxy ships (the kernel's remote).
inline ProxyRing proxy_send_ring(const ArenaPointers& in, const ArenaPointers& out) {
  return ProxyRing{out.ring, out.sizes, out.head, in.tail};
}
inline ProxyRing proxy_recv_ring(const ArenaPointers& in, const ArenaPointers& out) {
  return ProxyRing{in.ring, in.sizes, in.head, out.tail};
}

}  // namespace colossus::exec::gpu
