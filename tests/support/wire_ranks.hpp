// wire_ranks.hpp: one body on every rank of a group, over a wire (loopback,
// shm, tcp), with ranks as threads of this process or as forked processes.
//
// run_ranks(wire, launch, n, options, body) calls body(comm) with each
// rank's communicator and returns one line per problem: what a body
// returned ("" = fine) or threw, a process that died or hung (deadline).
// Threads: a WireGroup. Processes: init() from a fresh unique id with the
// transport forced to the wire (loopback has no processes); afterwards
// nothing of a shm job may be left in /dev/shm. Fork only while the test
// process has no other threads (fork_runner.hpp).
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "colossus/colossus.hpp"
#include "support/fork_runner.hpp"
#include "support/rank_pool.hpp"
#include "support/shm_support.hpp"
#include "support/wire_group.hpp"

namespace colossus::test {

using RankCheck = std::function<std::string(Communicator& comm)>;

inline std::vector<std::string> run_ranks(Wire wire, Launch launch, int n, const Options& options,
                                          const RankCheck& body, double deadline_s = 120) {
  const std::string where = std::string(to_string(wire)) +
                            (launch == Launch::Threads ? " threads" : " processes") +
                            " n=" + std::to_string(n) + ": ";
  std::vector<std::string> problems;
  if (launch == Launch::Threads) {
    WireGroup wired(wire, n, options);
    {
      RankPool pool(n);
      std::mutex mu;
      auto errors = pool.run([&](int r) {
        const std::string bad = body(wired.comms[static_cast<std::size_t>(r)]);
        std::lock_guard lock(mu);
        if (!bad.empty()) problems.push_back(where + "rank " + std::to_string(r) + ": " + bad);
      });
      for (auto& e : errors) problems.push_back(where + e);
      wired.comms.clear();  // before the doorbells
    }
    if (wire == Wire::Shm && !shm_leftovers(wired.shm_secret).empty())
      problems.push_back(where + "left in /dev/shm: " + join(shm_leftovers(wired.shm_secret)));
    return problems;
  }
  const UniqueId id = make_unique_id();
  const auto out = fork_ranks(
      n,
      [&](int r) {
        Options o = options;
        o.transport = to_string(wire);
        Communicator comm = init(id, r, n, o);
        return body(comm);
      },
      deadline_s);
  for (const auto& o : out) {
    if (!o.ok()) problems.push_back(where + o.describe());
  }
  if (wire == Wire::Shm && !shm_leftovers(id).empty())
    problems.push_back(where + "left in /dev/shm: " + join(shm_leftovers(id)));
  return problems;
}

}  // namespace colossus::test
