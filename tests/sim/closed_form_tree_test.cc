// closed_form_tree_test.cc: binary tree, double binary tree and
// hierarchical algorithms against formulas derived from the engine's
// semantics and the Plans (plan::describe shows them; derivations below).
//
// Notation as in closed_form_test.cc: s = step_us, u = M/beta for a message
// of M bytes, alpha = latency, mem = the (huge) memory rate.
#include <cmath>

#include "catch.hpp"
#include "sim_fixtures.hpp"

using namespace simtest;

namespace {
constexpr double kTol = 1e-6;  // relative
}

// Binary tree (NCCL's) on n = 2^d ranks, root 0, one chunk of M bytes.
// n = 8: 0 -> 4 -> {2, 6}, 2 -> {1, 3}, 6 -> {5, 7}.
// Broadcast: each interior rank RecvCopySends to its first child, then
// Sends to its second; the last leaf (n-1) is reached after 2d-1 sends
// (1 from the root, 2 per interior level) and d hops, then pays its Recv:
//   T = (2d-1)(s + u) + d*alpha + s + 2M/mem.
// Reduce: leaves send first, two siblings at once into their parent's rx
// port (s + 2u); each interior level RecvReduces its first child
// (s + 3M/mem), then RecvReduceSends the second child's sum on, again
// sharing the grandparent's rx with its sibling (s + 2u), except the
// root's single child (s + u); the root RecvReduces last:
//   T = (s+2u) + (d-2)(alpha + 2s + 2u) + (alpha + 2s + u) + (alpha + s) + 3dM/mem
//     = 2d*s + (2d-1)u + d*alpha + 3dM/mem (also d = 1: one Send, one RecvReduce).
TEST_CASE("binary tree broadcast and reduce: depth log2(n)") {
  Rates r;
  r.intra_gbps = 100;
  r.intra_lat_us = 3;
  r.step_us = 0.5;
  const std::size_t count = 65536;  // M = 256 KiB, one chunk
  const double m = 4.0 * count, u = xfer_us(m, r.intra_gbps);
  for (const int d : {1, 2, 3, 4}) {
    const int n = 1 << d;
    const Fabric f = Fabric::uniform(Layout::single_node(n), model_of(r));
    const double base = 2 * d * r.step_us + (2 * d - 1) * u + d * r.intra_lat_us;
    const SimResult b = run(f, args_of(Collective::Broadcast, count, n), Algo::Tree, params_of(1));
    const double want_b = base + xfer_us(2 * m, r.local_gbps);
    INFO("n=" << n << " broadcast: got " << b.time_us << " want " << want_b);
    CHECK(rel_err(b.time_us, want_b) < kTol);
    const SimResult red = run(f, args_of(Collective::Reduce, count, n), Algo::Tree, params_of(1));
    const double want_r = base + xfer_us(3.0 * d * m, r.local_gbps);
    INFO("n=" << n << " reduce: got " << red.time_us << " want " << want_r);
    CHECK(rel_err(red.time_us, want_r) < kTol);
  }
}

// Double binary tree allreduce, n = 8, one chunk of M bytes per channel:
// channel 0 runs tree A (above), channel 1 its mirror r -> 7-r
// (7 -> 3 -> {5, 1}, 5 -> {6, 4}, 1 -> {2, 0}). Every rank is a leaf in one
// tree and interior in the other, so in the reduce phase no port carries
// flows of both trees at once (leaf sends end by s + 2u, interior sends
// start later): each tree reduces as alone, R = 6s + 5u + 3alpha + 9M/mem
// (formula above, d = 3). The broadcasts start together at R; in tree A
// 4 -> 6 runs over [R+3s+2u+alpha, +u] and tree B's 5 -> 6 over
// [R+3s+2u+2alpha, +u], into the same rx port of rank 6 (mirror: 3 -> 1 and
// 2 -> 1 into rank 1). No other pair of flows meets.
//  - alpha >= u: they do not overlap; tree A's last leaf 7 finishes at
//    R + 6s + 5u + 3alpha + 2M/mem.
//  - alpha < u: 4 -> 6 runs alone for alpha, then both at beta/2 until it
//    ends at R+3s+4u, 5 -> 6 ends alpha later (R+3s+4u+alpha); rank 6 then
//    forwards 6 -> 5 and 6 -> 7 (s+u each), 7 pays its Recv:
//    R + 6s + 6u + 2alpha + 2M/mem.
// Both: T = 12s + 10u + 5alpha + max(alpha, u) + 11M/mem.
TEST_CASE("double binary tree allreduce of one chunk, n = 8") {
  const std::size_t q = 65536;  // floats per channel: M = 256 KiB
  const double m = 4.0 * q;
  for (const double alpha : {6.0, 0.5}) {
    Rates r;
    r.intra_gbps = 100;  // u = 2.62 us
    r.intra_lat_us = alpha;
    r.step_us = 0.5;
    const double u = xfer_us(m, r.intra_gbps);
    const Fabric f = Fabric::uniform(Layout::single_node(8), model_of(r));
    const SimResult res =
        run(f, args_of(Collective::AllReduce, 2 * q, 8), Algo::Tree, params_of(1));
    const double want =
        12 * r.step_us + 10 * u + 5 * alpha + std::max(alpha, u) + xfer_us(11 * m, r.local_gbps);
    INFO("alpha=" << alpha << ": got " << res.time_us << " want " << want);
    CHECK(rel_err(res.time_us, want) < kTol);
    CHECK_FALSE(res.folding.active());  // trees are not folded
    CHECK(res.slots == 8);
  }
}

