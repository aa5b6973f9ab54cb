// init.cc: communicators of ranks in separate processes.
//
// init(): bootstrap (rendezvous with rank 0, an out-of-band channel), then
// one transport per kind of peer: shm for ranks on this host, ucx or tcp
// for ranks on others, routed per peer. A host is its hostname plus its boot id, so
// two containers that share a hostname but not a kernel are not "one host".
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

#include "base/logging.hpp"
#include "bootstrap/bootstrap.hpp"
#include "bootstrap/launch_env.hpp"
#include "bootstrap/watch.hpp"
#include "colossus/colossus.hpp"
#include "comm/comm_impl.hpp"
#include "comm/net_options.hpp"
#include "comm/placement.hpp"
#include "exec/cuda/stream_executor.hpp"
#include "topology/discover.hpp"
#include "transports/loopback/loopback.hpp"
#include "transports/per_peer.hpp"
#include "transports/shm/shm.hpp"
#include "transports/tcp/tcp.hpp"
#include "transports/ucx/ucx.hpp"

namespace colossus {

namespace {

std::string host_identity() {
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string boot;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> boot;
  return std::string(host) + "/" + boot;
}

std::string host_name(const std::string& identity) {
  return identity.substr(0, identity.find('/'));
}

// Which transport carries peers on other hosts: ucx where every rank's UCX
// reports an RDMA device, tcp otherwise, or what COLOSSUS_TRANSPORT forces.
// Collective (one allgather) unless forced, so every rank decides alike.
std::string network_transport(bootstrap::OutOfBand& oob, const std::string& forced) {
  if (forced == "tcp" || forced == "ucx") return forced;
  std::string mine = "-";
  if (transport::ucx_available()) {
    for (const auto& d : topology::ucx_network_devices()) {
      if (d.rdma) {
        mine = d.name + " (" + d.transport + ")";
        break;
      }
    }
  }
  std::string none;
  for (const std::string& theirs : oob.allgather(mine)) {
    if (theirs == "-") none = "a rank without an RDMA device UCX can use";
  }
  const char* pick = none.empty() ? "ucx" : "tcp";
  if (oob.rank() == 0) {
    CLOG_SUB(Info, Init) << "across hosts: " << pick << " ("
                         << (!transport::ucx_available() ? "this build has no UCX"
                             : none.empty() ? "UCX reports RDMA on every rank, rank 0: " + mine
                                            : none)
                         << ")";
  }
  return pick;
}

// The rank's transport to every peer. Collective: every rank decides the
// same layout from the same allgathered host identities, so every rank
// constructs the same member transports (their constructors are collective).
std::unique_ptr<transport::Transport> connect_peers(bootstrap::OutOfBand& oob,
                                                    const detail::Settings& s,
                                                    const std::vector<std::string>& hosts) {
  const int rank = oob.rank(), n = oob.nranks();
  const std::string& forced = s.transport;
  bool any_local_pair = false, any_remote_pair = false;
  for (int a = 0; a < n; ++a) {
    for (int b = a + 1; b < n; ++b) {
      (hosts[static_cast<std::size_t>(a)] == hosts[static_cast<std::size_t>(b)] ? any_local_pair
                                                                                : any_remote_pair) =
          true;
    }
  }
  if (forced == "shm" && any_remote_pair) {
    throw Error(ErrorCode::InvalidArgument,
                "COLOSSUS_TRANSPORT=shm, but the ranks span several hosts");
  }
  const bool use_shm = any_local_pair && forced != "tcp" && forced != "ucx";
  const bool use_net = any_remote_pair || forced == "tcp" || forced == "ucx";
  const std::string net = use_net ? network_transport(oob, forced) : "";

  std::vector<std::unique_ptr<transport::Transport>> members;
  std::unique_ptr<transport::Doorbell> own_bell;
  transport::Doorbell* bell = nullptr;
  int shm_index = -1, net_index = -1;
  if (use_shm) {
    transport::ShmOptions o;
    o.slot_bytes = s.slot_bytes;
    o.depth = s.fifo_depth;
    o.timeout_s = s.timeout_s;
    o.cma_min_bytes = s.shm_cma_min;
    members.push_back(transport::make_shm_transport(oob, o));
    bell = &members.back()->doorbell();  // in shared memory: shm peers ring it
    shm_index = 0;
  }
  if (!bell) {
    own_bell = std::make_unique<transport::Doorbell>();
    bell = own_bell.get();
  }
  if (use_net) {
    members.push_back(net == "ucx"
                          ? transport::make_ucx_transport(oob, *bell, detail::ucx_options(s))
                          : transport::make_tcp_transport(oob, *bell, detail::tcp_options(s)));
    net_index = static_cast<int>(members.size()) - 1;
  }
  std::vector<int> route(static_cast<std::size_t>(n), 0);
  int local = 0;
  for (int p = 0; p < n; ++p) {
    const bool same = hosts[static_cast<std::size_t>(p)] == hosts[static_cast<std::size_t>(rank)];
    local += same ? 1 : 0;
    route[static_cast<std::size_t>(p)] = (same && shm_index >= 0) ? shm_index : net_index;
    if (p == rank) route[static_cast<std::size_t>(p)] = 0;
  }
  if (rank == 0) {
    CLOG_SUB(Info, Init) << "rank 0/" << n << " on " << host_name(hosts[0]) << ": " << local
                         << " ranks on this host" << (use_shm ? " (shm)" : "") << ", " << n - local
                         << " on other hosts" << (use_net ? " (" + net + ")" : "")
                         << (forced.empty() ? "" : "; COLOSSUS_TRANSPORT=" + forced);
  }
  const bool ucx = net == "ucx";
  const char* name = use_shm && use_net ? (ucx ? "shm+ucx" : "shm+tcp")
                     : use_shm          ? "shm"
                     : ucx              ? "ucx"
                                        : "tcp";
  if (members.empty()) {
    // A single rank talks to nobody; a loopback fabric of one serves it.
    return std::move(transport::make_loopback_transports(1, s.slot_bytes, s.fifo_depth).front());
  }
  return std::make_unique<transport::PerPeerTransport>(rank, std::move(members), std::move(route),
                                                       *bell, name, std::move(own_bell));
}

// Every rank's host, and its GPU when bound (all ranks bind, or none do:
// checked here, where every rank sees the same answer).
struct JobDevices {
  std::vector<std::string> hosts;
  std::vector<exec::gpu::DeviceInfo> devices;
  std::vector<bootstrap::UniqueId> spares;  // every rank's spare rendezvous (shrink)
  bool bound = false;
};

// Each rank's spare rendezvous travels with its host identity: the first
// bytes of its blob, fixed size.
JobDevices gather_devices(bootstrap::OutOfBand& oob, const detail::Settings& s,
                          const bootstrap::UniqueId& spare) {
  std::string mine(reinterpret_cast<const char*>(&spare), sizeof spare);
  mine += host_identity() + '\n';
  if (s.cuda_device >= 0) {
    const exec::gpu::DeviceInfo d = exec::gpu::describe_device(s.cuda_device);
    mine += d.bus_id + '\n' + std::to_string(d.resident_blocks);
  }
  JobDevices job;
  int bound = 0;
  for (std::string blob : oob.allgather(mine)) {
    if (blob.size() < sizeof spare) throw Error(ErrorCode::RemoteError, "init: a short blob");
    bootstrap::UniqueId id;
    std::memcpy(&id, blob.data(), sizeof id);
    job.spares.push_back(id);
    blob.erase(0, sizeof id);
    const std::size_t nl = blob.find('\n');
    job.hosts.push_back(blob.substr(0, nl));
    exec::gpu::DeviceInfo d;
    const std::string rest = blob.substr(nl + 1);
    if (!rest.empty()) {
      const std::size_t nl2 = rest.find('\n');
      d.bus_id = rest.substr(0, nl2);
      d.resident_blocks = std::stoi(rest.substr(nl2 + 1));
      ++bound;
    }
    job.devices.push_back(d);
  }
  if (bound != 0 && bound != oob.nranks()) {
    throw Error(ErrorCode::InvalidUsage,
                "init: " + std::to_string(bound) + " of " + std::to_string(oob.nranks()) +
                    " ranks set Options::cuda_device; all ranks bind a GPU, or none does");
  }
  job.bound = bound != 0;
  if (job.bound && oob.rank() == 0) {
    std::map<std::string, int> per_gpu;
    for (std::size_t r = 0; r < job.hosts.size(); ++r)
      ++per_gpu[job.hosts[r] + " " + job.devices[r].bus_id];
    for (const auto& [gpu, n] : per_gpu) {
      if (n > 1) {
        CLOG(Warn) << n << " ranks share GPU " << gpu.substr(gpu.find(' ') + 1) << " on "
                   << host_name(gpu.substr(0, gpu.find(' ')))
                   << ": ranks in separate processes are time-sliced by the driver without MPS "
                      "(correct, but slow)";
        break;
      }
    }
  }
  return job;
}

// How this rank reaches each peer's GPU, and (collective: every rank builds
// it when any pair needs it) the network transport the host proxy carries
// network peers over: ucx or tcp, chosen as for host buffers.
// COLOSSUS_TRANSPORT=tcp or ucx sends same-host peers through the proxy too.
exec::gpu::StreamSetup device_setup(bootstrap::OutOfBand& oob, const detail::Settings& s,
                                    const std::vector<std::string>& hosts) {
  const int rank = oob.rank(), n = oob.nranks();
  exec::gpu::StreamSetup setup;
  setup.device = s.cuda_device;
  const bool forced_net = s.transport == "tcp" || s.transport == "ucx";
  bool any_network = false;
  for (int p = 0; p < n; ++p) {
    const bool same = hosts[static_cast<std::size_t>(p)] == hosts[static_cast<std::size_t>(rank)];
    setup.reach.push_back(same && !forced_net ? exec::gpu::PeerReach::SameHost
                                              : exec::gpu::PeerReach::Network);
    for (int q = p + 1; q < n; ++q) {
      if (hosts[static_cast<std::size_t>(p)] != hosts[static_cast<std::size_t>(q)] || forced_net)
        any_network = true;
    }
  }
  if (any_network) {
    setup.net_bell = std::make_unique<transport::Doorbell>();
    setup.net = network_transport(oob, s.transport) == "ucx"
                    ? transport::make_ucx_transport(oob, *setup.net_bell, detail::ucx_options(s))
                    : transport::make_tcp_transport(oob, *setup.net_bell, detail::tcp_options(s));
  }
  return setup;
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

namespace detail {

std::shared_ptr<CommImpl> build_comm(const bootstrap::UniqueId& id, int rank, int nranks,
                                     Settings settings) {
  auto boot = bootstrap::Bootstrap::create(id, rank, nranks, settings.timeout_s);
  bootstrap::Bootstrap& b = *boot;
  // A listener of this rank's own, for the survivors of a failure to meet
  // at without a new unique id (shrink.cc): discarded with the Link.
  const bootstrap::UniqueId spare = bootstrap::make_spare_id(b.local_address());
  try {
    const JobDevices job = gather_devices(b, settings, spare);
    const std::vector<std::string>& hosts = job.hosts;
    if (job.bound) settings.max_channels = device_channel_limit(hosts, job.devices);
    auto transport = connect_peers(b, settings, hosts);
    comm::Placement place = comm::place_job(b, settings.topology);
    if (rank == 0) {
      CLOG_SUB(Info, Init) << "placement: " << place.description;
    }
    exec::gpu::StreamSetup device;
    if (job.bound) device = device_setup(b, settings, hosts);  // collective
    auto impl = std::make_shared<CommImpl>(std::move(transport), settings, std::move(place.layout),
                                           std::move(place.model), std::move(boot));
    Link& link = impl->shared_link();
    link.spares = job.spares;
    link.own_spare = spare;
    bootstrap::WatchOptions wo;
    wo.unreachable_after_s = std::clamp(settings.timeout_s / 2, 5.0, 30.0);
    link.watch = bootstrap::Watch::start(b, *link.failure, wo);
    if (job.bound) impl->bind_device(std::move(device));
    return impl;
  } catch (...) {
    bootstrap::discard_unique_id(spare);
    throw;
  }
}

// init()'s and shrink()'s way in: blocking, or on a thread of its own.
Communicator start_comm(const bootstrap::UniqueId& id, int rank, int nranks,
                        const Settings& settings) {
  if (settings.blocking) return CommAccess::wrap(build_comm(id, rank, nranks, settings));
  auto pending = std::make_shared<PendingComm>(
      [id, rank, nranks, settings](const base::FailureState& cancel) {
        bootstrap::CancelScope scope(cancel);
        return build_comm(id, rank, nranks, settings);
      },
      nullptr, settings.timeout_s);
  return CommAccess::wrap(std::move(pending));
}

}  // namespace detail

Communicator init(const UniqueId& id, int rank, int nranks, const Options& options) {
  if (nranks < 1 || rank < 0 || rank >= nranks) {
    throw Error(ErrorCode::InvalidArgument, "init: rank " + std::to_string(rank) + " of " +
                                                std::to_string(nranks) + " is out of range");
  }
  const detail::Settings settings = detail::resolve_settings(options, base::env_config());
  return detail::start_comm(internal(id), rank, nranks, settings);
}

Communicator init(const std::vector<UniqueId>& ids, int rank, int nranks, const Options& options) {
  if (ids.empty()) throw Error(ErrorCode::InvalidArgument, "init: no unique id");
  for (std::size_t k = 1; k < ids.size(); ++k) {
    const bootstrap::UniqueId extra = internal(ids[k]);
    if (extra.magic != bootstrap::kUniqueIdMagic) {
      throw Error(ErrorCode::InvalidArgument,
                  "init: unique id " + std::to_string(k) + " is not a colossus unique id");
    }
    bootstrap::discard_unique_id(extra);  // this process made it: its listener is not needed
  }
  return init(ids.front(), rank, nranks, options);
}

Communicator init_from_env(const Options& options) {
  const auto launch = bootstrap::detect_launch(bootstrap::process_environment());
  if (!launch) {
    throw Error(ErrorCode::InvalidUsage,
                "init_from_env: no launcher environment (colossus-run, torchrun, mpirun, srun)");
  }
  const bootstrap::UniqueId id = bootstrap::launch_unique_id(*launch, "init_from_env");
  return init(external(id), launch->rank, launch->world_size, options);
}

}  // namespace colossus
