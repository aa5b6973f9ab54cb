// shm_support.hpp: what the shm tests share: communicators over the shm
// transport whose FIFO geometry matches the executor's settings, and a
// listing of a job's segments in /dev/shm (by its secret or init()'s id).
#pragma once

#include <dirent.h>

#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "base/config.hpp"
#include "bootstrap/unique_id.hpp"
#include "colossus/colossus.hpp"
#include "comm/comm_impl.hpp"
#include "support/thread_oob.hpp"
#include "transports/shm/shm.hpp"

namespace colossus::test {

// The communicator cuts steps into slot-sized pieces and clamps chunks to
// slot x (depth - 1): the transport must use exactly those numbers.
inline transport::ShmOptions shm_options_for(const detail::Settings& s) {
  transport::ShmOptions o;
  o.slot_bytes = s.slot_bytes;
  o.depth = s.fifo_depth;
  o.timeout_s = s.timeout_s;
  o.cma_min_bytes = s.shm_cma_min;
  return o;
}

inline detail::Settings settings_for(const Options& options) {
  return detail::resolve_settings(options, base::env_config());
}

// One rank's communicator over shm (collective over `oob`).
inline Communicator shm_communicator(bootstrap::OutOfBand& oob, const Options& options) {
  const detail::Settings s = settings_for(options);
  return detail::CommAccess::wrap(
      std::make_shared<detail::CommImpl>(make_shm_transport(oob, shm_options_for(s)), s));
}

// n shm transports built collectively on n threads of this process (rank r
// with o[r]); throws what a rank threw.
inline std::vector<std::unique_ptr<transport::Transport>> build_shm_transports(
    ThreadOobGroup& g, int n, const std::vector<transport::ShmOptions>& o) {
  std::vector<std::unique_ptr<transport::Transport>> t(static_cast<std::size_t>(n));
  std::vector<std::string> errors(static_cast<std::size_t>(n));
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      try {
        t[static_cast<std::size_t>(r)] =
            make_shm_transport(g.oob(r), o[static_cast<std::size_t>(r)]);
      } catch (const std::exception& e) {
        errors[static_cast<std::size_t>(r)] = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (auto& e : errors) {
    if (!e.empty()) throw std::runtime_error(e);
  }
  return t;
}

// The names in /dev/shm that belong to the job with this secret.
inline std::vector<std::string> shm_leftovers(uint64_t secret) {
  const std::string prefix = transport::shm_segment_prefix(secret);
  std::vector<std::string> out;
  if (DIR* d = opendir("/dev/shm")) {
    while (const dirent* e = readdir(d)) {
      if (std::string(e->d_name).rfind(prefix, 0) == 0) out.emplace_back(e->d_name);
    }
    closedir(d);
  }
  return out;
}

// The same for a job made by init() from this id.
inline std::vector<std::string> shm_leftovers(const UniqueId& id) {
  bootstrap::UniqueId raw;
  std::memcpy(&raw, id.internal, sizeof raw);
  return shm_leftovers(raw.secret);
}

inline std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s.empty() ? "none" : s;
}

}  // namespace colossus::test
