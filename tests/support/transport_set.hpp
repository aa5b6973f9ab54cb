// transport_set.hpp: n transports of one kind, built collectively on n
// threads over one ThreadOobGroup (transport constructors exchange
// addresses through the OutOfBand), with the doorbells they ring kept
// alive beside them. T is the type the tests need to see (Transport, or a
// concrete one for its stats).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/thread_oob.hpp"
#include "transports/transport.hpp"

namespace colossus::test {

template <class T>
struct TransportSet {
  using Factory = std::function<std::unique_ptr<T>(bootstrap::OutOfBand&, transport::Doorbell&)>;

  // Throws std::runtime_error with the first rank's error if any failed.
  TransportSet(int n, const Factory& make)
      : g(n), bells(static_cast<std::size_t>(n)), t(static_cast<std::size_t>(n)) {
    std::vector<std::string> errors(static_cast<std::size_t>(n));
    std::vector<std::thread> threads;
    for (int r = 0; r < n; ++r) {
      threads.emplace_back([&, r] {
        const auto ur = static_cast<std::size_t>(r);
        try {
          t[ur] = make(g.oob(r), bells[ur]);
        } catch (const std::exception& e) {
          errors[ur] = e.what();
        }
      });
    }
    for (auto& th : threads) th.join();
    for (auto& e : errors) {
      if (!e.empty()) throw std::runtime_error(e);
    }
  }

  ThreadOobGroup g;
  std::deque<transport::Doorbell> bells;  // outlive the transports that ring them
  std::vector<std::unique_ptr<T>> t;
};

}  // namespace colossus::test
