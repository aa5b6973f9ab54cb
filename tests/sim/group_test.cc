// group_test.cc: a rank's several Plans (a group) in the replay walker and
// the engine: streams are keyed by transport channel (Plan::channel_base +
// channel), and a Plan's lane that shares a stream with an earlier Plan's
// lane of the same rank starts once that lane is done, as the executor
// orders a group (exec/executor.cc).
#include <string>
#include <vector>

#include "catch.hpp"
#include "colossus/error.hpp"
#include "plan/builder.hpp"
#include "plan/replay.hpp"
#include "sim/workload.hpp"
#include "sim_fixtures.hpp"

using namespace simtest;
using colossus::plan::Plan;
using colossus::plan::Step;
namespace sim = colossus::sim;

namespace {

// One Plan of one channel: a Send of `count` to `to` (or a Recv from it).
Plan one_step(int rank, bool send, int peer, std::size_t count, int channel_base) {
  Plan p;
  p.rank = rank;
  p.args.nranks = 2;
  p.args.dtype = colossus::DataType::Float32;
  p.channel_base = channel_base;
  p.channels.resize(1);
  colossus::plan::ChannelBuilder b(p.channels[0]);
  if (send) {
    b.send(peer, colossus::plan::send_slice(0, count));
  } else {
    b.recv(peer, colossus::plan::recv_slice(0, count));
  }
  return p;
}

// Replays `plans` (every rank's, in job order) in latency-free order; each
// receive records the count of the message it matched next to its own.
std::vector<std::pair<std::size_t, std::size_t>> matches(const std::vector<Plan>& plans) {
  colossus::plan::Replay<std::size_t> replay(plans, colossus::plan::unfolded_source());
  std::vector<std::pair<std::size_t, std::size_t>> got;
  const std::size_t left =
      colossus::plan::run_in_order(replay, [&](int, const Step& s, const std::size_t* in) {
        if (in != nullptr) got.emplace_back(s.count(), *in);
        return s.count();
      });
  CHECK(left == 0);
  return got;
}

sim::Workload by_hand(const std::vector<Plan>& plans) {
  sim::Workload w;
  w.name = "hand-written group";
  w.nranks = 2;
  w.plans_of = [plans](int rank) {
    std::vector<Plan> mine;
    for (const Plan& p : plans)
      if (p.rank == rank) mine.push_back(p);
    return mine;
  };
  return w;
}

}  // namespace

TEST_CASE("replay: messages on different transport channels never match each other") {
  // Rank 0 sends 100 on collective channel 0, then 7 on the point-to-point
  // channel; rank 1 receives the point-to-point message first. Keyed by the
  // Plans' channel index alone (0 for both) the first receive would match
  // the 100.
  const int p2p = colossus::plan::kP2PChannelBase;
  const std::vector<Plan> plans = {one_step(0, true, 1, 100, 0), one_step(0, true, 1, 7, p2p),
                                   one_step(1, false, 0, 7, p2p), one_step(1, false, 0, 100, 0)};
  for (const auto& [want, got] : matches(plans)) CHECK(want == got);
}

TEST_CASE("replay: a group's Plans sharing a stream match in job order") {
  // Two sends to one peer on one channel, received by two Plans in the same
  // order: the second Plan's lane on each side waits for the first's.
  const int p2p = colossus::plan::kP2PChannelBase;
  const std::vector<Plan> plans = {one_step(0, true, 1, 100, p2p), one_step(0, true, 1, 7, p2p),
                                   one_step(1, false, 0, 100, p2p), one_step(1, false, 0, 7, p2p)};
  colossus::plan::Replay<int> replay(plans, colossus::plan::unfolded_source());
  CHECK(replay.ready(0));
  CHECK_FALSE(replay.ready(1));  // rank 0's second send waits for the first
  CHECK(replay.ready(2));
  CHECK_FALSE(replay.ready(3));
  const auto got = matches(plans);
  REQUIRE(got.size() == 2);
  for (const auto& [want, matched] : got) CHECK(want == matched);
}

// The engine runs the same order. Rank 0's second Send starts when its first
// is done (s + X1), ends at 2s + X1 + X2, arrives alpha later; rank 1's
// second Recv starts after its first (2s + X1 + alpha) and pays s once the
// message is there:
//   T = 3s + X1 + X2 + alpha.
TEST_CASE("engine: a group's sends on one stream go one after the other") {
  Rates r;
  r.nic_gbps = 10;
  r.nic_lat_us = 4;
  r.step_us = 0.5;
  const Fabric f = Fabric::uniform(Layout::blocks(2, 1), model_of(r));
  const int p2p = colossus::plan::kP2PChannelBase;
  const std::size_t c1 = 1 << 20, c2 = 1 << 18;
  const SimResult res =
      sim::simulate(f, by_hand({one_step(0, true, 1, c1, p2p), one_step(0, true, 1, c2, p2p),
                                one_step(1, false, 0, c1, p2p), one_step(1, false, 0, c2, p2p)}));
  const double want =
      3 * r.step_us + xfer_us(4.0 * c1, r.nic_gbps) + xfer_us(4.0 * c2, r.nic_gbps) + r.nic_lat_us;
  INFO("got " << res.time_us << " us, want " << want << " us");
  CHECK(rel_err(res.time_us, want) < 1e-6);

  // On two transport channels the sends share the NIC at once instead: the
  // small one ends first (2 X2 at half the rate), the large one when both
  // bytes have left, X1 + X2 after its step:
  //   T = 2s + X1 + X2 + alpha.
  const SimResult apart =
      sim::simulate(f, by_hand({one_step(0, true, 1, c1, p2p), one_step(0, true, 1, c2, 0),
                                one_step(1, false, 0, c1, p2p), one_step(1, false, 0, c2, 0)}));
  const double together = 2 * r.step_us + xfer_us(4.0 * (c1 + c2), r.nic_gbps) + r.nic_lat_us;
  CHECK(rel_err(apart.time_us, together) < 1e-6);
}

TEST_CASE("engine: a receive whose message never comes is reported, with its channel") {
  const Fabric f = Fabric::uniform(Layout::blocks(2, 1), model_of(Rates{}));
  const int p2p = colossus::plan::kP2PChannelBase;
  try {
    (void)sim::simulate(f, by_hand({one_step(0, true, 1, 8, 0), one_step(1, false, 0, 8, p2p)}));
    FAIL("simulated a receive that no send matches");
  } catch (const colossus::Error& e) {
    CHECK(std::string(e.what()).find("channel " + std::to_string(p2p)) != std::string::npos);
  }
}
