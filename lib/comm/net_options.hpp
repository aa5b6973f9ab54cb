// net_options.hpp: a communicator's settings and the environment, turned
// into the options of its network transports (written once: init and the
// tests that build transports by hand use the same mapping).
#pragma once

#include "comm/comm_impl.hpp"
#include "transports/tcp/tcp.hpp"
#include "transports/ucx/ucx.hpp"

namespace colossus::detail {

// Slot size, depth and timeout from `s`; sockets and interface from
// COLOSSUS_SOCKET_NSOCKS and COLOSSUS_SOCKET_IFNAME.
transport::TcpOptions tcp_options(const Settings& s);

// Slot size, depth and timeout from `s`; COLOSSUS_UCX_TLS and
// COLOSSUS_UCX_NET_DEVICES; whether this host has an RDMA device UCX can
// use, from topology discovery.
transport::UcxOptions ucx_options(const Settings& s);

}  // namespace colossus::detail
