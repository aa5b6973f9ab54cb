// scale_bench: wall times of the Colossus-scale work the tests check by
// counts only (tests/topology/presets_test.cc, xml_test.cc,
// tests/sim/scale_test.cc, refusal_test.cc). A program that prints the
// figures, not a test: nothing here passes or fails on a time.
//
//   scale_bench [repetitions]     (default 3; the best of them is printed)
//
// Figures: building the colossus preset (100,000 GPUs); its XML export and
// import; a folded 100,000-rank ring allreduce in the simulator; the
// simulator refusing calls too big to hold (a tree, and a ring unfolded);
// and all-to-all on 8,192 ranks of the preset (1,024 nodes): the tuner's
// choice and a folded pairwise alltoall (8,191 rounds per rank).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>

#include "algorithms/algorithm.hpp"
#include "algorithms/layout.hpp"
#include "colossus/error.hpp"
#include "sim/engine.hpp"
#include "sim/fabric.hpp"
#include "topology/mapping.hpp"
#include "topology/presets.hpp"
#include "topology/xml.hpp"
#include "tune/cost_model.hpp"
#include "tune/from_topology.hpp"
#include "tune/tuner.hpp"

namespace {

using namespace colossus;
using Clock = std::chrono::steady_clock;

// Best wall time of `reps` runs of `body`, in seconds.
double best_of(int reps, const std::function<void()>& body) {
  double best = 1e300;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = Clock::now();
    body();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

// The 100,000-rank fabric of tests/sim/scale_test.cc: 12,500 nodes x 8.
sim::Fabric colossus_fabric() {
  tune::CostModel m;
  m.intra = {450, 1};
  m.inter = {50, 4};
  m.local_gbytes_per_s = 3350;
  m.step_us = 0.25;
  m.cores_per_node = 0;
  m.nics_per_node = 8;
  m.source = "scale_bench";
  return sim::Fabric::uniform(algorithms::Layout::blocks(12500, 8), m);
}

plan::CollArgs allreduce(std::size_t count, int nranks) {
  plan::CollArgs a;
  a.coll = plan::Collective::AllReduce;
  a.count = count;
  a.dtype = DataType::Float32;
  a.op = ReduceOp::Sum;
  a.nranks = nranks;
  return a;
}

// Runs a simulation that must be refused; returns whether it was.
bool refused(const sim::Fabric& f, const plan::CollArgs& a, algorithms::Algo algo, bool fold) {
  sim::SimOptions o;
  o.fold = fold;
  algorithms::AlgoParams p;
  try {
    (void)sim::simulate(f, a, algo, p, o);
  } catch (const Error& e) {
    return e.code() == ErrorCode::InvalidArgument;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::max(1, std::atoi(argv[1])) : 3;
  std::printf("scale_bench: best of %d\n", reps);

  topology::Topology t;
  const double build = best_of(reps, [&] { t = topology::make_preset("colossus"); });
  std::printf("%-44s %8.3f s  (%zu hosts, %zu GPUs, %zu switches, %zu links)\n",
              "colossus preset: build", build, t.hosts.size(), t.gpus.size(), t.switches.size(),
              t.links.size());

  std::size_t xml_bytes = 0;
  bool same = true;
  const double xml = best_of(reps, [&] {
    const std::string text = topology::to_xml(t);
    xml_bytes = text.size();
    same = same && topology::from_xml(text, "colossus") == t;
  });
  std::printf("%-44s %8.3f s  (%.1f MB%s)\n", "colossus preset: XML export + import", xml,
              static_cast<double>(xml_bytes) / 1e6, same ? "" : ", ROUND TRIP DIFFERS");

  const sim::Fabric f = colossus_fabric();
  sim::SimResult res;
  const double simulate = best_of(reps, [&] {
    res = sim::simulate(f, allreduce(std::size_t{100000} * 64, 100000), algorithms::Algo::Ring,
                        algorithms::AlgoParams{}, sim::SimOptions{});
  });
  std::printf("%-44s %8.3f s  (%llu steps, %llu events, %.1f us simulated)\n",
              "simulate: 100k-rank ring allreduce, folded", simulate,
              static_cast<unsigned long long>(res.steps),
              static_cast<unsigned long long>(res.events), res.time_us);

  bool ok = true;
  const double tree = best_of(reps, [&] {
    ok = refused(f, allreduce(std::size_t{1} << 28, 100000), algorithms::Algo::Tree, true) && ok;
  });
  std::printf("%-44s %8.3f s\n", "simulate: refuse a 100k-rank tree", tree);
  const double ring = best_of(reps, [&] {
    ok = refused(f, allreduce(std::size_t{100000} * 64, 100000), algorithms::Algo::Ring, false) &&
         ok;
  });
  std::printf("%-44s %8.3f s\n", "simulate: refuse a 100k-rank ring, unfolded", ring);

  // All-to-all on 8,192 ranks of the preset: 1 MiB per rank (128 B blocks).
  const topology::Topology t8 = topology::make_preset("colossus:nodes=1024");
  const topology::PathModel paths(t8, topology::map_ranks(t8, 8192));
  const tune::CostModel model = tune::cost_model(paths, "scale_bench");
  const sim::Fabric f8 = sim::Fabric::from_paths(paths, model);
  plan::CollArgs a2a;
  a2a.coll = plan::Collective::AllToAll;
  a2a.count = 32;
  a2a.dtype = DataType::Float32;
  a2a.nranks = 8192;
  tune::Choice choice;
  const double tune_s = best_of(reps, [&] {
    tune::Tuner tuner(model, f8.layout(), tune::AlgoFilter(), {});
    choice = tuner.choose(a2a);
  });
  std::printf("%-44s %8.3f s  (%s)\n", "tune: 8192-rank alltoall, 1 MiB per rank", tune_s,
              tune::summary(a2a, choice).c_str());
  const double a2a_s = best_of(reps, [&] {
    res = sim::simulate(f8, a2a, algorithms::Algo::Pairwise, algorithms::AlgoParams{},
                        sim::SimOptions{});
  });
  std::printf("%-44s %8.3f s  (%llu steps, %llu events, %.1f us simulated, %s)\n",
              "simulate: 8192-rank pairwise alltoall, folded", a2a_s,
              static_cast<unsigned long long>(res.steps),
              static_cast<unsigned long long>(res.events), res.time_us,
              res.folding.describe().c_str());
  if (!same || !ok) {
    std::fprintf(stderr, "scale_bench: %s\n",
                 !same ? "the XML round trip differs" : "a call was not refused");
    return 1;
  }
  return 0;
}
