// executor_fault_test.cc: the host executor's error paths, driven by the
// fault transport (transports/fault) over loopback, one thread per rank,
// with real Plans from lib/algorithms.
//
// For each fault, the rank it hits must fail with the right ErrorCode and a
// message naming the step (computed here from its Plan) and the peer; every
// other rank must end too (done, or timed out: the executor's deadline is
// short here), so the run never hangs. Messages of a step are counted as the
// executor sends them: pieces of one slot, at least one per step. A control
// run through the same decorator with no rules matches the float64
// reference for every algorithm, collective and a few dtypes.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "catch.hpp"
#include "collectives/harness.hpp"
#include "collectives/reference.hpp"
#include "colossus/error.hpp"
#include "exec/executor.hpp"
#include "support/values.hpp"
#include "transports/fault/fault.hpp"
#include "transports/loopback/loopback.hpp"

namespace {

using namespace colossus;
using algorithms::Algo;
using plan::Collective;
namespace tp = colossus::transport;

constexpr int kRanks = 4;
constexpr std::size_t kSlot = 256;  // 32 float64 elements a message
constexpr int kDepth = 4;
// A step moves at most kSlot * (kDepth - 1) bytes (plan.hpp), here in 3 messages.
constexpr std::size_t kChunk = kSlot * (kDepth - 1);
constexpr double kStallTimeoutS = 0.5;  // for runs a fault stalls: every rank gives up soon
constexpr double kTimeoutS = 60;        // for runs that must not stall

struct Outcome {
  bool ok = false;
  ErrorCode code = ErrorCode::Success;
  std::string message;
};

struct Run {
  test::Case c;
  std::vector<plan::Plan> plans;
  std::vector<Outcome> outcomes;
  test::Inputs inputs;                       // each rank's, as stored
  std::vector<std::vector<double>> outputs;  // each rank's recv buffer
  std::vector<std::shared_ptr<const tp::FaultCounts>> counts;
};

plan::CollArgs args_of(const test::Case& c) {
  plan::CollArgs a;
  a.coll = c.coll;
  a.count = c.count;
  a.dtype = c.dtype;
  a.op = c.op;
  a.root = c.root;
  a.nranks = kRanks;
  return a;
}

plan::Plan plan_of(Algo algo, const test::Case& c, int rank) {
  return algorithms::make_plan(algo, args_of(c), rank, {1, kChunk, nullptr});
}

// Runs the case on kRanks loopback ranks wrapped with `rules`.
Run run_group(Algo algo, const test::Case& c, const std::vector<tp::FaultRule>& rules,
              double timeout_s) {
  Run run;
  run.c = c;
  const plan::CollArgs args = args_of(c);
  for (int r = 0; r < kRanks; ++r) run.plans.push_back(plan_of(algo, c, r));
  run.inputs = test::make_inputs(c, kRanks);
  run.outcomes.resize(kRanks);
  run.outputs.resize(kRanks);
  auto nets = tp::wrap_with_faults(tp::make_loopback_transports(kRanks, kSlot, kDepth), rules);
  for (auto& t : nets) run.counts.push_back(dynamic_cast<tp::FaultTransport&>(*t).counts());

  std::vector<std::thread> threads;
  for (int r = 0; r < kRanks; ++r) {
    threads.emplace_back([&, r] {
      const auto ur = static_cast<std::size_t>(r);
      const plan::Plan& p = run.plans[ur];
      const std::size_t es = dtype_size(c.dtype);
      std::vector<unsigned char> send(plan::send_count(args) * es);
      std::vector<unsigned char> recv(plan::recv_count(args) * es);
      std::vector<unsigned char> scratch(p.scratch_count * es);
      for (std::size_t i = 0; i < plan::send_count(args); ++i) {
        test::store(c.dtype, send.data(), i, run.inputs[ur][i]);
      }
      Outcome& o = run.outcomes[ur];
      try {
        exec::Executor ex(*nets[ur], timeout_s);
        ex.run(p, {send.data(), recv.data(), scratch.data()});
        o.ok = true;
      } catch (const Error& e) {
        o.code = e.code();
        o.message = e.what();
      } catch (const std::exception& e) {
        o.message = std::string("not a colossus::Error: ") + e.what();
      }
      for (std::size_t i = 0; i < plan::recv_count(args); ++i) {
        run.outputs[ur].push_back(test::load(c.dtype, recv.data(), i));
      }
    });
  }
  for (auto& t : threads) t.join();
  return run;
}

// One message of a channel between a rank and a peer, as the executor cuts it.
struct Message {
  std::size_t step;
  std::size_t bytes;
};

// The messages rank `p.rank` sends to (or receives from) `peer` on `channel`.
std::vector<Message> messages(const plan::Plan& p, int channel, int peer, bool sending) {
  const std::size_t es = dtype_size(p.args.dtype);
  const std::size_t piece = std::max<std::size_t>(1, kSlot / es);
  std::vector<Message> out;
  const auto& steps = p.channels[static_cast<std::size_t>(channel)].steps;
  for (std::size_t s = 0; s < steps.size(); ++s) {
    const plan::Step& st = steps[s];
    const bool talks = sending ? plan::sends(st.kind) && st.send_peer == peer
                               : plan::receives(st.kind) && st.recv_peer == peer;
    if (!talks) continue;
    std::size_t done = 0;
    do {
      const std::size_t k = std::min(piece, st.count() - done);
      out.push_back({s, k * es});
      done += k;
    } while (done < st.count());
  }
  return out;
}

// The first peer rank r receives from on channel 0.
int first_recv_peer(const plan::Plan& p) {
  for (const plan::Step& s : p.channels[0].steps) {
    if (plan::receives(s.kind)) return s.recv_peer;
  }
  return -1;
}

// "channel C step S (" in the executor's messages: where() names the step.
std::string step_name(int channel, std::size_t step) {
  return "channel " + std::to_string(channel) + " step " + std::to_string(step) + " (";
}

// The line of a timeout report about `channel` (one line per stuck channel).
std::string line_of(const std::string& message, int channel) {
  std::istringstream in(message);
  const std::string key = "channel " + std::to_string(channel) + " step ";
  for (std::string line; std::getline(in, line);) {
    if (line.find(key) != std::string::npos) return line;
  }
  return "";
}

std::string describe(const Run& run) {
  std::ostringstream os;
  os << run.c.describe() << ", " << run.plans[0].algorithm;
  for (int r = 0; r < kRanks; ++r) {
    const Outcome& o = run.outcomes[static_cast<std::size_t>(r)];
    os << "\n  rank " << r << ": "
       << (o.ok ? std::string("done") : to_string(o.code) + std::string(": ") + o.message);
  }
  return os.str();
}

// Every rank but `hit` ended: done, or timed out waiting.
void check_others_ended(const Run& run, int hit) {
  for (int r = 0; r < kRanks; ++r) {
    if (r == hit) continue;
    const Outcome& o = run.outcomes[static_cast<std::size_t>(r)];
    INFO("rank " << r);
    CHECK((o.ok || o.code == ErrorCode::Timeout));
  }
}

test::Case allreduce_f64(std::size_t count) {
  test::Case c;
  c.coll = Collective::AllReduce;
  c.dtype = DataType::Float64;
  c.op = ReduceOp::Sum;
  c.count = count;
  return c;
}

// Rank r's output against the float64 reference.
std::vector<std::string> check_outputs(const Run& run, int r) {
  const test::Case& c = run.c;
  const auto ur = static_cast<std::size_t>(r);
  std::vector<std::string> bad;
  std::vector<double> column(kRanks);
  auto reduced = [&](std::size_t k) {
    for (std::size_t q = 0; q < column.size(); ++q) column[q] = run.inputs[q][k];
    return test::reduce_reference(c.dtype, c.op, column.data(), kRanks);
  };
  if (c.coll == Collective::Reduce && r != c.root) return bad;
  for (std::size_t i = 0; i < run.outputs[ur].size() && bad.size() < 3; ++i) {
    test::Expected e;
    switch (c.coll) {
      case Collective::AllReduce:
      case Collective::Reduce: e = reduced(i); break;
      case Collective::ReduceScatter: e = reduced(ur * c.count + i); break;
      case Collective::AllGather: e = {run.inputs[i / c.count][i % c.count], 0}; break;
      case Collective::Broadcast: e = {run.inputs[static_cast<std::size_t>(c.root)][i], 0}; break;
    }
    const double got = run.outputs[ur][i];
    if (!(std::fabs(got - e.value) <= e.tolerance)) {
      bad.push_back("recv[" + std::to_string(i) + "] = " + std::to_string(got) + ", expected " +
                    std::to_string(e.value));
    }
  }
  return bad;
}

}  // namespace

