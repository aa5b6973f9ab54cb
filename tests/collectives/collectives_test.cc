// The one collective sweep, parameterised by transport: loopback, shm and
// tcp with ranks as threads, shm and tcp with ranks as forked processes
// (through init()). Every collective (alltoall, alltoallv, gather, scatter
// and a send/recv pattern in a group too), in place and out of place,
// counts 0, 1, primes and large ones, checked element by element on every
// rank against the float64 reference; the matrix is in
// collectives/sweep.hpp. Afterwards nothing of a shm job is left in
// /dev/shm, and tcp's widest setting did stripe the reducing collectives'
// messages over its sockets.
#include <atomic>
#include <memory>
#include <set>

#include "catch.hpp"
#include "collectives/sweep.hpp"
#include "support/fork_runner.hpp"
#include "support/shm_support.hpp"
#include "support/wire_group.hpp"

namespace {

using namespace colossus;
using plan::Collective;
using test::Launch;
using test::Wire;

struct Tally {
  std::vector<std::string> problems;
  std::size_t cases = 0;
  void check() const {
    std::string shown;
    for (std::size_t i = 0; i < problems.size() && i < 4; ++i) shown += "\n" + problems[i];
    INFO(problems.size() << " problems in " << cases << " cases; first ones:" << shown);
    CHECK(cases > 0);
    CHECK(problems.empty());
  }
};

// Ranks as threads: one group per GroupSpec, reused across its cases.
void sweep_threads(Wire wire, Collective coll) {
  Tally tally;
  for (const test::GroupSpec& spec : test::groups(wire, Launch::Threads, coll)) {
    const Options& opt = spec.setting.options;
    const std::string where = std::string(to_string(wire)) +
                              " threads n=" + std::to_string(spec.n) + ", " + spec.setting.name +
                              ": ";
    test::WireGroup wired(wire, spec.n, opt, spec.setting.tcp_sockets);
    {
      test::Group group(std::move(wired.comms));
      for (const test::Profile& p : spec.profiles) {
        for (const test::Case& c : test::cases(p, coll, spec.n)) {
          for (auto& problem : group.run(c)) tally.problems.push_back(where + problem);
          ++tally.cases;
        }
      }
      // Big steps in 512 KiB slots (the exchanges' blocks are smaller).
      if (wire == Wire::Tcp && opt.slot_bytes == 0 && !test::is_exchange(coll)) {
        INFO(where);
        CHECK(wired.tcp->sum(&transport::TcpStats::messages_striped) > 0);
      }
    }
    if (wire == Wire::Shm) {
      const auto left = test::shm_leftovers(wired.shm_secret);
      INFO(where << "left in /dev/shm: " << test::join(left));
      CHECK(left.empty());
    }
  }
  tally.check();
}

// Ranks as processes: one job per rank count, one communicator per
// GroupSpec of that count (all alive at once), each from its own id.
void sweep_processes(Wire wire, Collective coll) {
  const std::vector<test::GroupSpec> specs = test::groups(wire, Launch::Processes, coll);
  std::set<int> counts;
  for (const auto& s : specs) counts.insert(s.n);
  Tally tally;
  for (const int n : counts) {
    std::vector<const test::GroupSpec*> job;
    std::vector<UniqueId> ids;
    for (const auto& s : specs) {
      if (s.n != n) continue;
      job.push_back(&s);
      ids.push_back(make_unique_id());
      for (const auto& p : s.profiles) tally.cases += test::cases(p, coll, n).size();
    }
    const auto out = test::fork_ranks(
        n,
        [&](int r) {
          std::vector<Communicator> comms;
          std::string problems;
          int bad = 0;
          for (std::size_t j = 0; j < job.size(); ++j) {
            Options o = job[j]->setting.options;
            o.transport = to_string(wire);
            comms.push_back(init(ids[j], r, n, o));
            for (const test::Profile& p : job[j]->profiles) {
              for (const test::Case& c : test::cases(p, coll, n)) {
                const test::Inputs inputs = test::make_inputs(c, n);
                test::run_rank(c, n, r, comms.back(), inputs, [&](const std::string& what) {
                  if (bad++ < 3)
                    problems += job[j]->setting.name + ": " + c.describe() + ": " + what + "; ";
                });
              }
            }
          }
          if (bad > 3) problems += std::to_string(bad - 3) + " more";
          return problems;
        },
        300);
    for (const auto& o : out) {
      if (!o.ok())
        tally.problems.push_back(std::string(to_string(wire)) +
                                 " processes n=" + std::to_string(n) + ": " + o.describe());
    }
    if (wire == Wire::Shm) {
      for (const UniqueId& id : ids) {
        const auto left = test::shm_leftovers(id);
        INFO("shm processes n=" << n << ": left in /dev/shm: " << test::join(left));
        CHECK(left.empty());
      }
    }
  }
  tally.check();
}

}  // namespace

