// The token-bucket resource of FlowSet (a tc tbf-shaped NIC): empty at the
// start, refilled only by idle time, peak rate while it holds tokens.
#include <algorithm>
#include <cmath>

#include "catch.hpp"
#include "sim/flows.hpp"

using colossus::sim::FlowSet;

namespace {

bool near(double got, double want) {
  return std::abs(got - want) <= 1e-9 * std::max(1.0, std::abs(want));
}

// Runs the set's events until the flow `id` finishes; returns when.
double run_until_done(FlowSet& fs, int id) {
  double at = 0;
  int ev = 0;
  while (fs.next(&at, &ev)) {
    if (ev < 0) {
      fs.drain(at, ev);
      continue;
    }
    fs.finish(at, ev);
    if (ev == id) return at;
  }
  return -1;
}

}  // namespace

TEST_CASE("a token bucket starts empty, refills while idle, sends at its peak until dry",
          "[sim][flows]") {
  FlowSet fs;
  // 1 B/us sustained, 500 B bucket, 3 B/us peak.
  const int nic = fs.add_resource(1.0, 500.0, 3.0);
  const FlowSet::Use use{nic, 1.0};
  // Empty at t = 0: 1000 B at the sustained rate.
  const int first = fs.start(0.0, 1000.0, &use, 1, 0);
  CHECK(near(run_until_done(fs, first), 1000.0));
  // Idle 1000 us refills min(500, 1 x 1000) = 500 B. The next 1000 B go at
  // 3 B/us while the bucket drains at 3 - 1 = 2 B/us down to 1% (5 B):
  // 247.5 us and 742.5 B; the other 257.5 B at 1 B/us.
  const int second = fs.start(2000.0, 1000.0, &use, 1, 0);
  CHECK(near(run_until_done(fs, second), 2000.0 + 247.5 + 257.5));
}

TEST_CASE("plain resources are shared max-min fairly", "[sim][flows]") {
  FlowSet fs;
  const int a = fs.add_resource(3.0), b = fs.add_resource(1.0);
  // f1 crosses a and b, f2 only a. b is the tightest (1 B/us for one flow)
  // and fixes f1 at 1; a's remaining 2 B/us go to f2.
  const FlowSet::Use u1[2] = {{a, 1.0}, {b, 1.0}};
  const FlowSet::Use u2{a, 1.0};
  const int f1 = fs.start(0.0, 100.0, u1, 2, 0);
  const int f2 = fs.start(0.0, 100.0, &u2, 1, 1);
  double at = 0;
  int ev = 0;
  REQUIRE(fs.next(&at, &ev));
  CHECK(ev == f2);
  CHECK(near(at, 50.0));
  fs.finish(at, ev);
  // Alone, f1 is still held to 1 B/us by b: 50 B left at t = 50.
  REQUIRE(fs.next(&at, &ev));
  CHECK(ev == f1);
  CHECK(near(at, 100.0));
  // A weighted use: 2 units of a per byte on a 3 B/us resource: 1.5 B/us.
  const FlowSet::Use heavy{a, 2.0};
  fs.finish(at, ev);
  const int f3 = fs.start(100.0, 30.0, &heavy, 1, 2);
  CHECK(near(run_until_done(fs, f3), 120.0));
}
