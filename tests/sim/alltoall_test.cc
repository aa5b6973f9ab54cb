// alltoall_test.cc: pairwise all-to-all and point-to-point pipelines against
// closed forms derived from the engine's semantics (engine.hpp), and the
// alltoallv workload against the even alltoall.
//
// Notation as closed_form_test.cc: s = step_us, alpha = latency, X = a
// block's time on its link, B = block bytes, P = ranks per node.
#include <algorithm>
#include <string>

#include "catch.hpp"
#include "colossus/error.hpp"
#include "sim/skew.hpp"
#include "sim/workload.hpp"
#include "sim_fixtures.hpp"

using namespace simtest;
namespace sim = colossus::sim;

namespace {

constexpr double kTol = 1e-6;  // relative

// Bytes the busiest NIC carries in one direction in a pairwise alltoall of
// `block` bytes: each rank sends n - P blocks off-node, through NIC
// local_index % nics, shared by P / nics ranks.
double nic_bound_us(const Rates& r, int nodes, int per_node, double block) {
  const int n = nodes * per_node;
  const int sharing = per_node / std::min(per_node, r.nics_per_node);
  return xfer_us(sharing * (n - per_node) * block, r.nic_gbps);
}

}  // namespace

// With on-node and off-node links alike (rate and latency), every rank runs
// in lockstep: per round a Send (s + X; each rank's flow alone on its NIC
// out and its peer's NIC in) and a Recv whose message arrived alpha after
// the peer's Send ended (s), the own block's Copy beside them on a channel
// of its own:
//   T = (n - 1)(2s + X + alpha)   (+ memory flows at a huge rate).
TEST_CASE("pairwise alltoall in lockstep: s + (n-1)(2s + B/gamma + alpha)") {
  Rates r;
  r.nic_gbps = r.intra_gbps = 20;
  r.nic_lat_us = r.intra_lat_us = 3;
  r.step_us = 0.5;
  for (const auto [nodes, per] : {std::pair{2, 4}, {4, 2}, {3, 3}, {8, 4}}) {
    r.nics_per_node = per;
    const int n = nodes * per;
    // Blocks above pairwise's small-block limit (128 KiB): one round at a time.
    for (const std::size_t count : {std::size_t{32771}, std::size_t{100003}}) {
      INFO(nodes << " nodes x " << per << ", " << count << " floats per block");
      const Fabric f = Fabric::uniform(Layout::blocks(nodes, per), model_of(r));
      const CollArgs a = args_of(Collective::AllToAll, count, n);
      const double x = xfer_us(4.0 * static_cast<double>(count), r.nic_gbps);
      // The own block's Copy runs on a channel of its own, beside the rounds.
      const double want = (n - 1) * (2 * r.step_us + x + r.nic_lat_us);
      // chunk >= block: one Send and one Recv per round.
      const SimResult res = run(f, a, Algo::Pairwise, params_of(1, 4 * count + 64), false);
      INFO("got " << res.time_us << " us, want " << want << " us");
      CHECK(rel_err(res.time_us, want) < kTol);
      CHECK(res.steps == static_cast<std::uint64_t>(n) * (1 + 2 * (n - 1)));
    }
  }
}

// The NIC bound: a rank sends (n - P) of its n blocks off-node, so a NIC
// carries (n - P) B per rank it serves, and no schedule beats that over the
// NIC's rate. Pairwise meets it within a factor at large blocks: each of its
// n - 1 rounds costs X (the off-node senders' block) plus 2s + alpha, so
//   T / bound ~ (n - 1)/(n - P) * (1 + (2s + alpha) / X),
// 1.15 here (n = 32, P = 4, X = 168 us); 1.25 leaves room for rounds whose
// on-node senders run ahead and meet other senders at a port.
TEST_CASE("pairwise alltoall: at least the NIC bound, within 1.25x of it at large blocks") {
  Rates r;
  r.intra_gbps = 100;
  r.intra_lat_us = 1;
  r.nic_gbps = 25;
  r.nic_lat_us = 5;
  r.step_us = 1;
  const int nodes = 8, per = 4, n = nodes * per;
  for (const int nics : {per, 1}) {
    r.nics_per_node = nics;
    const Fabric f = Fabric::uniform(Layout::blocks(nodes, per), model_of(r));
    for (const std::size_t block : {std::size_t{4096}, std::size_t{4} << 20}) {
      for (const int nch : {1, 2}) {
        INFO(nics << " NIC(s) per node, block " << block << " B, " << nch << " channel(s)");
        const CollArgs a = args_of(Collective::AllToAll, block / 4, n);
        const double bound = nic_bound_us(r, nodes, per, static_cast<double>(block));
        const SimResult folded = run(f, a, Algo::Pairwise, params_of(nch, block), true);
        const SimResult flat = run(f, a, Algo::Pairwise, params_of(nch, block), false);
        INFO("folded " << folded.time_us << " us, unfolded " << flat.time_us << " us, bound "
                       << bound << " us");
        CHECK(folded.folding.active());
        CHECK(folded.time_us >= bound);
        if (nics == per) CHECK(rel_err(folded.time_us, flat.time_us) < 1e-9);
        CHECK(flat.time_us >= bound);
        if (block >= (std::size_t{1} << 20)) {
          CHECK(flat.time_us <= 1.25 * bound);
          CHECK(flat.bound == "NIC");
        }
      }
    }
  }
}

