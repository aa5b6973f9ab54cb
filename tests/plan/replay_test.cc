// replay_test.cc: the shared Plan replay walker (plan/replay.hpp) on
// hand-written Plans: in-order matching per (sender, receiver, channel),
// parking until a message is sent, channels kept apart, folded stream
// sources, and receives whose message is never sent.
#include "plan/replay.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "catch.hpp"

using colossus::plan::Plan;
using colossus::plan::Replay;
using colossus::plan::run_in_order;
using colossus::plan::Step;
using colossus::plan::StepKind;
using colossus::plan::StreamSource;

namespace {

Step send(int to, std::size_t count) {
  Step s;
  s.kind = StepKind::Send;
  s.send_peer = to;
  s.src.count = count;
  return s;
}
Step recv(int from, std::size_t count) {
  Step s;
  s.kind = StepKind::Recv;
  s.recv_peer = from;
  s.dst.buffer = colossus::plan::Buffer::Recv;
  s.dst.count = count;
  return s;
}
Step forward(int from, int to, std::size_t count) {
  Step s = recv(from, count);
  s.kind = StepKind::RecvCopySend;
  s.send_peer = to;
  return s;
}

Plan plan_of(int rank, std::vector<std::vector<Step>> channels) {
  Plan p;
  p.rank = rank;
  for (auto& steps : channels) p.channels.push_back({std::move(steps)});
  return p;
}

// A message names the step that sent it: "rank.channel.step".
struct Tag {
  std::string from;
  std::size_t count = 0;
};

}  // namespace

TEST_CASE("replay: receives match sends in order per (sender, receiver, channel)") {
  // Rank 2 sends three messages to 0 on channel 0 (and one to 1 between
  // them) and one to 0 on channel 1; rank 0 forwards its second to rank 1.
  // Lanes run in slot order, so ranks 0 and 1 park before anything is sent.
  // Sizes tell the messages apart.
  std::vector<Plan> plans;
  plans.push_back(plan_of(0, {{recv(2, 10), forward(2, 1, 11), recv(2, 12)}, {recv(2, 99)}}));
  plans.push_back(plan_of(1, {{recv(0, 11), recv(2, 20)}, {}}));
  plans.push_back(
      plan_of(2, {{send(0, 10), send(0, 11), send(1, 20), send(0, 12)}, {send(0, 99)}}));

  Replay<Tag> replay(plans, colossus::plan::unfolded_source());
  REQUIRE(replay.num_lanes() == 6);
  std::vector<std::string> log;
  const std::size_t left = run_in_order(replay, [&](int id, const Step& s, const Tag* in) {
    const auto& l = replay.lane(id);
    const std::string me = std::to_string(replay.rank_of(id)) + "." + std::to_string(l.channel) +
                           "." + std::to_string(l.pc);
    if (in != nullptr) {
      CHECK(in->count == s.count());  // what was sent is what this receive expects
      log.push_back(me + " got " + in->from + " (" + std::to_string(s.count()) + ")");
    }
    return Tag{me, s.count()};
  });
  CHECK(left == 0);
  std::sort(log.begin(), log.end());
  const std::vector<std::string> want = {"0.0.0 got 2.0.0 (10)", "0.0.1 got 2.0.1 (11)",
                                         "0.0.2 got 2.0.3 (12)", "0.1.0 got 2.1.0 (99)",
                                         "1.0.0 got 0.0.1 (11)", "1.0.1 got 2.0.2 (20)"};
  CHECK(log == want);
}

TEST_CASE("replay: a receive whose message is never sent leaves its lane unfinished") {
  std::vector<Plan> plans;
  plans.push_back(plan_of(0, {{send(1, 4)}}));
  plans.push_back(plan_of(1, {{recv(0, 4), recv(0, 4)}}));
  Replay<int> replay(plans, colossus::plan::unfolded_source());
  int fired = 0;
  CHECK(run_in_order(replay, [&](int, const Step&, const int*) { return ++fired; }) == 1);
  CHECK(fired == 2);
  CHECK(replay.lane(1).pc == 1);
  CHECK_FALSE(replay.lane(1).done());
}

TEST_CASE("replay: a folded source reads the representative's stream") {
  // Two nodes of two ranks; only node 0's Plans are held (slots 0, 1). Ring
  // 0 -> 1 -> 2 -> 3 -> 0: rank 0 receives from 3, which stands for rank 1
  // (rep = 3 % 2) sending to 2 (its image of 0, rotating by one node).
  std::vector<Plan> plans;
  plans.push_back(plan_of(0, {{send(1, 1), recv(3, 2)}}));
  plans.push_back(plan_of(1, {{recv(0, 1), send(2, 2)}}));
  auto source = [](int me, int peer) {
    const int k = peer / 2;  // node of the peer: rotate by k nodes
    return StreamSource{peer % 2, ((me / 2 - k + 2) % 2) * 2 + me % 2};
  };
  Replay<std::size_t> replay(plans, source);
  std::vector<std::size_t> got(2, 0);
  const std::size_t left = run_in_order(replay, [&](int id, const Step& s, const std::size_t* in) {
    if (in != nullptr) got[static_cast<std::size_t>(id)] = *in;
    return s.count();
  });
  CHECK(left == 0);
  CHECK(got[0] == 2);  // rank 0's receive from 3 = slot 1's send to 2
  CHECK(got[1] == 1);
}