TEST_CASE("fault transport, no rules: every algorithm matches the float64 reference",
          "[exec][fault]") {
  for (const Algo algo : {Algo::Ring, Algo::Tree, Algo::RecursiveDoubling}) {
    for (const Collective coll :
         {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
          Collective::Broadcast, Collective::Reduce}) {
      if (!algorithms::supports(algo, coll)) continue;
      for (const DataType dtype : {DataType::Float64, DataType::Float32, DataType::Int32}) {
        for (const std::size_t count : {std::size_t{1}, std::size_t{1009}}) {
          test::Case c;
          c.coll = coll;
          c.dtype = dtype;
          c.op = ReduceOp::Sum;
          c.count = count;
          c.root = 1;
          const Run run = run_group(algo, c, {}, kTimeoutS);
          INFO(describe(run));
          std::uint64_t sent = 0, received = 0, bytes_sent = 0, bytes_received = 0;
          for (int r = 0; r < kRanks; ++r) {
            const auto ur = static_cast<std::size_t>(r);
            CHECK(run.outcomes[ur].ok);
            const auto bad = check_outputs(run, r);
            INFO("rank " << r << ": " << (bad.empty() ? std::string("ok") : bad[0]));
            CHECK(bad.empty());
            CHECK(run.counts[ur]->injected() == 0);
            sent += run.counts[ur]->messages_sent;
            received += run.counts[ur]->messages_received;
            bytes_sent += run.counts[ur]->bytes_sent;
            bytes_received += run.counts[ur]->bytes_received;
          }
          CHECK(sent > 0);
          CHECK(sent == received);  // every message sent was received once
          CHECK(bytes_sent == bytes_received);
        }
      }
    }
  }
}

