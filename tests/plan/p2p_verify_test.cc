// p2p_verify_test.cc: verify_p2p proves groups of send and recv Plans as
// direct_plan makes them (rings both ways, several messages to one peer,
// seeded random mixes of sizes and types) at FIFO depths 1..4 with whole
// and small slots, and rejects broken groups with a message naming the
// operation at fault.
#include <random>
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "catch.hpp"
#include "plan/verifier.hpp"

using namespace colossus::plan;
using colossus::DataType;
using colossus::algorithms::AlgoParams;
using colossus::algorithms::direct_plan;

namespace {

struct Transfer {
  int from = 0, to = 0;
  std::size_t count = 0;
  DataType dtype = DataType::Float32;
};

Plan side(Collective c, int rank, int peer, int n, std::size_t count, DataType d) {
  CollArgs a;
  a.coll = c;
  a.nranks = n;
  a.count = count;
  a.dtype = d;
  a.root = peer;
  return direct_plan(a, rank, AlgoParams{});
}

// Each rank's group: the transfers it takes part in, in the list's order.
using Groups = std::vector<std::vector<Plan>>;
Groups groups_of(int n, const std::vector<Transfer>& ts) {
  Groups g(static_cast<std::size_t>(n));
  for (const Transfer& t : ts) {
    g[static_cast<std::size_t>(t.from)].push_back(
        side(Collective::Send, t.from, t.to, n, t.count, t.dtype));
    g[static_cast<std::size_t>(t.to)].push_back(
        side(Collective::Recv, t.to, t.from, n, t.count, t.dtype));
  }
  return g;
}

VerifyResult run(const Groups& g, const VerifyOptions& o = {}) {
  return verify_p2p(
      static_cast<int>(g.size()), [&](int r) { return g[static_cast<std::size_t>(r)]; }, o);
}

std::vector<VerifyOptions> fifo_settings() {
  std::vector<VerifyOptions> out;
  for (std::size_t depth = 1; depth <= 4; ++depth) {
    for (const std::size_t slot : {0, 1, 5})
      out.push_back({.fifo_depth = depth, .slot_elements = slot});
  }
  return out;
}

// Every FIFO setting; returns the number of cases run.
std::size_t require_all(const std::string& what, const Groups& g) {
  std::size_t cases = 0;
  for (const VerifyOptions& o : fifo_settings()) {
    const VerifyResult res = run(g, o);
    INFO(what << " depth=" << o.fifo_depth << " slot=" << o.slot_elements << ": " << res.error);
    REQUIRE(res.ok);
    ++cases;
  }
  return cases;
}

void expect_error(const VerifyResult& res, const std::string& needle) {
  INFO("verifier said: " << res.error);
  CHECK_FALSE(res.ok);
  CHECK(res.error.find(needle) != std::string::npos);
}

Step step(StepKind k, int peer, Slice s) {
  Step st;
  st.kind = k;
  if (k == StepKind::Send) {
    st.send_peer = peer;
    st.src = s;
  } else {
    st.recv_peer = peer;
    st.dst = s;
  }
  return st;
}

}  // namespace

TEST_CASE("verify_p2p proves rings both ways with mixed sizes", "[verifier][p2p]") {
  std::size_t cases = 0;
  CHECK(run(groups_of(1, {})).ok);  // a group with nothing in it
  for (const int n : {2, 3, 4, 5, 6, 7, 8, 9, 16}) {
    for (const std::size_t count : {0, 1, 7, 1009}) {
      std::vector<Transfer> ts;
      for (int r = 0; r < n; ++r)
        ts.push_back({r, (r + 1) % n, count + static_cast<std::size_t>(r)});
      for (int r = 0; r < n; ++r) ts.push_back({r, (r + n - 1) % n, count * 2});
      cases += require_all("ring n=" + std::to_string(n) + " count=" + std::to_string(count),
                           groups_of(n, ts));
    }
  }
  CHECK(cases == 9 * 4 * 12);
}

