// socket.hpp: the tcp transport's names for the socket layer it shares with
// the bootstrap. That layer (non-blocking, close-on-exec sockets with
// TCP_NODELAY; numeric endpoints; connect, listen and accept) lives and is
// documented in bootstrap/socket.hpp and bootstrap/address.hpp.
#pragma once

#include <string>

#include "bootstrap/address.hpp"
#include "bootstrap/socket.hpp"

namespace colossus::transport::tcp {

using bootstrap::connect_result;
using bootstrap::errno_text;
using bootstrap::Fd;
using bootstrap::parse_endpoint;
using bootstrap::start_connect;
using SockAddr = bootstrap::Endpoint;

// "1.2.3.4:5678" or "[fd00::2]:5678": what parse_endpoint reads back.
inline std::string format_endpoint(const SockAddr& a) { return a.str(); }

}  // namespace colossus::transport::tcp
