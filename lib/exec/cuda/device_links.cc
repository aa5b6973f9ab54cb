// device_links.cc: making and exchanging device connections (device_links.hpp).
#include "exec/cuda/device_links.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "base/logging.hpp"
#include "colossus/error.hpp"
#include "exec/cuda/conn_wiring.hpp"

namespace colossus::exec::gpu {

using transport::cuda_ipc::Arena;
using transport::cuda_ipc::ArenaHandle;
using transport::cuda_ipc::ArenaKind;
using transport::cuda_ipc::ArenaView;
using transport::cuda_ipc::RemoteArena;

struct DeviceLinks::Link {
  std::unique_ptr<Arena> mine;          // the ring the peer (or the proxy) writes into
  std::unique_ptr<Arena> proxy_side;    // Network: the ring the proxy drains
  std::unique_ptr<RemoteArena> theirs;  // a GPU peer's arena, mapped here
  std::uint64_t* progress = nullptr;    // device memory: sent, received
  DeviceConn conn;
  ~Link() { cudaFree(progress); }
};

namespace {

// One entry of an exchange message: which channel, and the arena to write into.
struct Offer {
  std::int32_t channel;
  ArenaHandle handle;
};

ArenaPointers pointers(const ArenaView& v, std::uint32_t depth) {
  return ArenaPointers{v.ring(depth), v.head(), v.tail(), v.sizes()};
}

[[noreturn]] void fail_cuda(const std::string& what, cudaError_t e) {
  throw Error(ErrorCode::CudaError,
              "device links: " + what + ": " + transport::cuda_ipc::cuda_error_text(e));
}

}  // namespace

DeviceLinks::DeviceLinks(const StreamSetup& setup, HostProxy* proxy, cudaStream_t stream)
    : setup_(setup), proxy_(proxy), stream_(stream) {}

DeviceLinks::~DeviceLinks() = default;

const DeviceConn& DeviceLinks::conn(int peer, int channel) const {
  auto it = links_.find({peer, channel});
  if (it == links_.end()) {
    throw Error(ErrorCode::InternalError, "device links: no link to rank " + std::to_string(peer) +
                                              " on channel " + std::to_string(channel));
  }
  return it->second->conn;
}

void DeviceLinks::connect(const std::vector<std::pair<int, int>>& needed) {
  std::vector<std::pair<int, int>> fresh, exchanged;
  for (const auto& key : needed) {
    if (links_.count(key) == 0 && std::find(fresh.begin(), fresh.end(), key) == fresh.end())
      fresh.push_back(key);
  }
  std::sort(fresh.begin(), fresh.end());
  for (const auto& [peer, channel] : fresh) {
    auto link = std::make_unique<Link>();
    if (cudaError_t e =
            cudaMalloc(reinterpret_cast<void**>(&link->progress), 2 * sizeof(std::uint64_t));
        e != cudaSuccess)
      fail_cuda("cudaMalloc", e);
    cudaError_t e = cudaMemsetAsync(link->progress, 0, 2 * sizeof(std::uint64_t), stream_);
    if (e == cudaSuccess) e = cudaStreamSynchronize(stream_);
    if (e != cudaSuccess) fail_cuda("cudaMemsetAsync", e);
    const bool network = setup_.reach.at(static_cast<std::size_t>(peer)) == PeerReach::Network;
    if (network) {
      if (proxy_ == nullptr) {
        throw Error(ErrorCode::InternalError, "device links: rank " + std::to_string(peer) +
                                                  " needs the network, and no proxy runs");
      }
      link->mine =
          std::make_unique<Arena>(ArenaKind::HostMapped, setup_.slot_bytes, setup_.depth, stream_);
      link->proxy_side =
          std::make_unique<Arena>(ArenaKind::HostMapped, setup_.slot_bytes, setup_.depth, stream_);
      link->conn =
          wire_conn(pointers(link->mine->device_view(), setup_.depth),
                    pointers(link->proxy_side->device_view(), setup_.depth), true, link->progress);
    } else {
      link->mine =
          std::make_unique<Arena>(ArenaKind::Device, setup_.slot_bytes, setup_.depth, stream_);
      link->conn.progress = link->progress;  // the rest once the peer's arena is known
      exchanged.emplace_back(peer, channel);
    }
    links_[{peer, channel}] = std::move(link);
  }
  try {
    if (!exchanged.empty()) exchange(exchanged);
  } catch (...) {
    // Offers may be out: peers may write into these arenas. Keep them.
    for (const auto& key : fresh) {
      graveyard_.push_back(std::move(links_.at(key)));
      links_.erase(key);
    }
    throw;
  }
  // The proxy polls only rings of links that exist for good.
  for (const auto& [peer, channel] : fresh) {
    const Link& link = *links_.at({peer, channel});
    if (!link.proxy_side) continue;
    const ArenaPointers in = pointers(link.mine->host_view(), setup_.depth);
    const ArenaPointers out = pointers(link.proxy_side->host_view(), setup_.depth);
    proxy_->add_send(peer, channel, proxy_send_ring(in, out));
    proxy_->add_recv(peer, channel, proxy_recv_ring(in, out));
  }
  if (!fresh.empty()) {
    CLOG_SUB(Trace, P2P) << "device links: " << fresh.size() << " new (" << exchanged.size()
                         << " over cuda_ipc, " << fresh.size() - exchanged.size()
                         << " over the proxy)";
  }
}

// Offers go out to every peer before any answer is awaited: a rank never
// blocks on a peer that is itself blocked sending to a third.
void DeviceLinks::exchange(const std::vector<std::pair<int, int>>& fresh) {
  std::map<int, std::vector<int>> by_peer;
  for (const auto& [peer, channel] : fresh) by_peer[peer].push_back(channel);
  // Every offer made and sized before the first goes out: a refusal here
  // leaves no peer with half an exchange.
  std::map<int, std::string> blobs;
  for (const auto& [peer, channels] : by_peer) {
    std::string& blob = blobs[peer];
    for (const int c : channels) {
      Offer o{};
      o.channel = c;
      o.handle = links_.at({peer, c})->mine->handle();
      blob.append(reinterpret_cast<const char*>(&o), sizeof o);
    }
    if (blob.size() > setup_.control->slot_bytes()) {
      throw Error(ErrorCode::InvalidArgument,
                  "device links: connection offers of " + std::to_string(blob.size()) +
                      " B exceed the transport slot of " +
                      std::to_string(setup_.control->slot_bytes()) +
                      " B; raise COLOSSUS_SLOT_BYTES or use fewer channels");
    }
  }
  for (const auto& [peer, blob] : blobs) send_blob(peer, blob);
  for (const auto& [peer, channels] : by_peer) {
    const std::string blob = recv_blob(peer);
    if (blob.size() != channels.size() * sizeof(Offer)) {
      throw Error(ErrorCode::InternalError,
                  "device links: rank " + std::to_string(peer) + " offered " +
                      std::to_string(blob.size() / sizeof(Offer)) +
                      " connections, this rank expected " + std::to_string(channels.size()) +
                      " (the ranks' Plans differ)");
    }
    for (std::size_t i = 0; i < channels.size(); ++i) {
      Offer o;
      std::memcpy(&o, blob.data() + i * sizeof o, sizeof o);
      auto it = links_.find({peer, o.channel});
      if (it == links_.end() || it->second->theirs) {
        throw Error(ErrorCode::InternalError, "device links: rank " + std::to_string(peer) +
                                                  " offered channel " + std::to_string(o.channel) +
                                                  ", which this rank did not ask for");
      }
      Link& link = *it->second;
      link.theirs = std::make_unique<RemoteArena>(o.handle);
      link.conn = wire_conn(pointers(link.mine->device_view(), setup_.depth),
                            pointers(link.theirs->view(), setup_.depth), false, link.progress);
    }
  }
}

namespace {
template <class Try>
void wait_for(transport::Transport& t, double timeout_s, int peer, const char* what, Try attempt) {
  using Clock = transport::Clock;
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(timeout_s));
  for (;;) {
    const std::uint32_t seen = t.doorbell().epoch();
    const transport::Status st = attempt();
    if (st == transport::Status::Ok) return;
    if (st != transport::Status::Pending) {
      throw Error(ErrorCode::RemoteError, std::string("device links: ") + what + " rank " +
                                              std::to_string(peer) + " failed (peer gone)");
    }
    const auto now = Clock::now();
    if (now >= deadline) {
      throw Error(ErrorCode::Timeout, std::string("device links: ") + what + " rank " +
                                          std::to_string(peer) + ": no progress in " +
                                          std::to_string(timeout_s) + " s (COLOSSUS_TIMEOUT_S)");
    }
    t.doorbell().wait(seen, std::min(deadline, now + std::chrono::milliseconds(10)));
  }
}
}  // namespace

