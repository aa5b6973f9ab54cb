// transport_group.hpp: communicators over any transport, ranks as threads.
//
// make_group(n, factory, options) runs factory(oob) on n threads at once
// (transport constructors are collective: they exchange addresses through
// the OutOfBand) and wraps each transport in a communicator, so the same
// collective checks run over loopback, shm, tcp or a mix.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "base/config.hpp"
#include "colossus/colossus.hpp"
#include "comm/comm_impl.hpp"
#include "support/thread_oob.hpp"

namespace colossus::test {

using TransportFactory =
    std::function<std::unique_ptr<transport::Transport>(bootstrap::OutOfBand& oob)>;

inline std::vector<Communicator> make_group(int n, const TransportFactory& factory,
                                            const Options& options = {}) {
  ThreadOobGroup oob(n);
  std::vector<std::unique_ptr<transport::Transport>> transports(static_cast<std::size_t>(n));
  std::vector<std::string> errors(static_cast<std::size_t>(n));
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      try {
        transports[static_cast<std::size_t>(r)] = factory(oob.oob(r));
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(r)] = e.what();
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int r = 0; r < n; ++r) {
    if (!errors[static_cast<std::size_t>(r)].empty()) {
      throw std::runtime_error("rank " + std::to_string(r) +
                               ": transport setup failed: " + errors[static_cast<std::size_t>(r)]);
    }
  }
  const detail::Settings settings = detail::resolve_settings(options, base::env_config());
  std::vector<Communicator> comms;
  for (auto& t : transports) {
    comms.push_back(
        detail::CommAccess::wrap(std::make_shared<detail::CommImpl>(std::move(t), settings)));
  }
  return comms;
}

}  // namespace colossus::test