// Pipeline: every rank of stage s < S-1 sends one message to rank r + n/S,
// a Send Plan and a Recv Plan in one group (no stream in common: they run at
// once). Stages of whole nodes: every message crosses the network. The
// Send pays s, moves the bytes (X on the NIC, shared by the P / nics
// senders of a node), the message arrives alpha later, and the Recv pays s:
//   T = 2s + (P / nics) X + alpha.
TEST_CASE("send/recv pipeline across nodes: 2s + bytes / NIC share + alpha") {
  Rates r;
  r.nic_gbps = 25;
  r.nic_lat_us = 5;
  r.intra_gbps = 100;
  r.step_us = 0.5;
  const int nodes = 8, per = 4, n = nodes * per;
  for (const int nics : {per, 2, 1}) {
    r.nics_per_node = nics;
    const Fabric f = Fabric::uniform(Layout::blocks(nodes, per), model_of(r));
    for (const int stages : {2, 4, 8}) {
      for (const std::size_t count : {std::size_t{1}, std::size_t{1} << 22}) {
        INFO(stages << " stages, " << nics << " NIC(s) per node, " << count << " floats");
        const SimResult res =
            sim::simulate(f, sim::pipeline(n, stages, count, colossus::DataType::Float32));
        const double x = xfer_us(4.0 * static_cast<double>(count), r.nic_gbps);
        const double want = 2 * r.step_us + (per / nics) * x + r.nic_lat_us;
        INFO("got " << res.time_us << " us, want " << want << " us");
        CHECK(rel_err(res.time_us, want) < kTol);
        CHECK(res.steps == static_cast<std::uint64_t>(2 * (n - n / stages)));
      }
    }
  }
}

TEST_CASE("send/recv pipeline within a node, and a shift: bytes / link rate + alpha") {
  Rates r;
  r.intra_gbps = 80;
  r.intra_lat_us = 0.7;
  r.nic_gbps = 10;
  r.nic_lat_us = 4;
  r.step_us = 0.25;
  r.nics_per_node = 8;
  const std::size_t count = 1 << 20;
  const double bytes = 4.0 * count;
  // One node of 8 ranks in 4 stages: every hop on-node.
  const Fabric one = Fabric::uniform(Layout::single_node(8), model_of(r));
  const SimResult in_node =
      sim::simulate(one, sim::pipeline(8, 4, count, colossus::DataType::Float32));
  CHECK(rel_err(in_node.time_us, 2 * r.step_us + xfer_us(bytes, r.intra_gbps) + r.intra_lat_us) <
        kTol);
  // A shift by one on 2 nodes x 8: the two node-crossing messages (rank 7
  // to 8, 15 to 0) are the slowest; every rank sends and receives at once.
  const Fabric two = Fabric::uniform(Layout::blocks(2, 8), model_of(r));
  const SimResult shifted =
      sim::simulate(two, sim::shift(16, 1, count, colossus::DataType::Float32));
  CHECK(rel_err(shifted.time_us, 2 * r.step_us + xfer_us(bytes, r.nic_gbps) + r.nic_lat_us) < kTol);
  CHECK(shifted.bound == "NIC");
}