void DeviceLinks::send_blob(int peer, const std::string& blob) {
  // (wait_for is defined above; the control endpoints are made on first use.)
  transport::Transport& t = *setup_.control;
  auto& ep = control_send_[peer];
  if (!ep) ep = t.connect_send(peer, kControlChannel);
  if (blob.size() > ep->slot_bytes()) {
    throw Error(ErrorCode::InternalError, "device links: offers larger than the endpoint's slot");
  }
  void* slot = nullptr;
  wait_for(t, setup_.timeout_s, peer, "sending connection offers to",
           [&] { return ep->try_acquire(&slot); });
  std::memcpy(slot, blob.data(), blob.size());
  if (ep->commit(blob.size()) != transport::Status::Ok) {
    throw Error(ErrorCode::RemoteError,
                "device links: sending to rank " + std::to_string(peer) + " failed");
  }
}

std::string DeviceLinks::recv_blob(int peer) {
  transport::Transport& t = *setup_.control;
  auto& ep = control_recv_[peer];
  if (!ep) ep = t.connect_recv(peer, kControlChannel);
  const void* data = nullptr;
  std::size_t bytes = 0;
  wait_for(t, setup_.timeout_s, peer, "waiting for connection offers from",
           [&] { return ep->try_peek(&data, &bytes); });
  std::string blob(static_cast<const char*>(data), bytes);
  ep->release();
  return blob;
}