TEST_CASE("verify_p2p keeps several messages to one peer in order", "[verifier][p2p]") {
  std::vector<Transfer> ts;
  for (const std::size_t c : {5, 0, 1009, 3, 7}) ts.push_back({0, 1, c});
  ts.insert(ts.begin() + 2, {1, 0, 1009});
  ts.push_back({1, 0, 2, DataType::Float64});
  ts.push_back({2, 1, 11, DataType::Int8});
  require_all("one peer", groups_of(3, ts));
}

TEST_CASE("verify_p2p proves seeded random groups", "[verifier][p2p]") {
  std::mt19937 rng(7211);
  const std::size_t sizes[] = {0, 1, 7, 33, 1009};
  const DataType types[] = {DataType::Float32, DataType::Float64, DataType::Int8};
  for (const int n : {2, 3, 4, 5, 8, 9, 16}) {
    for (int round = 0; round < 3; ++round) {
      std::vector<Transfer> ts;
      for (int i = 0; i < 3 * n; ++i) {
        const int from = static_cast<int>(rng() % static_cast<unsigned>(n));
        const int to = (from + 1 + static_cast<int>(rng() % static_cast<unsigned>(n - 1))) % n;
        ts.push_back({from, to, sizes[rng() % 5], types[rng() % 3]});
      }
      require_all("random n=" + std::to_string(n) + " round " + std::to_string(round),
                  groups_of(n, ts));
    }
  }
}

TEST_CASE("verify_p2p rejects mismatched pairs and bad peers", "[verifier][p2p]") {
  const Groups good = groups_of(3, {{0, 1, 4}, {0, 1, 4}, {2, 1, 6}});
  REQUIRE(run(good).ok);

  Groups g = good;
  g[1][0] = side(Collective::Recv, 1, 0, 3, 5, DataType::Float32);
  expect_error(run(g),
               "rank 0 op 0 (send of 4 float to rank 1) and rank 1 op 0 (recv of 5 "
               "float from rank 0) are transfer #1 from rank 0 to rank 1, so they pair, "
               "but their element counts differ");
  g = good;
  g[2][0] = side(Collective::Send, 2, 1, 3, 6, DataType::Int32);
  expect_error(run(g), "but their data types differ");

  g = good;
  g[1].pop_back();
  g[1].pop_back();  // rank 1 receives once from rank 0, never from rank 2
  expect_error(run(g),
               "rank 0 op 1 (send of 4 float to rank 1) is unmatched: rank 1 posts 1 "
               "recv(s) from rank 0 for its 2 send(s)");
  g = good;
  g[2].clear();
  expect_error(run(g), "rank 1 op 2 (recv of 6 float from rank 2) is unmatched");

  g = good;
  g[0][0].channels[0].steps[0].send_peer = 2;
  expect_error(run(g),
               "rank 0 op 0 channel 0 step 0 (Send to 2 src=send[0,+4)): sends to rank "
               "2, but the send's peer is rank 1");
  g = good;
  g[2][0].args.root = 2;
  expect_error(run(g), "rank 2 op 0 names its own rank as its peer");
  g = good;
  g[2][0].args.coll = Collective::AllReduce;
  expect_error(run(g), "rank 2 op 0 is a Plan for allreduce: verify_p2p takes send and recv Plans");
  g = good;
  g[0][1].channels[0].steps.push_back(g[0][1].channels[0].steps[0]);  // the block twice
  expect_error(run(g),
               "sends a message that rank 1 never receives (1 message(s) left in the "
               "stream on transport channel 64)");

  expect_error(run(good, {.in_place = true}), "in_place has no meaning");
  CollArgs a;
  a.coll = Collective::Send;
  a.nranks = 2;
  a.root = 1;
  expect_error(verify(a, [&](int r) { return direct_plan(a, r, {}); }), "with verify_p2p");
}

