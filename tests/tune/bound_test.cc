// bound_test.cc: one rule says what bounds a predicted time (tune/bound.hpp),
// for the tuner's candidates and the simulator's results alike.
#include "tune/bound.hpp"

#include <algorithm>

#include "catch.hpp"
#include "tune/tuner.hpp"

using colossus::tune::bound_of;
using colossus::tune::BusyTimes;

TEST_CASE("bound: a resource class bounds the time when it is busy more than half of it") {
  CHECK(bound_of(10, {6, 0, 0}) == "NIC");
  CHECK(bound_of(10, {0, 6, 0}) == "intra-node");
  CHECK(bound_of(10, {0, 0, 6}) == "memory");
  CHECK(bound_of(10, {5, 5, 5}) == "latency");  // exactly half: waiting dominates as much
  CHECK(bound_of(10, {4.9, 3, 1}) == "latency");
  CHECK(bound_of(10, {7, 8, 9}) == "memory");  // the busiest class
  CHECK(bound_of(10, {9, 9, 1}) == "NIC");     // ties: NIC, then intra-node, then memory
  CHECK(bound_of(10, {1, 9, 9}) == "intra-node");
  CHECK(bound_of(0, {0, 0, 0}) == "latency");  // an empty call
}

TEST_CASE("bound: the tuner's label is bandwidth against latency, for every candidate") {
  using namespace colossus;
  tune::CostModel m = tune::host_memory_model(0);
  m.inter = {0.125, 60.0};
  tune::Tuner tuner(m, algorithms::Layout::blocks(2, 4), tune::AlgoFilter{}, tune::TunerLimits{});
  int latency = 0, resource = 0;
  for (std::size_t bytes = 8; bytes <= (std::size_t{1} << 28); bytes *= 16) {
    plan::CollArgs a;
    a.count = std::max<std::size_t>(1, bytes / 4);
    a.nranks = 8;
    for (const tune::Candidate& c : tuner.choose(a).candidates) {
      INFO(algorithms::to_string(c.algo) << " " << bytes << " B: latency " << c.latency_us
                                         << " us, bandwidth " << c.bandwidth_us << " us");
      if (c.latency_us >= c.bandwidth_us) {
        CHECK(c.bottleneck == "latency");
        ++latency;
      } else {
        CHECK(c.bottleneck != "latency");
        ++resource;
      }
    }
  }
  CHECK(latency > 0);  // the sweep covers both sides
  CHECK(resource > 0);
}
