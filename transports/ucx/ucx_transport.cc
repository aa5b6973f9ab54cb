// ucx_transport.cc: setup (UCP context and worker, address exchange) and
// the endpoints (slot_ring.hpp: they only move ring indices; the progress
// thread makes every UCP call).
#include <ucp/api/ucp.h>

#include "base/logging.hpp"
#include "colossus/error.hpp"
#include "transports/ucx/progress.hpp"
#include "transports/ucx/ucx.hpp"

namespace colossus::transport {

namespace {

void validate(const UcxOptions& o) {
  auto bad = [](const std::string& what) {
    throw Error(ErrorCode::InvalidArgument, "ucx: " + what);
  };
  if (o.slot_bytes < 64 || o.slot_bytes > (std::size_t{1} << 30))
    bad("slot_bytes must be in 64..1G");
  if (o.depth < 1 || o.depth > 1024) bad("depth must be in 1..1024");
  if (!(o.timeout_s > 0)) bad("timeout_s must be positive");
}

std::string version() {
  unsigned major = 0, minor = 0, release = 0;
  ucp_get_version(&major, &minor, &release);
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

}  // namespace

bool ucx_available() { return true; }

UcxTransport::UcxTransport(bootstrap::OutOfBand& oob, Doorbell& bell, UcxOptions options)
    : rank_(oob.rank()), nranks_(oob.nranks()), bell_(bell), options_(std::move(options)) {
  // Every rank takes part in the allgather even when its own setup failed,
  // so a failure on one rank is an error on all of them, not a hang.
  std::unique_ptr<ucx::Worker> worker;
  std::string problem;
  try {
    validate(options_);
    worker = std::make_unique<ucx::Worker>(options_, rank_);
  } catch (const std::exception& e) {
    problem = e.what();
  }
  std::vector<std::string> table =
      oob.allgather(problem.empty() ? "+" + worker->address : "!" + problem);
  for (int r = 0; r < nranks_; ++r) {
    std::string& entry = table[static_cast<std::size_t>(r)];
    if (entry.empty() || entry[0] != '+') {
      throw Error(r == rank_ ? ErrorCode::SystemError : ErrorCode::RemoteError,
                  "ucx setup failed on rank " + std::to_string(r) + ": " +
                      (entry.empty() ? std::string("nothing published") : entry.substr(1)));
    }
    entry.erase(0, 1);
  }
  const bool wakes = worker->event_fd >= 0;
  progress_ = std::make_unique<UcxProgress>(rank_, nranks_, bell_, options_, std::move(worker),
                                            std::move(table));
  CLOG_SUB(Info, Net) << "ucx rank " << rank_ << "/" << nranks_ << ": UCX " << version()
                      << ", UCX_TLS=" << (options_.tls.empty() ? "(UCX's default)" : options_.tls)
                      << (options_.net_devices.empty()
                              ? ""
                              : ", UCX_NET_DEVICES=" + options_.net_devices)
                      << ", " << options_.depth << " slots of " << options_.slot_bytes << " B"
                      << (wakes ? "" : "; UCX offers no event fd: idle polls every 1 ms");
}

UcxTransport::~UcxTransport() = default;

const UcxStats& UcxTransport::stats() const { return progress_->stats(); }

UcxInfo UcxTransport::info() const { return {version(), options_.tls, progress_->first_lane()}; }

void UcxTransport::check_peer(int peer, int channel, const char* call) const {
  if (peer < 0 || peer >= nranks_ || channel < 0 || channel >= ucx::kMaxChannels) {
    throw Error(ErrorCode::InvalidArgument, std::string("ucx ") + call + ": peer " +
                                                std::to_string(peer) + " channel " +
                                                std::to_string(channel) + " out of range");
  }
}

std::unique_ptr<SendEndpoint> UcxTransport::connect_send(int peer, int channel) {
  check_peer(peer, channel, "connect_send");
  UcxProgress* p = progress_.get();
  return std::make_unique<RingSend>(p->send_stream(peer, channel).ring,
                                    [p] { p->wake_if_sleeping(); });
}

std::unique_ptr<RecvEndpoint> UcxTransport::connect_recv(int peer, int channel) {
  check_peer(peer, channel, "connect_recv");
  UcxProgress* p = progress_.get();
  return std::make_unique<RingRecv>(p->recv_stream(peer, channel).ring,
                                    [p] { p->wake_if_sleeping(); });
}

std::unique_ptr<Transport> make_ucx_transport(bootstrap::OutOfBand& oob, Doorbell& bell,
                                              const UcxOptions& options) {
  return std::make_unique<UcxTransport>(oob, bell, options);
}

}  // namespace colossus::transport
