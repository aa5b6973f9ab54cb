// ucx_support.hpp: a group of communicators over the ucx transport, ranks
// as threads, with the doorbells kept alive for them. UCX's transports
// come from COLOSSUS_UCX_TLS (the ctest entries set tcp or sm), as for a
// communicator made by init().
#pragma once

#include <deque>
#include <vector>

#include "base/config.hpp"
#include "colossus/colossus.hpp"
#include "comm/comm_impl.hpp"
#include "support/transport_group.hpp"
#include "transports/ucx/ucx.hpp"

namespace colossus::test {

// The communicator cuts steps into slot-sized pieces: the transport must
// use exactly its slot size and depth.
inline transport::UcxOptions ucx_options_for(const detail::Settings& s) {
  transport::UcxOptions o;
  o.slot_bytes = s.slot_bytes;
  o.depth = s.fifo_depth;
  o.timeout_s = s.timeout_s;
  o.tls = base::env_config().ucx_tls;
  o.net_devices = base::env_config().ucx_net_devices;
  return o;
}

// n ranks over ucx, built collectively on n threads.
struct UcxJob {
  UcxJob(int n, const Options& options) : bells(static_cast<std::size_t>(n)) {
    const transport::UcxOptions o =
        ucx_options_for(detail::resolve_settings(options, base::env_config()));
    comms = make_group(
        n,
        [&](bootstrap::OutOfBand& oob) {
          return transport::make_ucx_transport(oob, bells[static_cast<std::size_t>(oob.rank())], o);
        },
        options);
  }
  std::deque<transport::Doorbell> bells;  // outlive the transports that ring them
  std::vector<Communicator> comms;
};

}  // namespace colossus::test
