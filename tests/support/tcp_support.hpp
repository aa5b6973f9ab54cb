// tcp_support.hpp: what the tcp tests share: a group of communicators over
// the tcp transport on the loopback interface, ranks as threads, with the
// doorbells kept alive for them and the transports reachable for stats.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "base/config.hpp"
#include "colossus/colossus.hpp"
#include "comm/comm_impl.hpp"
#include "comm/net_options.hpp"
#include "support/transport_group.hpp"
#include "transports/tcp/tcp.hpp"

namespace colossus::test {

inline detail::Settings tcp_settings_for(const Options& options) {
  return detail::resolve_settings(options, base::env_config());
}

// The communicator cuts steps into slot-sized pieces and clamps chunks to
// slot x (depth - 1): the transport must use exactly those numbers.
inline transport::TcpOptions tcp_options_for(const detail::Settings& s, int sockets = 2) {
  transport::TcpOptions o = detail::tcp_options(s);
  o.sockets_per_peer = sockets;
  o.ifname = "lo";  // hermetic: never leave the machine
  return o;
}

// n ranks over tcp, built collectively on n threads.
struct TcpJob {
  TcpJob(int n, const Options& options, int sockets = 2)
      : bells(static_cast<std::size_t>(n)), tcp(static_cast<std::size_t>(n)) {
    const detail::Settings s = tcp_settings_for(options);
    const transport::TcpOptions o = tcp_options_for(s, sockets);
    comms = make_group(
        n,
        [&](bootstrap::OutOfBand& oob) {
          auto t = std::make_unique<transport::TcpTransport>(
              oob, bells[static_cast<std::size_t>(oob.rank())], o);
          tcp[static_cast<std::size_t>(oob.rank())] = t.get();
          return t;
        },
        options);
  }
  uint64_t sum(std::atomic<uint64_t> transport::TcpStats::*counter) const {
    uint64_t total = 0;
    for (auto* t : tcp) total += (t->stats().*counter).load();
    return total;
  }

  std::deque<transport::Doorbell> bells;      // outlive the transports that ring them
  std::vector<transport::TcpTransport*> tcp;  // owned by comms
  std::vector<Communicator> comms;
};

// Polls `done` until it holds or `seconds` pass.
inline bool eventually(const std::function<bool()>& done, double seconds = 10) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

}  // namespace colossus::test
