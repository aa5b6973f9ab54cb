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
#include <cstdint>
#include <string>
#include <vector>

#include "catch.hpp"
#include "colossus/error.hpp"
#include "fault_group.hpp"
#include "transports/fault/fault.hpp"
#include "transports/loopback/loopback.hpp"

namespace {

using namespace colossus;
using namespace colossus::test::fault;
using plan::Collective;
namespace tp = colossus::transport;

// Every rank but `hit` ended: done, or timed out waiting.
void check_others_ended(const Run& run, int hit) {
  for (int r = 0; r < kRanks; ++r) {
    if (r == hit) continue;
    const Outcome& o = run.outcomes[static_cast<std::size_t>(r)];
    INFO("rank " << r);
    CHECK((o.ok || o.code == ErrorCode::Timeout));
  }
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
