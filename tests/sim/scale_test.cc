// scale_test.cc: a Colossus-sized call (100,000 ranks, 12,500 nodes x 8)
// simulates folded: one node of representatives, whose steps are all the
// engine processes (a bounded number of events each). Its wall time is
// measured by bench/scale_bench, not asserted here.
#include "catch.hpp"
#include "sim_fixtures.hpp"

using namespace simtest;

// Events the engine may process per simulated step (measured: 3 here).
constexpr std::uint64_t kEventsPerStep = 4;

TEST_CASE("ring allreduce on 100,000 ranks, folded") {
  Rates r;
  r.intra_gbps = 450;
  r.intra_lat_us = 1;
  r.nic_gbps = 50;
  r.nic_lat_us = 4;
  r.local_gbps = 3350;
  r.step_us = 0.25;
  r.nics_per_node = 8;
  const int n = 100000;
  const Fabric f = Fabric::uniform(Layout::blocks(12500, 8), model_of(r));
  const CollArgs a =
      args_of(Collective::AllReduce, std::size_t{100000} * 64, n);  // 64 floats per block
  const SimResult res = run(f, a, Algo::Ring, params_of(1), true);
  INFO("100k-rank folded ring allreduce: " << res.steps << " steps, " << res.events << " events, "
                                           << res.time_us << " us simulated");
  REQUIRE(res.folding.active());
  CHECK(res.folding.group == colossus::sim::Folding::Group::NodeRotation);
  CHECK(res.folding.nodes == 12500);
  CHECK(res.slots == 8);
  // 8 representatives, 2(n-1)+1 steps each (one loop: 64-float blocks).
  CHECK(res.steps == 8u * (2u * (n - 1) + 1));
  // The work: a bounded number of events per step of the 8 held Plans (a
  // wake, the flows a step starts and their ends), not per rank of 100,000.
  CHECK(res.events <= kEventsPerStep * res.steps);
  // Closed form. One channel, one flow per rank at a time, own NICs: no
  // sharing, so the ring is the max-plus recurrence of ring_pipeline. With
  // latencies (1, 4 us) far above the spread of step durations (d_nic - a
  // = 4.5 ns), the critical path moves to the previous rank at every step:
  // it collects the 2n-2 sending steps of ranks r-1, r-2, ..., r+2 (every
  // rank twice but r and r+1) and the latencies of the hops into r, r-1, ...,
  // r+3 (every hop twice but those into r+1 and r+2), then the Recv. The
  // maximum over r drops two fast steps and two intra hops:
  //   T = 2(sum d + sum l) - 2(a + alpha_i) + s + 2B/mem,
  // sum d = 12500 d_nic + 87500 a, sum l = 12500 alpha_e + 87500 alpha_i.
  const double b = 64 * 4;
  const double a_fast = r.step_us + xfer_us(b, r.intra_gbps),
               d_nic = r.step_us + xfer_us(b, r.nic_gbps);
  const double sum_d = 12500 * d_nic + 87500 * a_fast,
               sum_l = 12500 * r.nic_lat_us + 87500 * r.intra_lat_us;
  const double want = 2 * (sum_d + sum_l) - 2 * (a_fast + r.intra_lat_us) + r.step_us +
                      xfer_us(2 * b, r.local_gbps);
  INFO("got " << res.time_us << " us, want " << want << " us");
  CHECK(rel_err(res.time_us, want) < 1e-6);
}

// Pairwise alltoall on 8,192 ranks (1,024 nodes x 8): 8191 rounds per rank,
// 67M messages unfolded; folded, the 8 ranks of node 0 stand for their
// classes. On links alike on and off the node every rank runs in lockstep
// (alltoall_test.cc): T = (n - 1)(2s + X + alpha), here on 8 held ranks
// (blocks above pairwise's 128 KiB small-block limit: one round at a time).
TEST_CASE("pairwise alltoall on 8,192 ranks, folded, in closed form") {
  Rates r;
  r.intra_gbps = r.nic_gbps = 50;
  r.intra_lat_us = r.nic_lat_us = 3;
  r.local_gbps = 3350;
  r.step_us = 0.25;
  r.nics_per_node = 8;
  const int n = 8192;
  const Fabric f = Fabric::uniform(Layout::blocks(1024, 8), model_of(r));
  const std::size_t count = 33024;  // 129 KiB blocks, 1 GiB per rank
  const SimResult res =
      run(f, args_of(Collective::AllToAll, count, n), Algo::Pairwise, params_of(1, 4 * count));
  INFO("8192-rank folded pairwise alltoall: " << res.steps << " steps, " << res.events
                                              << " events, " << res.time_us << " us simulated");
  REQUIRE(res.folding.active());
  CHECK(res.folding.exact);
  CHECK(res.slots == 8);
  CHECK(res.steps == 8u * (1u + 2u * (n - 1)));
  CHECK(res.events <= kEventsPerStep * res.steps);
  const double b = 4.0 * count;
  // Memory flows: each Send's 2 passes (at the NIC's rate: the NIC is the
  // tighter resource) and each Recv's 2 passes after its message, on the
  // rank's engine; the own block's Copy runs beside the first round.
  const double want = (n - 1) * (2 * r.step_us + xfer_us(b, r.nic_gbps) + r.nic_lat_us +
                                 xfer_us(2 * b, r.local_gbps));
  INFO("got " << res.time_us << " us, want " << want << " us");
  CHECK(rel_err(res.time_us, want) < 1e-6);
}
