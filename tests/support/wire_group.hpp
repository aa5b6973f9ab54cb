// wire_group.hpp: n communicators, ranks as threads of this process, over
// the loopback, shm, tcp or ucx transport, with what each needs kept alongside:
// tcp's doorbells (they outlive the transports that ring them, so a
// WireGroup must outlive the communicators moved out of it) and its
// transports (stats), shm's job secret (for shm_leftovers).
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "colossus/colossus.hpp"
#include "support/shm_support.hpp"
#include "support/tcp_support.hpp"
#include "support/ucx_support.hpp"

namespace colossus::test {

enum class Wire { Loopback, Shm, Tcp, Ucx };
enum class Launch { Threads, Processes };

inline const char* to_string(Wire w) {
  return w == Wire::Loopback ? "loopback" : w == Wire::Shm ? "shm" : w == Wire::Tcp ? "tcp" : "ucx";
}

struct WireGroup {
  WireGroup(Wire wire, int n, const Options& options, int tcp_sockets = 2) {
    if (wire == Wire::Loopback) {
      comms = loopback_group(n, options);
    } else if (wire == Wire::Shm) {
      const transport::ShmOptions so = shm_options_for(settings_for(options));
      std::atomic<uint64_t> secret{0};
      comms = make_group(
          n,
          [&](bootstrap::OutOfBand& oob) {
            secret = oob.job_secret();
            return transport::make_shm_transport(oob, so);
          },
          options);
      shm_secret = secret;
    } else if (wire == Wire::Tcp) {
      tcp = std::make_unique<TcpJob>(n, options, tcp_sockets);
      comms = std::move(tcp->comms);
    } else {
      ucx = std::make_unique<UcxJob>(n, options);
      comms = std::move(ucx->comms);
    }
  }

  std::unique_ptr<TcpJob> tcp;  // tcp only: its doorbells and transports
  std::unique_ptr<UcxJob> ucx;  // ucx only: its doorbells
  uint64_t shm_secret = 0;      // shm only
  std::vector<Communicator> comms;
};

}  // namespace colossus::test