// Hierarchical allreduce, 2 nodes x 2, one channel, M bytes (each rank has
// its own NIC: nics_per_node = 2). Rank 0's Plan: Send 1 (M/2), RecvReduce
// from 1 (M/2), Send 2 (M/4), RecvReduceCopySend 2 -> 2 (M/4), Recv 2 (M/4),
// Send 1 (M/2), Recv 1 (M/2); every rank alike, in lockstep, u1 = (M/2)/beta,
// u2 = (M/4)/gamma:
//   1. intra reduce-scatter: (s + u1) + alpha_i + (s + 1.5M/mem)
//   2. inter allreduce of the block on the rail: (s + u2) + alpha_e +
//      (s + u2) + alpha_e + (s + 0.5M/mem)
//   3. intra allgather: (s + u1) + alpha_i + (s + M/mem)
//   T = 7s + 2u1 + 2u2 + 2alpha_i + 2alpha_e + 3M/mem.
// With one NIC per node both rails' phase-2 flows share it: u2 doubles.
TEST_CASE("hierarchical allreduce, 2 nodes x 2, phase by phase") {
  Rates r;
  r.intra_gbps = 150;
  r.intra_lat_us = 0.75;
  r.nic_gbps = 25;
  r.nic_lat_us = 3.5;
  r.step_us = 0.5;
  const std::size_t count = 131072;  // M = 512 KiB
  const double m = 4.0 * count;
  const double u1 = xfer_us(m / 2, r.intra_gbps);
  for (const int nics : {2, 1}) {
    r.nics_per_node = nics;
    const double u2 = xfer_us(m / 4, r.nic_gbps) * (2.0 / nics);
    const Fabric f = Fabric::uniform(Layout::blocks(2, 2), model_of(r));
    const SimResult res =
        run(f, args_of(Collective::AllReduce, count, 4), Algo::Hierarchical, params_of(1));
    const double want = 7 * r.step_us + 2 * u1 + 2 * u2 + 2 * r.intra_lat_us + 2 * r.nic_lat_us +
                        xfer_us(3 * m, r.local_gbps);
    INFO("nics=" << nics << ": got " << res.time_us << " want " << want);
    CHECK(rel_err(res.time_us, want) < kTol);
  }
}

// Bandwidth sharing: hierarchical allreduce on 2 nodes x 4. Phase 2 runs 4
// rails at once, each rank sending off-node through NIC local % nics: with
// nics_per_node = 1 the 4 flows (same size, same start) get gamma/4 each.
// Phases: 1. ring reduce-scatter of 4 (3 sends of M/4, 3 hops, RecvReduce):
// 4s + 3u1 + 3alpha_i + 0.75M/mem; 2. ring of 2 over M/8 pieces:
// 3s + 2u2 + 2alpha_e + 0.25M/mem; 3. ring allgather of 4:
// 4s + 3u1 + 3alpha_i + 0.5M/mem, with u1 = (M/4)/beta, u2 = (M/8)/(gamma/k),
// k = 4/nics flows per NIC:
//   T = 11s + 6u1 + 2u2 + 6alpha_i + 2alpha_e + 1.5M/mem.
TEST_CASE("ranks sharing a NIC get an equal share of it (hierarchical 2x4)") {
  Rates r;
  r.intra_gbps = 200;
  r.intra_lat_us = 1;
  r.nic_gbps = 40;
  r.nic_lat_us = 4;
  r.step_us = 0.5;
  const std::size_t count = 131072;  // M = 512 KiB
  const double m = 4.0 * count;
  const double u1 = xfer_us(m / 4, r.intra_gbps);
  double prev = 0;
  for (const int nics : {4, 2, 1}) {
    r.nics_per_node = nics;
    const double u2 = xfer_us(m / 8, r.nic_gbps / (4.0 / nics));
    const Fabric f = Fabric::uniform(Layout::blocks(2, 4), model_of(r));
    const SimResult res =
        run(f, args_of(Collective::AllReduce, count, 8), Algo::Hierarchical, params_of(1));
    const double want = 11 * r.step_us + 6 * u1 + 2 * u2 + 6 * r.intra_lat_us + 2 * r.nic_lat_us +
                        xfer_us(1.5 * m, r.local_gbps);
    INFO("nics=" << nics << ": got " << res.time_us << " want " << want);
    CHECK(rel_err(res.time_us, want) < kTol);
    // Each halving of the NICs adds exactly 2 * (M/8) / gamma * (flows per NIC before).
    if (prev > 0)
      CHECK(res.time_us - prev ==
            Approx(2 * xfer_us(m / 8, r.nic_gbps) * (2.0 / nics)).epsilon(1e-6));
    prev = res.time_us;
  }
}
