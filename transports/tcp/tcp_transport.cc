// tcp_transport.cc: setup (interface, listener, address exchange) and the
// endpoints (slot_ring.hpp: they only move ring indices; the progress
// thread does the I/O).
#include <algorithm>
#include <cerrno>

#include "base/logging.hpp"
#include "bootstrap/interfaces.hpp"
#include "colossus/error.hpp"
#include "transports/tcp/progress.hpp"
#include "transports/tcp/tcp.hpp"

namespace colossus::transport {

namespace {

void validate(const TcpOptions& o) {
  auto bad = [](const std::string& what) {
    throw Error(ErrorCode::InvalidArgument, "tcp: " + what);
  };
  if (o.slot_bytes < 64 || o.slot_bytes > (std::size_t{1} << 30))
    bad("slot_bytes must be in 64..1G");
  if (o.depth < 1 || o.depth > 1024) bad("depth must be in 1..1024");
  if (o.sockets_per_peer < 1 || o.sockets_per_peer > tcp::kMaxSockets) {
    bad("sockets_per_peer must be in 1.." + std::to_string(tcp::kMaxSockets));
  }
  if (!(o.timeout_s > 0)) bad("timeout_s must be positive");
}

}  // namespace

TcpTransport::TcpTransport(bootstrap::OutOfBand& oob, Doorbell& bell, TcpOptions options)
    : rank_(oob.rank()), nranks_(oob.nranks()), bell_(bell), options_(std::move(options)) {
  // Every rank takes part in the allgather even when its own setup failed,
  // so a failure on one rank is an error on all of them, not a hang.
  bootstrap::Fd listener;
  std::string problem;
  try {
    validate(options_);
    const auto candidates = bootstrap::list_interfaces();
    const bootstrap::NetInterface* iface = bootstrap::choose_interface(candidates, options_.ifname);
    if (!iface) {
      std::string have;
      for (const auto& c : candidates) have += (have.empty() ? "" : ", ") + c.name;
      throw Error(ErrorCode::SystemError, "tcp: no up interface matches COLOSSUS_SOCKET_IFNAME=\"" +
                                              options_.ifname +
                                              "\" (up: " + (have.empty() ? "none" : have) + ")");
    }
    interface_ = iface->name;
    listener = bootstrap::listen_on(iface->addr, false, "tcp");  // port 0: the kernel picks one
    const bootstrap::Endpoint bound = bootstrap::local_endpoint(listener.get());
    if (bound.len == 0) {
      throw Error(ErrorCode::SystemError, "tcp: getsockname of the listener on " +
                                              iface->addr.str() + ": " +
                                              bootstrap::errno_text(errno));
    }
    listen_address_ = bound.str();
  } catch (const std::exception& e) {
    problem = e.what();
  }
  const std::vector<std::string> table =
      oob.allgather(problem.empty() ? listen_address_ : "!" + problem);
  std::vector<bootstrap::Endpoint> peers(static_cast<std::size_t>(nranks_));
  for (int r = 0; r < nranks_; ++r) {
    const std::string& entry = table[static_cast<std::size_t>(r)];
    if (!entry.empty() && entry[0] == '!') {
      throw Error(r == rank_ ? ErrorCode::SystemError : ErrorCode::RemoteError,
                  "tcp setup failed on rank " + std::to_string(r) + ": " + entry.substr(1));
    }
    if (!bootstrap::parse_endpoint(entry, &peers[static_cast<std::size_t>(r)])) {
      throw Error(ErrorCode::InternalError, "tcp: rank " + std::to_string(r) +
                                                " published an unusable address \"" + entry + "\"");
    }
  }
  progress_ = std::make_unique<TcpProgress>(rank_, nranks_, oob.job_secret(), bell_, options_,
                                            std::move(listener), std::move(peers));
  CLOG_SUB(Info, Net) << "tcp rank " << rank_ << "/" << nranks_ << ": listening on "
                      << listen_address_ << " (" << interface_ << "), " << options_.sockets_per_peer
                      << " sockets per peer and channel, " << options_.depth << " slots of "
                      << options_.slot_bytes << " B";
}

TcpTransport::~TcpTransport() = default;

const TcpStats& TcpTransport::stats() const { return progress_->stats(); }

void TcpTransport::check_peer(int peer, int channel, const char* call) const {
  if (peer < 0 || peer >= nranks_ || channel < 0 || channel >= tcp::kMaxChannels) {
    throw Error(ErrorCode::InvalidArgument, std::string("tcp ") + call + ": peer " +
                                                std::to_string(peer) + " channel " +
                                                std::to_string(channel) + " out of range");
  }
}

std::unique_ptr<SendEndpoint> TcpTransport::connect_send(int peer, int channel) {
  check_peer(peer, channel, "connect_send");
  TcpProgress* p = progress_.get();
  return std::make_unique<RingSend>(p->send_stream(peer, channel).ring,
                                    [p] { p->wake_if_sleeping(); });
}

std::unique_ptr<RecvEndpoint> TcpTransport::connect_recv(int peer, int channel) {
  check_peer(peer, channel, "connect_recv");
  TcpProgress* p = progress_.get();
  return std::make_unique<RingRecv>(p->recv_stream(peer, channel).ring,
                                    [p] { p->wake_if_sleeping(); });
}

std::unique_ptr<Transport> make_tcp_transport(bootstrap::OutOfBand& oob, Doorbell& bell,
                                              const TcpOptions& options) {
  return std::make_unique<TcpTransport>(oob, bell, options);
}

}  // namespace colossus::transport
