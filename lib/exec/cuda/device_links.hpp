// device_links.hpp: a rank's device connections, one per (peer, channel).
//
// A link is both directions of the FIFO protocol (device_plan.hpp) between
// this rank and one peer on one channel: this rank's Arena (the ring the
// peer writes into) and the peer's, opened here (transports/cuda_ipc). For a
// Network peer the "peer's arena" is a second pinned host arena of this rank
// that the host proxy stands behind (host_proxy.hpp), so the kernel sees the
// same DeviceConn either way.
//
// connect() makes the links a Plan needs that do not exist yet (all or none:
// a failed exchange leaves no half-made link behind). For peers on
// this host it exchanges ArenaHandles over the host transport's control
// channel: one message to each new peer, then one from each, so two ranks
// that connect the same call never wait on each other in a cycle (every
// rank builds the same Plans in the same order, so both ends of a link ask
// for it in the same call). Every wait has the communicator's deadline.
//
// Thread safety: the owner's thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <utility>
#include <vector>

#include "exec/cuda/device_plan.hpp"
#include "exec/cuda/host_proxy.hpp"
#include "exec/cuda/stream_executor.hpp"
#include "transports/cuda_ipc/arena.hpp"

namespace colossus::exec::gpu {

// The host transport channel that carries handle exchanges (far above any
// Plan's channels, which the host executor uses on the same transport).
inline constexpr int kControlChannel = 1000;

class DeviceLinks {
 public:
  // `proxy` carries Network peers (may be null when there are none);
  // `stream` (non-blocking, the owner's) zeroes new memory.
  DeviceLinks(const StreamSetup& setup, HostProxy* proxy, cudaStream_t stream);
  ~DeviceLinks();
  DeviceLinks(const DeviceLinks&) = delete;
  DeviceLinks& operator=(const DeviceLinks&) = delete;

  // Collective with the peers named: makes every (peer, channel) usable.
  void connect(const std::vector<std::pair<int, int>>& needed);
  // The DeviceConn to copy into a launch (pointers into device-visible memory).
  const DeviceConn& conn(int peer, int channel) const;
  // After this rank's last kernel finished: waits (up to timeout_s) until
  // every peer has acknowledged every message this rank sent, so that no
  // peer (or the proxy) stores into this rank's arenas any more and they
  // may be freed. False, with a warning, at the deadline.
  bool quiesce(double timeout_s);
  // Unmaps the peers' arenas, tells each CUDA IPC peer so, and waits (up to
  // timeout_s; 0: not at all) for theirs: an exported allocation must not be
  // freed while another process still has it mapped. Then frees ours.
  void close(double timeout_s);

 private:
  struct Link;
  void exchange(const std::vector<std::pair<int, int>>& fresh);
  void send_blob(int peer, const std::string& blob);
  std::string recv_blob(int peer);

  const StreamSetup& setup_;
  HostProxy* proxy_;
  cudaStream_t stream_;
  std::map<std::pair<int, int>, std::unique_ptr<Link>> links_;
  // Links of a failed exchange: peers may hold (and write) them, so they
  // live until close().
  std::vector<std::unique_ptr<Link>> graveyard_;
  std::map<int, std::unique_ptr<transport::SendEndpoint>> control_send_;
  std::map<int, std::unique_ptr<transport::RecvEndpoint>> control_recv_;
};

}  // namespace colossus::exec::gpu
