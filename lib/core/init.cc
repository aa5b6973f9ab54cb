// init.cc: communicators of ranks in separate processes.
//
// init(): bootstrap (rendezvous with rank 0, an out-of-band channel), then
// one transport per kind of peer: shm for ranks on this host, tcp for ranks
// on others, routed per peer. A host is its hostname plus its boot id, so
// two containers that share a hostname but not a kernel are not "one host".
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>

#include "colossus/colossus.hpp"
#include "core/bootstrap/bootstrap.hpp"
#include "core/comm_impl.hpp"
#include "core/launch_env.hpp"
#include "core/logging.hpp"
#include "core/placement.hpp"
#include "transports/loopback/loopback.hpp"
#include "transports/per_peer.hpp"
#include "transports/shm/shm.hpp"
#include "transports/tcp/tcp.hpp"

namespace colossus {

namespace {

std::string host_identity() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string boot;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> boot;
  return std::string(host) + "/" + boot;
}

std::string host_name(const std::string& identity) { return identity.substr(0, identity.find('/')); }

// The rank's transport to every peer. Collective: every rank decides the
// same layout from the same allgathered host identities, so every rank
// constructs the same member transports (their constructors are collective).
std::unique_ptr<transport::Transport> connect_peers(transport::OutOfBand& oob,
                                                    const detail::Settings& s,
                                                    const std::vector<std::string>& hosts) {
  const int rank = oob.rank(), n = oob.nranks();
  const std::string& forced = s.transport;
  bool any_local_pair = false, any_remote_pair = false;
  for (int a = 0; a < n; ++a) {
    for (int b = a + 1; b < n; ++b) {
      (hosts[static_cast<std::size_t>(a)] == hosts[static_cast<std::size_t>(b)] ? any_local_pair
                                                                                : any_remote_pair) = true;
    }
  }
  if (forced == "shm" && any_remote_pair) {
    throw Error(ErrorCode::InvalidArgument,
                "COLOSSUS_TRANSPORT=shm, but the ranks span several hosts");
  }
  const bool use_shm = any_local_pair && forced != "tcp";
  const bool use_tcp = any_remote_pair || forced == "tcp";

  std::vector<std::unique_ptr<transport::Transport>> members;
  std::unique_ptr<transport::Doorbell> own_bell;
  transport::Doorbell* bell = nullptr;
  int shm_index = -1, tcp_index = -1;
  if (use_shm) {
    transport::ShmOptions o;
    o.slot_bytes = s.slot_bytes;
    o.depth = s.fifo_depth;
    o.timeout_s = s.timeout_s;
    members.push_back(transport::make_shm_transport(oob, o));
    bell = &members.back()->doorbell();  // in shared memory: shm peers ring it
    shm_index = 0;
  }
  if (!bell) {
    own_bell = std::make_unique<transport::Doorbell>();
    bell = own_bell.get();
  }
  if (use_tcp) {
    transport::TcpOptions o;
    o.slot_bytes = s.slot_bytes;
    o.depth = s.fifo_depth;
    o.timeout_s = s.timeout_s;
    o.sockets_per_peer = core::env_config().socket_nsocks;
    o.ifname = core::env_config().socket_ifname;
    members.push_back(transport::make_tcp_transport(oob, *bell, o));
    tcp_index = static_cast<int>(members.size()) - 1;
  }
  std::vector<int> route(static_cast<std::size_t>(n), 0);
  int local = 0;
  for (int p = 0; p < n; ++p) {
    const bool same = hosts[static_cast<std::size_t>(p)] == hosts[static_cast<std::size_t>(rank)];
    local += same ? 1 : 0;
    route[static_cast<std::size_t>(p)] = (same && shm_index >= 0) ? shm_index : tcp_index;
    if (p == rank) route[static_cast<std::size_t>(p)] = 0;
  }
  if (rank == 0) {
    CLOG(Info) << "rank 0/" << n << " on " << host_name(hosts[0]) << ": " << local
               << " ranks on this host" << (use_shm ? " (shm)" : "") << ", " << n - local
               << " on other hosts" << (use_tcp ? " (tcp)" : "")
               << (forced.empty() ? "" : "; COLOSSUS_TRANSPORT=" + forced);
  }
  const char* name = use_shm && use_tcp ? "shm+tcp" : use_shm ? "shm" : "tcp";
  if (members.empty()) {
    // A single rank talks to nobody; a loopback fabric of one serves it.
    return std::move(transport::make_loopback_transports(1, s.slot_bytes, s.fifo_depth).front());
  }
  return std::make_unique<transport::PerPeerTransport>(rank, std::move(members), std::move(route),
                                                       *bell, name, std::move(own_bell));
}

bootstrap::UniqueId internal(const UniqueId& id) {
  static_assert(sizeof(bootstrap::UniqueId) == sizeof(UniqueId), "UniqueId sizes differ");
  bootstrap::UniqueId out;
  std::memcpy(&out, &id, sizeof id);
  return out;
}

UniqueId external(const bootstrap::UniqueId& id) {
  UniqueId out;
  std::memcpy(&out, &id, sizeof id);
  return out;
}

}  // namespace

UniqueId make_unique_id() { return external(bootstrap::make_unique_id("")); }

std::string to_string(const UniqueId& id) { return bootstrap::to_string(internal(id)); }

UniqueId parse_unique_id(const std::string& text) {
  bootstrap::UniqueId id;
  if (!bootstrap::parse_unique_id(text, &id)) {
    throw Error(ErrorCode::InvalidArgument, "parse_unique_id: not a colossus unique id");
  }
  return external(id);
}

Communicator init(const UniqueId& id, int rank, int nranks, const Options& options) {
  if (nranks < 1 || rank < 0 || rank >= nranks) {
    throw Error(ErrorCode::InvalidArgument, "init: rank " + std::to_string(rank) +
                                                " of " + std::to_string(nranks) +
                                                " is out of range");
  }
  const detail::Settings settings = detail::resolve_settings(options, core::env_config());
  std::unique_ptr<transport::OutOfBand> oob =
      bootstrap::Bootstrap::create(internal(id), rank, nranks, settings.timeout_s);
  const std::vector<std::string> hosts = oob->allgather(host_identity());
  auto transport = connect_peers(*oob, settings, hosts);
  core::Placement place = core::place_job(*oob, settings.topology);
  if (rank == 0) {
    CLOG(Info) << "placement: " << place.description;
  }
  return Communicator(std::make_shared<detail::CommImpl>(std::move(transport), settings,
                                                         std::move(place.layout),
                                                         std::move(place.model), std::move(oob)));
}

Communicator init_from_env(const Options& options) {
  const auto launch = core::detect_launch(core::process_environment());
  if (!launch) {
    throw Error(ErrorCode::InvalidUsage,
                "init_from_env: no launcher environment (colossus-run, torchrun, mpirun, srun)");
  }
  if (launch->bootstrap_host.empty()) {
    throw Error(ErrorCode::InvalidUsage,
                "init_from_env: " + launch->launcher +
                    " gives no rendezvous address; set COLOSSUS_BOOTSTRAP_ADDR=host:port (a port "
                    "free on rank 0's host)");
  }
  const std::string where = launch->bootstrap_host + ":" + std::to_string(launch->bootstrap_port);
  const bootstrap::UniqueId id =
      launch->rank == 0 ? bootstrap::make_unique_id(where, launch->job_key)
                        : bootstrap::unique_id_for(where, launch->job_key);
  return init(external(id), launch->rank, launch->world_size, options);
}

}  // namespace colossus
