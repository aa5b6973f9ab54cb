// latency_only_test.cc: the tuner's critical path is the simulator with
// every rate infinite.
//
// tune::plan_traffic replays the one-chunk Plans latency-only (traffic.cc);
// the engine replays the same Plans with flows over the Fabric. Both walk
// them with plan::Replay. With rates so high that moving bytes costs
// nothing, the engine's time must be the tuner's critical_us, for every
// algorithm, collective, layout and channel count, folded or not. (The one
// documented difference, per-pair switch-tier latency on a topology, does
// not arise on Fabric::uniform.)
#include <string>

#include "catch.hpp"
#include "sim_fixtures.hpp"
#include "tune/traffic.hpp"

using namespace simtest;

namespace {

constexpr double kInfinite = 1e12;  // GB/s: a byte costs 1e-15 us

colossus::tune::CostModel latency_only_model(int nics_per_node, int cores_per_node) {
  Rates r;
  r.intra_gbps = r.nic_gbps = r.local_gbps = kInfinite;
  r.intra_lat_us = 0.7;
  r.nic_lat_us = 3.1;
  r.step_us = 0.25;
  r.nics_per_node = nics_per_node;
  colossus::tune::CostModel m = model_of(r);
  m.cores_per_node = cores_per_node;  // oversubscribed nodes add time-slice latency per intra hop
  return m;
}

}  // namespace

TEST_CASE("latency-only: the tuner's critical path equals the simulator at infinite rates") {
  struct Shape {
    int nodes, per_node, nics, cores;
  };
  const Shape shapes[] = {{1, 1, 1, 0}, {1, 5, 1, 0}, {1, 8, 1, 2},
                          {2, 4, 2, 0}, {3, 3, 1, 0}, {4, 4, 4, 0}};
  const Collective colls[] = {Collective::AllReduce, Collective::AllGather,
                              Collective::ReduceScatter, Collective::Broadcast, Collective::Reduce};
  int checked = 0;
  for (const Shape& sh : shapes) {
    const Layout layout = Layout::blocks(sh.nodes, sh.per_node);
    const colossus::tune::CostModel m = latency_only_model(sh.nics, sh.cores);
    const Fabric fabric = Fabric::uniform(layout, m);
    const int n = layout.nranks();
    for (const Collective coll : colls) {
      for (int i = 0; i < colossus::algorithms::kNumAlgos; ++i) {
        const Algo algo = static_cast<Algo>(i);
        if (!colossus::algorithms::supports(algo, coll)) continue;
        for (const int nch : {1, 2}) {
          CollArgs a = args_of(coll, 0, n);
          a.root = n - 1;
          a.count = colossus::tune::representative_count(a, nch);
          const colossus::tune::Traffic t = colossus::tune::plan_traffic(m, layout, a, algo, nch);
          const AlgoParams p = params_of(nch, a.count * 4 * static_cast<std::size_t>(n));
          for (const bool fold : {false, true}) {
            const SimResult r = run(fabric, a, algo, p, fold);
            INFO(colossus::algorithms::to_string(algo)
                 << " " << colossus::plan::to_string(coll) << " " << sh.nodes << "x" << sh.per_node
                 << " ch " << nch << (fold ? " folded" : "") << ": sim " << r.time_us << " tuner "
                 << t.critical_us);
            CHECK(t.critical_us > 0);
            CHECK(std::fabs(r.time_us - t.critical_us) <= 1e-6 * t.critical_us);
            ++checked;
          }
        }
      }
    }
  }
  CHECK(checked > 100);
}
