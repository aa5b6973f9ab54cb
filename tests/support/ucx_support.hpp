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
#include "comm/net_options.hpp"
#include "support/transport_group.hpp"
#include "transports/ucx/ucx.hpp"

namespace colossus::test {

// n ranks over ucx, built collectively on n threads.
struct UcxJob {
  UcxJob(int n, const Options& options) : bells(static_cast<std::size_t>(n)) {
    // The options init() would give it (the communicator cuts steps into
    // slot-sized pieces: the transport must use its slot size and depth).
    const transport::UcxOptions o =
        detail::ucx_options(detail::resolve_settings(options, base::env_config()));
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