TEST_CASE("point-to-point patterns refuse what they cannot describe") {
  using colossus::DataType;
  CHECK_THROWS_AS(sim::pipeline(12, 5, 1, DataType::Float32), colossus::Error);
  CHECK_THROWS_AS(sim::pipeline(12, 1, 1, DataType::Float32), colossus::Error);
  CHECK_THROWS_AS(sim::shift(12, 12, 1, DataType::Float32), colossus::Error);
  CHECK_THROWS_AS(sim::shift(12, 0, 1, DataType::Float32), colossus::Error);
  // send_to and recv_from that disagree: 0 -> 1, but 1 receives from 2.
  CHECK_THROWS_AS(sim::transfers(
                      "bad", 3, 1, DataType::Float32, [](int r) { return r == 0 ? 1 : -1; },
                      [](int r) { return r == 1 ? 2 : -1; }),
                  colossus::Error);
  CHECK_THROWS_AS(
      sim::transfers(
          "self", 3, 1, DataType::Float32, [](int r) { return r; }, [](int r) { return r; }),
      colossus::Error);
  // A collective call that differs by rank goes through its Workload.
  const Fabric f = Fabric::uniform(Layout::blocks(2, 2), model_of(Rates{}));
  CHECK_THROWS_AS(run(f, args_of(Collective::Send, 4, 4), Algo::Direct, params_of(1)),
                  colossus::Error);
}

// Alltoallv with every count equal is the alltoall, step for step.
TEST_CASE("alltoallv with even counts takes the alltoall's time") {
  Rates r;
  r.nics_per_node = 2;
  r.local_gbps = 900;
  const int nodes = 4, per = 4, n = nodes * per;
  const Fabric f = Fabric::uniform(Layout::blocks(nodes, per), model_of(r));
  for (const std::size_t count : {std::size_t{1}, std::size_t{1000}, std::size_t{300001}}) {
    AlgoParams p = params_of(2, 1 << 19);
    p.layout = &f.layout();
    const SimResult even =
        run(f, args_of(Collective::AllToAll, count, n), Algo::Pairwise, p, false);
    const sim::SkewedCounts counts(n, count, {});
    const SimResult v = sim::simulate(
        f, sim::alltoallv(
               n, colossus::DataType::Float32,
               [&counts](int i, int j) { return counts.count(i, j); }, Algo::Pairwise, p));
    INFO(count << " floats per block: alltoall " << even.time_us << " us, alltoallv " << v.time_us
               << " us");
    CHECK(rel_err(v.time_us, even.time_us) < 1e-12);
    CHECK(v.steps == even.steps);
    CHECK_FALSE(v.folding.active());  // every rank's counts are its own
  }
}

// A hot destination receives w times the mean block from every rank: its
// NIC's inbound bytes bound the call from below.
TEST_CASE("skewed alltoallv: the hot rank's inbound bytes bound the time") {
  Rates r;
  r.nics_per_node = 4;
  r.intra_gbps = 200;
  const int nodes = 4, per = 4, n = nodes * per;
  const Fabric f = Fabric::uniform(Layout::blocks(nodes, per), model_of(r));
  AlgoParams p = params_of(2, 1 << 19);
  p.layout = &f.layout();
  const std::size_t mean = 1 << 16;
  const SimResult even = run(f, args_of(Collective::AllToAll, mean, n), Algo::Pairwise, p);
  for (const double zipf : {0.8, 1.5}) {
    const sim::SkewedCounts counts(n, mean, {zipf, 0.3, 11});
    int hot = 0;
    for (int j = 1; j < n; ++j) hot = counts.weight(j) > counts.weight(hot) ? j : hot;
    double inbound = 0;  // bytes into the hot rank's NIC
    for (int i = 0; i < n; ++i)
      if (!f.same_node(i, hot)) inbound += 4.0 * static_cast<double>(counts.count(i, hot));
    const SimResult v = sim::simulate(
        f, sim::alltoallv(
               n, colossus::DataType::Float32,
               [&counts](int i, int j) { return counts.count(i, j); }, Algo::Pairwise, p));
    INFO("zipf " << zipf << ": " << counts.describe() << "; " << v.time_us << " us, even "
                 << even.time_us << " us");
    CHECK(v.time_us >= xfer_us(inbound, r.nic_gbps));
    CHECK(v.time_us > even.time_us);
  }
}