#define COLOSSUS_SWEEP(run, wire, coll, name, tags) \
  TEST_CASE(name " matches the float64 reference", tags) { run(Wire::wire, Collective::coll); }

COLOSSUS_SWEEP(sweep_threads, Loopback, AllReduce, "loopback threads: allreduce", "[loopback]")
COLOSSUS_SWEEP(sweep_threads, Loopback, AllGather, "loopback threads: allgather", "[loopback]")
COLOSSUS_SWEEP(sweep_threads, Loopback, ReduceScatter, "loopback threads: reduce_scatter",
               "[loopback]")
COLOSSUS_SWEEP(sweep_threads, Loopback, Broadcast, "loopback threads: broadcast", "[loopback]")
COLOSSUS_SWEEP(sweep_threads, Loopback, Reduce, "loopback threads: reduce", "[loopback]")
COLOSSUS_SWEEP(sweep_threads, Shm, AllReduce, "shm threads: allreduce", "[shm]")
COLOSSUS_SWEEP(sweep_threads, Shm, AllGather, "shm threads: allgather", "[shm]")
COLOSSUS_SWEEP(sweep_threads, Shm, ReduceScatter, "shm threads: reduce_scatter", "[shm]")
COLOSSUS_SWEEP(sweep_threads, Shm, Broadcast, "shm threads: broadcast", "[shm]")
COLOSSUS_SWEEP(sweep_threads, Shm, Reduce, "shm threads: reduce", "[shm]")
COLOSSUS_SWEEP(sweep_threads, Tcp, AllReduce, "tcp threads: allreduce", "[tcp]")
COLOSSUS_SWEEP(sweep_threads, Tcp, AllGather, "tcp threads: allgather", "[tcp]")
COLOSSUS_SWEEP(sweep_threads, Tcp, ReduceScatter, "tcp threads: reduce_scatter", "[tcp]")
COLOSSUS_SWEEP(sweep_threads, Tcp, Broadcast, "tcp threads: broadcast", "[tcp]")
COLOSSUS_SWEEP(sweep_threads, Tcp, Reduce, "tcp threads: reduce", "[tcp]")
COLOSSUS_SWEEP(sweep_processes, Shm, AllReduce, "shm processes: allreduce", "[shm][process]")
COLOSSUS_SWEEP(sweep_processes, Shm, AllGather, "shm processes: allgather", "[shm][process]")
COLOSSUS_SWEEP(sweep_processes, Shm, ReduceScatter, "shm processes: reduce_scatter",
               "[shm][process]")
COLOSSUS_SWEEP(sweep_processes, Shm, Broadcast, "shm processes: broadcast", "[shm][process]")
COLOSSUS_SWEEP(sweep_processes, Shm, Reduce, "shm processes: reduce", "[shm][process]")
COLOSSUS_SWEEP(sweep_processes, Tcp, AllReduce, "tcp processes: allreduce", "[tcp][process]")
COLOSSUS_SWEEP(sweep_processes, Tcp, AllGather, "tcp processes: allgather", "[tcp][process]")
COLOSSUS_SWEEP(sweep_processes, Tcp, ReduceScatter, "tcp processes: reduce_scatter",
               "[tcp][process]")
COLOSSUS_SWEEP(sweep_processes, Tcp, Broadcast, "tcp processes: broadcast", "[tcp][process]")
COLOSSUS_SWEEP(sweep_processes, Tcp, Reduce, "tcp processes: reduce", "[tcp][process]")

