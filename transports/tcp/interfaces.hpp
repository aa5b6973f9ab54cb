// interfaces.hpp: the tcp transport's names for interface selection
// (COLOSSUS_SOCKET_IFNAME, NCCL_SOCKET_IFNAME's syntax), which lives and is
// documented in bootstrap/interfaces.hpp.
#pragma once

#include "bootstrap/interfaces.hpp"

namespace colossus::transport::tcp {

using bootstrap::choose_interface;
using bootstrap::IfnameFilter;
using bootstrap::list_interfaces;
using bootstrap::NetInterface;

}  // namespace colossus::transport::tcp