TEST_CASE("verify_p2p checks which send each recv got", "[verifier][p2p]") {
  // Two equal messages from rank 0 to rank 1 travel on channels of their
  // own, and rank 1 listens for them on the opposite channels: each recv
  // completes, with the other message.
  Groups g = groups_of(2, {{0, 1, 4}, {0, 1, 4}});
  REQUIRE(run(g).ok);
  g[0][1].channel_base = kP2PChannelBase + 1;
  g[1][0].channel_base = kP2PChannelBase + 1;
  expect_error(run(g),
               "rank 1 op 0 (recv of 4 float from rank 0): recv[0,4) holds rank 0 op "
               "1's send[0,4) but must hold send[0,4) of its paired rank 0 op 0");
  // Only one side moved: the message waits on a channel nobody listens to.
  g = groups_of(2, {{0, 1, 4}});
  g[1][0].channel_base = kP2PChannelBase + 1;
  expect_error(run(g),
               "waits for a message from rank 0 on transport channel 65, which has no "
               "lane on it");
}

TEST_CASE("verify_p2p finds deadlocks of lanes that send and receive", "[verifier][p2p]") {
  // Ranks 0 and 1 exchange 64 elements: a send and a recv each, on lanes
  // of their own, which no FIFO depth can block.
  const std::size_t n = 64;
  const Groups good = groups_of(2, {{0, 1, n}, {1, 0, n}});
  for (const VerifyOptions& o : fifo_settings()) CHECK(run(good, o).ok);

  // The receive moved into the send's lane (into scratch): both ranks send
  // first, and at depth 1 with 8-element slots neither send can finish.
  Groups fused = good;
  for (int r = 0; r < 2; ++r) {
    auto& ops = fused[static_cast<std::size_t>(r)];
    Plan& send = ops[r == 0 ? 0 : 1];
    Plan& recv = ops[r == 0 ? 1 : 0];
    send.scratch_count = n;
    send.channels[0].steps.push_back(step(StepKind::Recv, 1 - r, {Buffer::Scratch, 0, n}));
    recv.channels.clear();
  }
  const VerifyResult res = run(fused, {.fifo_depth = 1, .slot_elements = 8});
  expect_error(res, "deadlock");
  expect_error(res,
               "rank 0 op 0 channel 0 step 0 (Send to 1 src=send[0,+64)): waits for a free "
               "slot in its stream to rank 1 on transport channel 64 (fifo_depth 1) after "
               "moving 8 of its 64 elements");
  // With room for the whole message it runs, and the recv Plans are left unwritten.
  expect_error(run(fused, {.fifo_depth = 8, .slot_elements = 8}),
               "rank 0 op 1 (recv of 64 float from rank 1): recv[0,64) is never written");
}

TEST_CASE("verify_p2p runs a rank's lanes that share a stream in call order", "[verifier][p2p]") {
  // A handshake: a send waits for a zero-element "clear to send" before its
  // data, and a recv posts one before taking the data. Each op then both
  // sends to and receives from its peer, so a rank's second op starts after
  // its first (they share streams). Rank 0 sends first and rank 1 receives
  // first: it runs.
  auto handshake = [](Collective c, int rank, int peer) {
    Plan p = side(c, rank, peer, 2, 16, DataType::Float32);
    const bool send = c == Collective::Send;
    const Slice none{send ? Buffer::Recv : Buffer::Send, 0, 0};
    p.channels[0].steps.insert(p.channels[0].steps.begin(),
                               step(send ? StepKind::Recv : StepKind::Send, peer, none));
    return p;
  };
  Groups g = {{handshake(Collective::Send, 0, 1), handshake(Collective::Recv, 0, 1)},
              {handshake(Collective::Recv, 1, 0), handshake(Collective::Send, 1, 0)}};
  VerifyResult res = run(g);
  INFO(res.error);
  CHECK(res.ok);
  // Both send first: each send waits for a recv that waits for the send.
  std::swap(g[1][0], g[1][1]);
  res = run(g);
  expect_error(res, "deadlock");
  expect_error(res,
               "rank 0 op 1 channel 0 step 0 (Send to 1 src=send[0,+0)): waits for rank 0 "
               "op 0 channel 0, an earlier operation of its group on a stream it shares");
}