TEST_CASE("a dropped message: the receiver times out naming the step and the peer",
          "[exec][fault]") {
  for (const Algo algo : {Algo::Ring, Algo::Tree, Algo::RecursiveDoubling}) {
    const test::Case c = allreduce_f64(1000);
    const int dst = 2;
    const int src = first_recv_peer(plan_of(algo, c, dst));
    REQUIRE(src >= 0);
    for (const std::uint64_t first : {0u, 3u}) {
      const Run run =
          run_group(algo, c, {tp::drop_messages(dst, src, first, UINT64_MAX, 0)}, kStallTimeoutS);
      INFO(describe(run));
      const auto msgs = messages(run.plans[dst], 0, src, false);
      REQUIRE(first < msgs.size());
      const Outcome& o = run.outcomes[dst];
      CHECK_FALSE(o.ok);
      CHECK(o.code == ErrorCode::Timeout);
      const std::string line = line_of(o.message, 0);
      INFO("channel 0: " << line);
      CHECK(line.find("rank " + std::to_string(dst) + " ") != std::string::npos);
      CHECK(line.find(step_name(0, msgs[first].step)) != std::string::npos);
      CHECK(line.find("waiting for a message from rank " + std::to_string(src)) !=
            std::string::npos);
      CHECK(run.counts[dst]->dropped >= 1);
      check_others_ended(run, dst);
    }
  }
}

