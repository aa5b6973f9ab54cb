// sim_fixtures.hpp: shared helpers of the simulator tests.
//
// Units follow tune::CostModel: rates in GB/s (1e9 bytes/s = 1e3 bytes/us),
// times in microseconds. Closed-form tests use a memory engine so fast
// (1e9 GB/s) that memory-only flows cost ~1e-6 us; the formulas still add
// those terms where they are on the critical path.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/layout.hpp"
#include "plan/plan.hpp"
#include "sim/engine.hpp"
#include "sim/fabric.hpp"
#include "tune/cost_model.hpp"

namespace simtest {

using colossus::algorithms::Algo;
using colossus::algorithms::AlgoParams;
using colossus::algorithms::Layout;
using colossus::plan::CollArgs;
using colossus::plan::Collective;
using colossus::sim::Fabric;
using colossus::sim::SimOptions;
using colossus::sim::SimResult;

inline constexpr double kHugeMemory = 1e9;  // GB/s: memory flows all but free

struct Rates {
  double intra_gbps = 100, intra_lat_us = 2;
  double nic_gbps = 25, nic_lat_us = 5;
  double local_gbps = kHugeMemory;
  double step_us = 1;
  int nics_per_node = 1;
};

inline colossus::tune::CostModel model_of(const Rates& r) {
  colossus::tune::CostModel m;
  m.intra = {r.intra_gbps, r.intra_lat_us};
  m.inter = {r.nic_gbps, r.nic_lat_us};
  m.local_gbytes_per_s = r.local_gbps;
  m.step_us = r.step_us;
  m.cores_per_node = 0;  // no time-slicing: intra latency and rate as given
  m.nics_per_node = r.nics_per_node;
  m.source = "test";
  return m;
}

// Time to move `bytes` at `gbps` GB/s, in microseconds.
inline double xfer_us(double bytes, double gbps) { return bytes / (gbps * 1e3); }

inline CollArgs args_of(Collective coll, std::size_t count, int nranks) {
  CollArgs a;
  a.coll = coll;
  a.count = count;
  a.dtype = colossus::DataType::Float32;
  a.op = colossus::ReduceOp::Sum;
  a.root = 0;
  a.nranks = nranks;
  return a;
}

inline AlgoParams params_of(int nchannels, std::size_t chunk_bytes = std::size_t{1} << 19) {
  AlgoParams p;
  p.nchannels = nchannels;
  p.chunk_bytes = chunk_bytes;
  return p;
}

inline SimResult run(const Fabric& f, const CollArgs& a, Algo algo, const AlgoParams& p,
                     bool fold = true, colossus::sim::TraceRecorder* trace = nullptr) {
  SimOptions o;
  o.fold = fold;
  o.trace = trace;
  return colossus::sim::simulate(f, a, algo, p, o);
}

// Steps of every rank's Plan (as the engine builds them: layout = the fabric's).
inline std::size_t total_steps(const Layout& l, const CollArgs& a, Algo algo, AlgoParams p,
                               std::size_t* sends = nullptr) {
  p.layout = &l;
  std::size_t n = 0, s = 0;
  for (int r = 0; r < a.nranks; ++r) {
    const colossus::plan::Plan plan = colossus::algorithms::make_plan(algo, a, r, p);
    n += plan.num_steps();
    for (const auto& ch : plan.channels) {
      for (const auto& st : ch.steps) s += colossus::plan::sends(st.kind) ? 1 : 0;
    }
  }
  if (sends) *sends = s;
  return n;
}

inline std::string plan_of(const Layout& l, const CollArgs& a, Algo algo, AlgoParams p, int rank) {
  p.layout = &l;
  return colossus::plan::describe(colossus::algorithms::make_plan(algo, a, rank, p));
}

inline double rel_err(double got, double want) { return std::fabs(got - want) / std::fabs(want); }

// Reference for one-channel rings whose flows share no resource (each rank
// has one outgoing flow at a time on its own tx, one incoming on its rx):
// the max-plus recurrence of the engine's semantics.
//   d[r]   = duration of a sending step of rank r (step_us + bytes / hop rate)
//   lat[r] = latency of the hop r -> r+1
//   sends  = sending steps per rank (allreduce 2(n-1)), then a final receive
//            of duration `last` (step_us + memory flow).
// Step k of rank r starts when its step k-1 ended and the message of rank
// r-1's step k-1 arrived (end + latency).
inline double ring_pipeline(const std::vector<double>& d, const std::vector<double>& lat, int sends,
                            double last) {
  const int n = static_cast<int>(d.size());
  std::vector<double> e(d), prev;
  for (int k = 1; k < sends; ++k) {
    prev = e;
    for (int r = 0; r < n; ++r) {
      const int p = (r + n - 1) % n;
      e[static_cast<std::size_t>(r)] =
          std::max(prev[static_cast<std::size_t>(r)],
                   prev[static_cast<std::size_t>(p)] + lat[static_cast<std::size_t>(p)]) +
          d[static_cast<std::size_t>(r)];
    }
  }
  double t = 0;
  for (int r = 0; r < n; ++r) {
    const int p = (r + n - 1) % n;
    t = std::max(t, std::max(e[static_cast<std::size_t>(r)],
                             e[static_cast<std::size_t>(p)] + lat[static_cast<std::size_t>(p)]) +
                        last);
  }
  return t;
}

}  // namespace simtest
