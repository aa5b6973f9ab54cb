// tuner_test.cc: the tuner's traffic counts match the algorithms' known
// costs, and its picks follow from the cost model: the small-message
// algorithm for 8 bytes on 64 ranks, hierarchical where the network is the
// bottleneck, and whatever COLOSSUS_ALGO leaves.
#include "tune/tuner.hpp"

#include <cmath>

#include "catch.hpp"
#include "colossus/error.hpp"

using namespace colossus;
using algorithms::Algo;
using algorithms::Layout;
using plan::CollArgs;
using plan::Collective;
using tune::AlgoFilter;
using tune::CostModel;
using tune::Tuner;

namespace {

CollArgs allreduce(std::size_t bytes, int n) {
  CollArgs a;
  a.coll = Collective::AllReduce;
  a.count = bytes / 4;
  a.dtype = DataType::Float32;
  a.nranks = n;
  return a;
}

// Two hosts joined by 1 Gbit/s, ranks on shm within a host (the testbed).
CostModel testbed_model() {
  CostModel m = tune::host_memory_model(0);
  m.inter = {0.125 * 0.95, 60.0};
  m.nics_per_node = 1;
  return m;
}

}  // namespace

TEST_CASE("traffic: ring sends 2(n-1)/n of the vector per rank, across one NIC per node") {
  const Layout l = Layout::blocks(2, 4);
  const auto t = tune::plan_traffic(testbed_model(), l, allreduce(1 << 20, 8), Algo::Ring, 1);
  CHECK(t.crosses_nodes);
  CHECK(t.nic_bytes == Approx(2.0 * 7 / 8).epsilon(0.02));
  CHECK(t.intra_bytes == Approx(2.0 * 7 / 8).epsilon(0.02));
  CHECK(t.hops == 2 * 7);
}

TEST_CASE("traffic: hierarchical sends 1/L of the vector per rail off-node") {
  const Layout l = Layout::blocks(2, 4);
  const auto t =
      tune::plan_traffic(testbed_model(), l, allreduce(1 << 20, 8), Algo::Hierarchical, 1);
  // 4 rails x (1/4 of the vector) x 2(N-1)/N with N = 2, all through the host's one NIC.
  CHECK(t.nic_bytes == Approx(1.0).epsilon(0.05));
  CHECK(t.nic_bytes < 0.6 * 2.0 * 7 / 8 + 0.1);
}

TEST_CASE("traffic: recursive doubling takes log2 n exchanges") {
  const Layout l = Layout::single_node(64);
  const auto t = tune::plan_traffic(tune::host_memory_model(0), l, allreduce(8, 64),
                                    Algo::RecursiveDoubling, 1);
  CHECK(t.hops == 6);
  CHECK_FALSE(t.crosses_nodes);
  CHECK(t.nic_bytes == 0);
}

TEST_CASE("64 ranks, 8 bytes: the small-message algorithm wins and is predicted faster than ring") {
  Tuner tuner(tune::host_memory_model(2), Layout::single_node(64), AlgoFilter(), {});
  const auto choice = tuner.choose(allreduce(8, 64));
  CHECK(choice.best.algo == Algo::RecursiveDoubling);
  const auto ring = tuner.predict(allreduce(8, 64), Algo::Ring, 1, 512 << 10);
  CHECK(ring.predicted_us > 3 * choice.best.predicted_us);
  CHECK(choice.best.bottleneck == "latency");
}

TEST_CASE("testbed, 64 MiB: hierarchical is picked, network-bound, ~1.75x ahead of the ring") {
  Tuner tuner(testbed_model(), Layout::blocks(2, 4), AlgoFilter(), {});
  const auto a = allreduce(64 << 20, 8);
  const auto choice = tuner.choose(a);
  INFO(tune::explain(a, choice));
  CHECK(choice.best.algo == Algo::Hierarchical);
  CHECK(choice.best.bottleneck == "NIC");
  const auto ring = tuner.predict(a, Algo::Ring, choice.best.nchannels, choice.best.chunk_bytes);
  CHECK(ring.predicted_us / choice.best.predicted_us == Approx(1.75).epsilon(0.1));
  // The link-rate floor: 64 MiB through 0.119 GB/s is ~565 ms.
  CHECK(choice.best.predicted_us > 560e3);
  CHECK(choice.best.predicted_us < 640e3);
}

