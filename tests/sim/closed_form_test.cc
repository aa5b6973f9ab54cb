// closed_form_test.cc: the engine against alpha-beta formulas derived from
// its documented semantics (engine.hpp), for rings and recursive doubling.
//
// Notation: s = step_us, beta = intra rate, gamma = NIC rate, alpha = latency,
// B = bytes of one ring block, mem = memory rate (huge, see sim_fixtures.hpp).
// Every step pays s once it may start (its message arrived, its previous
// step ended); a sending step then moves its bytes as a flow; a message
// arrives alpha after its flow ends.
#include <cmath>

#include "catch.hpp"
#include "sim_fixtures.hpp"

using namespace simtest;

namespace {
constexpr double kTol = 1e-6;  // relative
}

TEST_CASE("uniform fabric reports the CostModel's numbers") {
  Rates r;
  r.nics_per_node = 2;
  const Fabric f = Fabric::uniform(Layout::blocks(3, 4), model_of(r));
  CHECK(f.nranks() == 12);
  CHECK(f.asymmetry().empty());
  CHECK(f.same_node(4, 7));
  CHECK_FALSE(f.same_node(3, 4));
  for (int x = 0; x < 12; ++x) {
    CHECK(f.nic_index(x) == (x % 4) % 2);
    CHECK(f.nic_gbytes_per_s(x) == r.nic_gbps);
  }
  CHECK(f.intra_gbytes_per_s() == r.intra_gbps);
  CHECK(f.memory_gbytes_per_s() == r.local_gbps);
  CHECK(f.latency_us(0, 1) == r.intra_lat_us);
  CHECK(f.latency_us(0, 4) == r.nic_lat_us);
  CHECK(f.step_us() == r.step_us);
}

// Ring allreduce, one loop (block <= chunk), n ranks of one node, c channels
// of equal parts. Each rank sends 2(n-1) times (Send, n-2 RecvReduceSend,
// RecvReduceCopySend, n-2 RecvCopySend), then Recv. All ranks run in
// lockstep: sending step k of every rank ends at
//   (k+1)(s + c*Bc/beta) + k*alpha
// (the c channels' flows start together and share the rank's tx port, so
// each runs at beta/c), the last message arrives alpha later, and the Recv
// pays s plus its memory flow (2 passes, c of them sharing the engine):
//   T = 2(n-1)(s + c*Bc/beta + alpha) + s + c*2*Bc/mem.
TEST_CASE("ring allreduce on one node matches 2(n-1)(s + B/beta + alpha) + s") {
  Rates r;
  r.intra_gbps = 40;
  r.intra_lat_us = 1.5;
  r.step_us = 0.7;
  for (const int n : {2, 3, 5, 7, 8}) {
    for (const int nch : {1, 2}) {
      for (const std::size_t q :
           {std::size_t{1024}, std::size_t{65536}}) {  // floats per channel block
        const std::size_t count = q * static_cast<std::size_t>(n * nch);
        const double bc = 4.0 * static_cast<double>(q);
        const Fabric f = Fabric::uniform(Layout::single_node(n), model_of(r));
        const SimResult res =
            run(f, args_of(Collective::AllReduce, count, n), Algo::Ring, params_of(nch));
        const double want =
            2.0 * (n - 1) * (r.step_us + xfer_us(nch * bc, r.intra_gbps) + r.intra_lat_us) +
            r.step_us + xfer_us(nch * 2 * bc, r.local_gbps);
        INFO("n=" << n << " channels=" << nch << " block=" << bc << " B: got " << res.time_us
                  << " want " << want);
        CHECK(rel_err(res.time_us, want) < kTol);
        CHECK(res.slots >= 1);
        CHECK(res.steps > 0);
      }
    }
  }
}