bool DeviceLinks::quiesce(double timeout_s) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  for (const auto& [key, link] : links_) {
    std::uint64_t sent = 0;
    if (cudaMemcpyAsync(&sent, link->progress, sizeof sent, cudaMemcpyDeviceToHost, stream_) !=
            cudaSuccess ||
        cudaStreamSynchronize(stream_) != cudaSuccess) {
      return false;  // a broken context: nothing to wait for
    }
    for (;;) {
      std::uint64_t acked = 0;
      if (link->proxy_side) {  // network: the proxy writes our tail in host memory
        acked = std::atomic_ref<std::uint64_t>(*link->mine->host_view().tail())
                    .load(std::memory_order_acquire);
      } else if (cudaMemcpyAsync(&acked, link->mine->device_view().tail(), sizeof acked,
                                 cudaMemcpyDeviceToHost, stream_) != cudaSuccess ||
                 cudaStreamSynchronize(stream_) != cudaSuccess) {
        return false;
      }
      if (acked >= sent) break;
      if (std::chrono::steady_clock::now() > deadline) {
        CLOG(Warn) << "device links: rank " << key.first << " channel " << key.second
                   << " acknowledged " << acked << " of " << sent
                   << " messages by the deadline; freeing the connection anyway";
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return true;
}

void DeviceLinks::close(double timeout_s) {
  std::vector<int> ipc_peers;
  for (auto& [key, link] : links_) {
    if (link->theirs && link->theirs->ipc()) ipc_peers.push_back(key.first);
    link->theirs.reset();
  }
  std::sort(ipc_peers.begin(), ipc_peers.end());
  ipc_peers.erase(std::unique(ipc_peers.begin(), ipc_peers.end()), ipc_peers.end());
  if (timeout_s > 0 && !ipc_peers.empty()) {
    try {
      for (const int peer : ipc_peers) send_blob(peer, "unmapped");
      for (const int peer : ipc_peers) (void)recv_blob(peer);
    } catch (const Error& e) {
      CLOG(Warn) << "device links: closing: " << e.what() << "; freeing the connections anyway";
    }
  }
  links_.clear();
  graveyard_.clear();
}

}  // namespace colossus::exec::gpu