COLOSSUS_SWEEP(sweep_threads, Loopback, AllToAll, "loopback threads: alltoall", "[loopback]")
COLOSSUS_SWEEP(sweep_threads, Loopback, AllToAllv, "loopback threads: alltoallv", "[loopback]")
COLOSSUS_SWEEP(sweep_threads, Loopback, Gather, "loopback threads: gather", "[loopback]")
COLOSSUS_SWEEP(sweep_threads, Loopback, Scatter, "loopback threads: scatter", "[loopback]")
COLOSSUS_SWEEP(sweep_threads, Loopback, Send, "loopback threads: send/recv", "[loopback]")
COLOSSUS_SWEEP(sweep_threads, Shm, AllToAll, "shm threads: alltoall", "[shm]")
COLOSSUS_SWEEP(sweep_threads, Shm, AllToAllv, "shm threads: alltoallv", "[shm]")
COLOSSUS_SWEEP(sweep_threads, Shm, Gather, "shm threads: gather", "[shm]")
COLOSSUS_SWEEP(sweep_threads, Shm, Scatter, "shm threads: scatter", "[shm]")
COLOSSUS_SWEEP(sweep_threads, Shm, Send, "shm threads: send/recv", "[shm]")
COLOSSUS_SWEEP(sweep_threads, Tcp, AllToAll, "tcp threads: alltoall", "[tcp]")
COLOSSUS_SWEEP(sweep_threads, Tcp, AllToAllv, "tcp threads: alltoallv", "[tcp]")
COLOSSUS_SWEEP(sweep_threads, Tcp, Gather, "tcp threads: gather", "[tcp]")
COLOSSUS_SWEEP(sweep_threads, Tcp, Scatter, "tcp threads: scatter", "[tcp]")
COLOSSUS_SWEEP(sweep_threads, Tcp, Send, "tcp threads: send/recv", "[tcp]")
COLOSSUS_SWEEP(sweep_processes, Shm, AllToAll, "shm processes: alltoall", "[shm][process]")
COLOSSUS_SWEEP(sweep_processes, Shm, AllToAllv, "shm processes: alltoallv", "[shm][process]")
COLOSSUS_SWEEP(sweep_processes, Shm, Gather, "shm processes: gather", "[shm][process]")
COLOSSUS_SWEEP(sweep_processes, Shm, Scatter, "shm processes: scatter", "[shm][process]")
COLOSSUS_SWEEP(sweep_processes, Shm, Send, "shm processes: send/recv", "[shm][process]")
COLOSSUS_SWEEP(sweep_processes, Tcp, AllToAll, "tcp processes: alltoall", "[tcp][process]")
COLOSSUS_SWEEP(sweep_processes, Tcp, AllToAllv, "tcp processes: alltoallv", "[tcp][process]")
COLOSSUS_SWEEP(sweep_processes, Tcp, Gather, "tcp processes: gather", "[tcp][process]")
COLOSSUS_SWEEP(sweep_processes, Tcp, Scatter, "tcp processes: scatter", "[tcp][process]")
COLOSSUS_SWEEP(sweep_processes, Tcp, Send, "tcp processes: send/recv", "[tcp][process]")

// A chunk of many slots would deadlock a ring (each step needs a free slot
// while its first send still fills the stream); the settings clamp it.
TEST_CASE("a chunk larger than the FIFO holds is clamped, not a deadlock", "[loopback]") {
  Options o;
  o.chunk_bytes = 1 << 20;
  o.slot_bytes = 256;
  o.timeout_s = 20;
  test::Group group(5, o);
  std::vector<std::string> problems;
  for (Collective coll : {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
                          Collective::Broadcast, Collective::Reduce}) {
    test::Case c;
    c.coll = coll;
    c.count = 10007;
    c.root = 2;
    for (auto& p : group.run(c)) problems.push_back(p);
  }
  INFO((problems.empty() ? std::string("none") : problems[0]));
  CHECK(problems.empty());
}

// ucx: the same sweeps, run by two ctest entries (tests/collectives/
// CMakeLists.txt), once over UCX's tcp and once over its shared memory
// (COLOSSUS_UCX_TLS); hidden from the default listing so that each runs
// with its UCX_TLS set.
#ifdef COLOSSUS_TEST_UCX
#define COLOSSUS_UCX_SWEEPS(coll, name)                                      \
  COLOSSUS_SWEEP(sweep_threads, Ucx, coll, "ucx threads: " name, "[.][ucx]") \
  COLOSSUS_SWEEP(sweep_processes, Ucx, coll, "ucx processes: " name, "[.][ucx][process]")
COLOSSUS_UCX_SWEEPS(AllReduce, "allreduce")
COLOSSUS_UCX_SWEEPS(AllGather, "allgather")
COLOSSUS_UCX_SWEEPS(ReduceScatter, "reduce_scatter")
COLOSSUS_UCX_SWEEPS(Broadcast, "broadcast")
COLOSSUS_UCX_SWEEPS(Reduce, "reduce")
COLOSSUS_UCX_SWEEPS(AllToAll, "alltoall")
COLOSSUS_UCX_SWEEPS(AllToAllv, "alltoallv")
COLOSSUS_UCX_SWEEPS(Gather, "gather")
COLOSSUS_UCX_SWEEPS(Scatter, "scatter")
COLOSSUS_UCX_SWEEPS(Send, "send/recv")
#endif