// Ring allgather, per rank: Send own block, Copy it locally (s + 2B/mem),
// n-2 RecvCopySend, Recv. The first RecvCopySend waits for both the Copy
// (ends s + 2B/mem after the Send) and the message (alpha after it); later
// sends are alpha apart:
//   T = (n-1)(s + B/beta) + max(s + 2B/mem, alpha) + (n-2)alpha + s + 2B/mem.
TEST_CASE("ring allgather: n-1 steps, the local copy overlapping the first hop") {
  for (const double alpha : {3.0, 0.4}) {  // latency above and below the Copy's step cost
    Rates r;
    r.intra_gbps = 50;
    r.intra_lat_us = alpha;
    r.step_us = 1.0;
    for (const int n : {2, 3, 8, 11}) {
      const std::size_t count = 32768;  // floats per rank: B = 128 KiB
      const double b = 4.0 * count;
      const Fabric f = Fabric::uniform(Layout::single_node(n), model_of(r));
      const SimResult res =
          run(f, args_of(Collective::AllGather, count, n), Algo::Ring, params_of(1));
      const double eps = xfer_us(2 * b, r.local_gbps);
      const double want = (n - 1) * (r.step_us + xfer_us(b, r.intra_gbps)) +
                          std::max(r.step_us + eps, alpha) + (n - 2) * alpha + r.step_us + eps;
      INFO("alpha=" << alpha << " n=" << n << ": got " << res.time_us << " want " << want);
      CHECK(rel_err(res.time_us, want) < kTol);
    }
  }
}

// 2 nodes x 4, ring 0..7: hops 3->4 and 7->0 cross nodes through a NIC at
// gamma < beta (latency alpha_e). No two flows share a resource (one
// outgoing flow per rank on its own tx, the NIC hops in opposite
// directions), so the ring is the max-plus recurrence of ring_pipeline. Its
// closed form when the slow hop dominates, D = s + B/gamma, a = s + B/beta:
// ranks 3 and 7 never wait (their input from 2 arrives by
// E(2,k-1) + alpha_i = (k-2)D + alpha_e + 3alpha_i + 3a <= kD while
// 3(D - a) >= alpha_e + 3alpha_i), so their sending step k ends at (k+1)D;
// ranks 4 and 0 get the last message alpha_e later and pay the Recv:
//   T = 2(n-1) D + alpha_e + s + 2B/mem.
TEST_CASE("2x4 ring limited by its NIC hop") {
  Rates r;
  r.intra_gbps = 100;
  r.intra_lat_us = 2;
  r.nic_gbps = 10;
  r.nic_lat_us = 5;
  r.step_us = 1;
  const int n = 8;
  const std::size_t q = 65536;  // floats per block: B = 256 KiB
  const double b = 4.0 * q;
  const double a = r.step_us + xfer_us(b, r.intra_gbps),
               d_slow = r.step_us + xfer_us(b, r.nic_gbps);
  REQUIRE(3 * (d_slow - a) >= r.nic_lat_us + 3 * r.intra_lat_us);
  for (const int nics : {1, 4}) {  // NIC hops run in opposite directions: never shared
    r.nics_per_node = nics;
    const Fabric f = Fabric::uniform(Layout::blocks(2, 4), model_of(r));
    const SimResult res =
        run(f, args_of(Collective::AllReduce, q * n, n), Algo::Ring, params_of(1));
    const double last = r.step_us + xfer_us(2 * b, r.local_gbps);
    const double want = 2 * (n - 1) * d_slow + r.nic_lat_us + last;
    std::vector<double> d(n, a), lat(n, r.intra_lat_us);
    d[3] = d[7] = d_slow;
    lat[3] = lat[7] = r.nic_lat_us;
    INFO("nics=" << nics << ": got " << res.time_us << " want " << want);
    CHECK(rel_err(ring_pipeline(d, lat, 2 * (n - 1), last), want) < 1e-12);  // the reference agrees
    CHECK(rel_err(res.time_us, want) < kTol);
  }
}

