#include "comm/net_options.hpp"

#include "base/config.hpp"
#include "topology/discover.hpp"

namespace colossus::detail {

transport::TcpOptions tcp_options(const Settings& s) {
  transport::TcpOptions o;
  o.slot_bytes = s.slot_bytes;
  o.depth = s.fifo_depth;
  o.timeout_s = s.timeout_s;
  o.sockets_per_peer = base::env_config().socket_nsocks;
  o.ifname = base::env_config().socket_ifname;
  return o;
}

transport::UcxOptions ucx_options(const Settings& s) {
  transport::UcxOptions o;
  o.slot_bytes = s.slot_bytes;
  o.depth = s.fifo_depth;
  o.timeout_s = s.timeout_s;
  o.tls = base::env_config().ucx_tls;
  o.net_devices = base::env_config().ucx_net_devices;
  for (const auto& d : topology::ucx_network_devices()) o.rdma_device |= d.rdma;
  return o;
}

}  // namespace colossus::detail