TEST_CASE("COLOSSUS_ALGO narrows the candidates, and a filter that leaves none is an error") {
  Tuner forced(tune::host_memory_model(2), Layout::single_node(8), AlgoFilter::parse("tree"), {});
  const auto c = forced.choose(allreduce(1 << 20, 8));
  CHECK(c.best.algo == Algo::Tree);
  CHECK(c.forced);
  for (const auto& cand : c.candidates) CHECK(cand.algo == Algo::Tree);

  Tuner none(tune::host_memory_model(2), Layout::single_node(8),
             AlgoFilter::parse("allgather:tree"), {});
  CollArgs ag = allreduce(1 << 20, 8);
  ag.coll = Collective::AllGather;
  CHECK_THROWS_AS(none.choose(ag), Error);
  // A list for every collective that misses one leaves that one free, as NCCL_ALGO does.
  const auto free = forced.choose(ag);
  CHECK(free.best.algo == Algo::Ring);
  CHECK_FALSE(free.forced);
}

TEST_CASE("explain lists every candidate, fastest first, with the pick marked") {
  Tuner tuner(testbed_model(), Layout::blocks(2, 4), AlgoFilter(), {});
  const auto a = allreduce(1 << 20, 8);
  const auto choice = tuner.choose(a);
  const std::string table = tune::explain(a, choice);
  CHECK(table.find("* " + std::string(algorithms::to_string(choice.best.algo))) !=
        std::string::npos);
  for (const auto* name : {"ring", "tree", "hierarchical", "recursive_doubling"}) {
    CHECK(table.find(name) != std::string::npos);
  }
  for (std::size_t i = 1; i < choice.candidates.size(); ++i) {
    CHECK(choice.candidates[i - 1].predicted_us <= choice.candidates[i].predicted_us);
  }
  CHECK(tune::summary(a, choice).find("runner-up") != std::string::npos);
}

TEST_CASE("above the counted range the tuner says it did not model the choice") {
  Tuner tuner(tune::host_memory_model(2), Layout::single_node(2000), AlgoFilter(), {});
  const auto small = tuner.choose(allreduce(8, 2000));
  CHECK(small.best.algo == Algo::RecursiveDoubling);
  CHECK(small.best.bottleneck.find("not modeled") != std::string::npos);
  CHECK(tuner.choose(allreduce(1 << 20, 2000)).best.algo == Algo::Ring);
  CHECK_THROWS_AS(tune::plan_traffic(tune::host_memory_model(2), Layout::single_node(2000),
                                     allreduce(8, 2000), Algo::Ring, 1),
                  Error);
}

TEST_CASE("NCCL_MIN/MAX_NCHANNELS bound the channel counts the tuner tries", "[tune]") {
  tune::TunerLimits l;
  l.bound_nchannels(1, 64);
  CHECK(l.nchannels == std::vector<int>{1, 2, 4, 8});
  l.bound_nchannels(2, 4);
  CHECK(l.nchannels == std::vector<int>{2, 4});
  l.bound_nchannels(3, 3);
  CHECK(l.nchannels == std::vector<int>{3});
  tune::TunerLimits m;
  m.bound_nchannels(16, 32);
  CHECK(m.nchannels == std::vector<int>{16});
  // The tuner then picks among them only.
  Tuner t(tune::host_memory_model(2), Layout::single_node(8), AlgoFilter(), l);
  CHECK(t.choose(allreduce(64 << 20, 8)).best.nchannels == 3);
}