// Same ring where the NIC is only a little slower and its latency large:
// the critical path weaves between ranks; checked against the recurrence.
TEST_CASE("2x4 ring, latency-heavy NIC hop, against the max-plus recurrence") {
  Rates r;
  r.intra_gbps = 100;
  r.intra_lat_us = 1;
  r.nic_gbps = 80;
  r.nic_lat_us = 20;
  r.step_us = 0.5;
  r.nics_per_node = 4;
  const int n = 8;
  const std::size_t q = 65536;
  const double b = 4.0 * q;
  const Fabric f = Fabric::uniform(Layout::blocks(2, 4), model_of(r));
  const SimResult res = run(f, args_of(Collective::AllReduce, q * n, n), Algo::Ring, params_of(1));
  std::vector<double> d(n, r.step_us + xfer_us(b, r.intra_gbps)), lat(n, r.intra_lat_us);
  d[3] = d[7] = r.step_us + xfer_us(b, r.nic_gbps);
  lat[3] = lat[7] = r.nic_lat_us;
  const double want = ring_pipeline(d, lat, 2 * (n - 1), r.step_us + xfer_us(2 * b, r.local_gbps));
  // More than the slow hop alone would take: the NIC latency is on the path more than once.
  CHECK(want > 2 * (n - 1) * d[3] + r.nic_lat_us + r.step_us + 1.0);
  INFO("got " << res.time_us << " want " << want);
  CHECK(rel_err(res.time_us, want) < kTol);
}

// Recursive doubling on p = 2^k ranks, one chunk of M bytes: per round a
// rank Sends M to its partner (s + M/rate; the partner's flow comes the
// other way on other ports), then RecvReduces once the partner's message
// arrived (alpha after the same instant): s + 3M/mem. Per round:
//   2s + M/rate + alpha + 3M/mem, log2(p) rounds.
TEST_CASE("recursive doubling: log2(n) exchanges") {
  Rates r;
  r.intra_gbps = 60;
  r.intra_lat_us = 1.25;
  r.step_us = 0.5;
  for (const int n : {2, 4, 8, 16}) {
    for (const std::size_t count : {std::size_t{256}, std::size_t{131072}}) {
      const double m = 4.0 * count;
      const Fabric f = Fabric::uniform(Layout::single_node(n), model_of(r));
      const SimResult res =
          run(f, args_of(Collective::AllReduce, count, n), Algo::RecursiveDoubling, params_of(1));
      const double rounds = std::log2(n);
      const double want = rounds * (2 * r.step_us + xfer_us(m, r.intra_gbps) + r.intra_lat_us +
                                    xfer_us(3 * m, r.local_gbps));
      INFO("n=" << n << " M=" << m << ": got " << res.time_us << " want " << want);
      CHECK(rel_err(res.time_us, want) < kTol);
    }
  }
}

// Recursive doubling on 2 nodes x 4: rounds 1 and 2 (partners r^1, r^2)
// stay on the node; round 3 (r^4) crosses through the NICs. All 4 ranks of
// a node send at once, (4 / nics_per_node) of them through each NIC, which
// max-min shares gamma equally among them (and likewise each receiving NIC):
//   T = 2(2s + M/beta + alpha_i) + (2s + M*(4/nics)/gamma + alpha_e) + 9M/mem.
TEST_CASE("recursive doubling across 2 nodes: the NIC round, shared per NIC") {
  Rates r;
  r.intra_gbps = 200;
  r.intra_lat_us = 1;
  r.nic_gbps = 20;
  r.nic_lat_us = 4;
  r.step_us = 0.5;
  const std::size_t count = 131072;  // M = 512 KiB, one chunk
  const double m = 4.0 * count;
  for (const int nics : {4, 2, 1}) {
    r.nics_per_node = nics;
    const Fabric f = Fabric::uniform(Layout::blocks(2, 4), model_of(r));
    const SimResult res =
        run(f, args_of(Collective::AllReduce, count, 8), Algo::RecursiveDoubling, params_of(1));
    const double share = 4.0 / nics;
    const double want = 2 * (2 * r.step_us + xfer_us(m, r.intra_gbps) + r.intra_lat_us) +
                        (2 * r.step_us + xfer_us(m * share, r.nic_gbps) + r.nic_lat_us) +
                        xfer_us(9 * m, r.local_gbps);
    INFO("nics=" << nics << ": got " << res.time_us << " want " << want);
    CHECK(rel_err(res.time_us, want) < kTol);
  }
}