TEST_CASE("a short message: the receiver fails with a size error naming the step and the peer",
          "[exec][fault]") {
  for (const Algo algo : {Algo::Ring, Algo::Tree, Algo::RecursiveDoubling}) {
    const test::Case c = allreduce_f64(1000);
    const int dst = 2;
    const int src = first_recv_peer(plan_of(algo, c, dst));
    REQUIRE(src >= 0);
    for (const std::uint64_t m : {0u, 2u}) {
      const Run run = run_group(algo, c, {tp::truncate_message(src, dst, m, 8, 0)}, kStallTimeoutS);
      INFO(describe(run));
      const auto msgs = messages(run.plans[dst], 0, src, false);
      REQUIRE(m < msgs.size());
      const Outcome& o = run.outcomes[dst];
      CHECK_FALSE(o.ok);
      CHECK(o.code == ErrorCode::InternalError);
      CHECK(o.message.find("rank " + std::to_string(dst) + " ") != std::string::npos);
      CHECK(o.message.find(step_name(0, msgs[m].step)) != std::string::npos);
      CHECK(o.message.find("expected " + std::to_string(msgs[m].bytes) + " bytes from rank " +
                           std::to_string(src) + ", got " + std::to_string(msgs[m].bytes - 8)) !=
            std::string::npos);
      CHECK(run.counts[src]->truncated == 1);
      check_others_ended(run, dst);
    }
  }
}

TEST_CASE("a peer that fails after N bytes: an error naming it, and every rank ends",
          "[exec][fault]") {
  // One channel (ring, recursive doubling): the order of messages to a peer,
  // hence the one that crosses N bytes, is the Plan's.
  for (const Algo algo : {Algo::Ring, Algo::RecursiveDoubling}) {
    for (const tp::FaultWay way : {tp::FaultWay::Send, tp::FaultWay::Recv}) {
      const bool sending = way == tp::FaultWay::Send;
      const test::Case c = allreduce_f64(1000);
      const int hit = 1;
      const plan::Plan p = plan_of(algo, c, hit);
      REQUIRE(p.channels.size() == 1);
      int peer = -1;
      for (const plan::Step& s : p.channels[0].steps) {
        if (sending ? plan::sends(s.kind) : plan::receives(s.kind)) {
          peer = sending ? s.send_peer : s.recv_peer;
          break;
        }
      }
      REQUIRE(peer >= 0);
      const auto msgs = messages(p, 0, peer, sending);
      for (const std::size_t through : {std::size_t{0}, std::size_t{3}}) {  // messages let through
        REQUIRE(through < msgs.size());
        std::size_t bytes = msgs[through].bytes / 2;  // and half of the next
        for (std::size_t i = 0; i < through; ++i) bytes += msgs[i].bytes;
        const Run run = run_group(algo, c, {tp::fail_after(hit, peer, way, bytes)}, kStallTimeoutS);
        INFO(describe(run));
        const Outcome& o = run.outcomes[hit];
        CHECK_FALSE(o.ok);
        CHECK(o.code == ErrorCode::RemoteError);
        CHECK(o.message.find("rank " + std::to_string(hit) + " ") != std::string::npos);
        CHECK(o.message.find(step_name(0, msgs[through].step)) != std::string::npos);
        CHECK(o.message.find("peer rank " + std::to_string(peer) + " failed") != std::string::npos);
        CHECK(run.counts[hit]->failed_peers == 1);
        check_others_ended(run, hit);
      }
    }
  }
}

TEST_CASE("fault rules that cannot apply are refused with a clear error", "[exec][fault]") {
  const auto refused = [](const tp::FaultRule& rule, const std::string& why) {
    try {
      tp::wrap_with_faults(tp::make_loopback_transports(kRanks, kSlot, kDepth), {rule});
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::InvalidArgument);
      CHECK(std::string(e.what()).find(why) != std::string::npos);
      return;
    }
    FAIL("accepted: " << rule.describe());
  };
  refused(tp::drop_messages(kRanks, 0, 0), "rank out of range");
  refused(tp::drop_messages(0, -1, 0), "peer out of range");
  refused(tp::drop_messages(0, 1, 0, 0), "affects no message");
  refused(tp::drop_messages(0, 1, 0, 1, -2), "channel out of range");
  refused(tp::truncate_message(0, 1, 0, 0), "removes no bytes");
  refused(tp::fail_after(0, kRanks + 3, tp::FaultWay::Recv, 10), "peer out of range");

  auto nets = tp::wrap_with_faults(tp::make_loopback_transports(2, kSlot, kDepth), {});
  CHECK_THROWS_AS(nets[0]->connect_send(2, 0), Error);
  CHECK_THROWS_AS(nets[1]->connect_recv(-1, 0), Error);
  CHECK(std::string(nets[0]->name()) == "fault+loopback");
}
