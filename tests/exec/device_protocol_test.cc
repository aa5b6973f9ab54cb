// device_protocol_test.cc: the device executor's FIFO protocol and Plan
// encoding, checked on the CPU (no GPU needed).
//
// The persistent kernel's loop (lib/exec/cuda/channel_loop.hpp, which
// channel_kernel.cuh instantiates for the device) runs here on CPU threads,
// itself, not a copy: one std::thread per (rank, channel) plays that channel's
// block with a host policy (channel_cpu.hpp: std::atomic_ref acquire/release
// counters, steady_clock deadlines, the library's CPU reduce-copy on the
// operands plan/step_io.hpp binds) over the real DeviceWork/DeviceConn
// structures and the steps of encode_channel (the real encoder); the progress
// words of every DeviceConn are loaded at the start and stored at the end, as
// on the device. Connections are wired with device_links.cc's own functions
// (conn_wiring.hpp) over arenas in ordinary 256-byte aligned host memory; a
// "network" pair goes through two real HostProxy instances over a loopback
// transport, wired as device_links.cc's network branch does (channel_world.hpp).
// Plans come from algorithms::make_plan.
//
// Test-only instrumentation (the loop's hooks, empty on the device): the
// sender of every direct message also records its byte count in a shadow
// array next to the receiver's ring, and the receiver checks it against the
// piece it cut itself ("both ends cut a Step into the same pieces, so a
// message needs no header"); for proxied messages the receiver checks the
// sizes the proxy delivered. After each run every connection's counters are
// checked: each end's saved progress words agree with the other end's and
// with the peer-memory counters, and each count grew by exactly the number of
// pieces the Plans send.
//
// Coverage (the whole binary: ~10 s in Release on an idle 2-core machine,
// ~40 s with a compile beside it; trimmed to stay there):
//  - encode_channel: every field of every DeviceStep against its plan::Step,
//    conn indices <-> peers (distinct, never the rank itself, each used), every
//    step inside its buffer, for every algorithm x collective x n in 1..9, 16 x
//    counts {1, 7, 1031}; and its errors (more than kMaxConns peers on a
//    channel; a step without the peer its kind needs).
//  - the channel loop on the CPU, per algorithm (ring; tree; hierarchical with a
//    2-node layout for even n, an uneven interleaved 2-node layout for n = 3
//    and 5, one node for n = 1; recursive doubling), every collective it
//    implements, n in {1, 2, 3, 4, 5, 8}, counts {1, 7, 1031} (and 10007 with
//    256 B slots: in 64 B slots that is ~1000 messages a rank, too slow here),
//    int32 Sum and float Avg, in place and out of place, eight FIFO settings
//    (kSettings: {64, 256} B slots x depth {2, 4} x {1, 2} channels, chunks at
//    the clamp slot x (depth - 1) or below a slot, counters from 0, 2^32 - 1 or
//    2^40 + 3), plus bf16 Max (1031 elements) for each reducing collective at
//    n = 5 and 8. All cases of one (algorithm, n, setting) run on the same
//    connections, so every case also continues the counters of the one before.
//    ~7800 cases, ~2.2 million messages.
//  - consecutive different plans on the same connections (ring allreduce,
//    ring allgather, tree allreduce, ring broadcast bf16, recursive doubling,
//    ring allreduce again), every link's counters checked exactly after each.
//  - ranks 0 <-> 1 through two HostProxy instances over loopback transports,
//    the other pairs direct: ring allreduce on 2 and 3 ranks, three FIFO
//    settings, counts {1, 7, 1031, 10007}, then an allgather on the same
//    (proxied) connections.
//  - negative controls (the checks are not vacuous): a sender cutting one piece
//    short (direct and through the proxies), a lost finalize, a chunk above
//    slot x (depth - 1) (the ring deadlocks: the wait times out), a step
//    receiving on the wrong conn (times out, naming the step).
// Outputs are compared with the float64 reference of collectives/reference.hpp
// on every rank; send buffers must stay intact, nothing may be written past
// a buffer, and a non-root rank's recv buffer of an out-of-place reduce stays
// untouched.
#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/layout.hpp"
#include "catch.hpp"
#include "collectives/reference.hpp"
#include "colossus/error.hpp"
#include "exec/channel_world.hpp"
#include "exec/cuda/device_plan.hpp"
#include "plan/plan.hpp"
#include "support/values.hpp"

namespace {

using namespace colossus;
using namespace colossus::test::emu;
using algorithms::Algo;
using algorithms::AlgoParams;
using algorithms::Layout;
using plan::Collective;
using plan::StepKind;
using Clock = std::chrono::steady_clock;

inline constexpr unsigned char kSentinel = 0xA5;

// ---------------------------------------------------------------------------
// Cases: inputs, buffers, plans and the reference check.

struct Case {
  Collective coll = Collective::AllReduce;
  DataType dtype = DataType::Int32;
  ReduceOp op = ReduceOp::Sum;
  std::size_t count = 0;
  int root = 0;
  bool in_place = false;
  std::string describe() const {
    std::ostringstream os;
    os << to_string(coll) << " " << to_string(dtype) << " " << to_string(op) << " count " << count
       << " root " << root << (in_place ? " in place" : " out of place");
    return os.str();
  }
};

struct Setting {
  int nchannels;
  std::size_t slot_bytes;
  std::uint32_t depth;
  std::size_t chunk_bytes;  // <= slot_bytes * (depth - 1), as resolve_settings clamps it
  std::uint64_t base;       // counters start here
  std::string describe() const {
    std::ostringstream os;
    os << nchannels << " ch, slot " << slot_bytes << " B x depth " << depth << ", chunk "
       << chunk_bytes << " B, counters from " << base;
    return os.str();
  }
};

bool reduces(Collective c) {
  return c == Collective::AllReduce || c == Collective::ReduceScatter || c == Collective::Reduce;
}

// A rank's buffers for one case, with kSentinel bytes around.
struct RankBuffers {
  std::unique_ptr<Mem> send, recv, scratch;
  unsigned char* sp = nullptr;
  unsigned char* rp = nullptr;
  std::size_t sbytes = 0, rbytes = 0, scratch_bytes = 0;
};

// Runs `c` with `algo` on every rank of `w`; returns the problems.
std::vector<std::string> run_case(World& w, Algo algo, const Case& c, int nchannels,
                                  std::size_t chunk_bytes, const Layout* layout) {
  const int n = w.size();
  plan::CollArgs args;
  args.coll = c.coll;
  args.count = c.count;
  args.dtype = c.dtype;
  args.op = c.op;
  args.root = c.root;
  args.nranks = n;
  const AlgoParams params{nchannels, chunk_bytes, layout};
  const std::size_t es = dtype_size(c.dtype);
  const std::size_t scount = plan::send_count(args), rcount = plan::recv_count(args);

  // Inputs as stored (rounded to the dtype).
  std::vector<std::vector<double>> inputs(static_cast<std::size_t>(n));
  std::vector<unsigned char> tmp(es);
  for (int r = 0; r < n; ++r) {
    for (std::size_t i = 0; i < scount; ++i) {
      test::store(c.dtype, tmp.data(), 0, test::input_value(c.dtype, c.op, r, i));
      inputs[static_cast<std::size_t>(r)].push_back(test::load(c.dtype, tmp.data(), 0));
    }
  }

  std::vector<plan::Plan> plans;
  std::vector<RankBuffers> bufs(static_cast<std::size_t>(n));
  std::vector<std::array<void*, 3>> ptrs;
  for (int r = 0; r < n; ++r) {
    plans.push_back(algorithms::make_plan(algo, args, r, params));
    const auto ur = static_cast<std::size_t>(r);
    RankBuffers& b = bufs[ur];
    b.sbytes = scount * es;
    b.rbytes = rcount * es;
    b.scratch_bytes = plans.back().scratch_count * es;
    b.send = std::make_unique<Mem>(b.sbytes + 64, kSentinel);
    b.recv = std::make_unique<Mem>(b.rbytes + 64, kSentinel);
    b.scratch = std::make_unique<Mem>(b.scratch_bytes + 64, kSentinel);
    b.sp = reinterpret_cast<unsigned char*>(b.send->data());
    b.rp = reinterpret_cast<unsigned char*>(b.recv->data());
    if (c.in_place) {
      if (c.coll == Collective::AllGather)
        b.sp = b.rp + ur * c.count * es;
      else if (c.coll == Collective::ReduceScatter)
        b.rp = b.sp + ur * c.count * es;
      else
        b.sp = b.rp;
    }
    for (std::size_t i = 0; i < scount; ++i) test::store(c.dtype, b.sp, i, inputs[ur][i]);
    ptrs.push_back({b.sp, b.rp, b.scratch_bytes ? static_cast<void*>(b.scratch->data()) : nullptr});
  }

  std::vector<std::string> problems = w.run(plans, ptrs);
  if (!problems.empty()) return problems;

  std::vector<double> column(static_cast<std::size_t>(n));
  auto reduced = [&](std::size_t k) {
    for (std::size_t q = 0; q < column.size(); ++q) column[q] = inputs[q][k];
    return test::reduce_reference(c.dtype, c.op, column.data(), n);
  };
  for (int r = 0; r < n; ++r) {
    const auto ur = static_cast<std::size_t>(r);
    const RankBuffers& b = bufs[ur];
    int bad = 0;
    auto report = [&](const std::string& what) {
      if (bad++ < 3) problems.push_back("rank " + std::to_string(r) + ": " + what);
    };
    auto check = [&](std::size_t i, double got, test::Expected e) {
      if (std::fabs(got - e.value) <= e.tolerance) return;
      std::ostringstream os;
      os << "recv[" << i << "] = " << got << ", expected " << e.value << " +- " << e.tolerance;
      report(os.str());
    };
    if (c.coll != Collective::Reduce || r == c.root) {
      for (std::size_t i = 0; i < rcount; ++i) {
        const double got = test::load(c.dtype, b.rp, i);
        switch (c.coll) {
          case Collective::AllReduce:
          case Collective::Reduce: check(i, got, reduced(i)); break;
          case Collective::ReduceScatter: check(i, got, reduced(ur * c.count + i)); break;
          case Collective::AllGather: check(i, got, {inputs[i / c.count][i % c.count], 0}); break;
          case Collective::Broadcast:
            check(i, got, {inputs[static_cast<std::size_t>(c.root)][i], 0});
            break;
        }
      }
    } else if (!c.in_place) {
      for (std::size_t k = 0; k < b.rbytes; ++k) {
        if (b.rp[k] != kSentinel) {
          report("reduce wrote the recv buffer of a non-root rank (byte " + std::to_string(k) +
                 ")");
          break;
        }
      }
    }
    if (!c.in_place) {
      for (std::size_t i = 0; i < scount; ++i) {
        if (test::load(c.dtype, b.sp, i) != inputs[ur][i]) {
          report("send buffer modified at element " + std::to_string(i));
          break;
        }
      }
    }
    // Nothing written past any buffer's end.
    const auto* recv_base = reinterpret_cast<const unsigned char*>(b.recv->data());
    const auto* send_base = reinterpret_cast<const unsigned char*>(b.send->data());
    const auto* scratch_base = reinterpret_cast<const unsigned char*>(b.scratch->data());
    const std::size_t recv_used = c.in_place && c.coll == Collective::ReduceScatter ? 0 : b.rbytes;
    const std::size_t send_used = c.in_place && c.coll != Collective::ReduceScatter
                                      ? 0
                                      : b.sbytes;  // in place: send lives in recv
    for (const auto& [base, used] :
         {std::pair{recv_base, recv_used}, std::pair{send_base, send_used},
          std::pair{scratch_base, b.scratch_bytes}}) {
      for (std::size_t k = used; k < used + 64; ++k) {
        if (base[k] != kSentinel) {
          report("wrote past the end of a buffer (" + std::to_string(k - used) + " bytes past)");
          break;
        }
      }
    }
  }
  return problems;
}

// Every FIFO shape of {64, 256} B slots x depth {2, 4} x {1, 2} channels; the
// chunk at its largest (slot x (depth - 1), as resolve_settings clamps it) or
// below a slot; counters from 0 or from large values (not multiples of the depth).
const Setting kSettings[] = {
    {1, 64, 2, 64, 0},
    {2, 64, 2, 32, (std::uint64_t{1} << 32) - 1},
    {1, 64, 4, 192, (std::uint64_t{1} << 40) + 3},
    {2, 64, 4, 128, 0},
    {1, 256, 2, 256, 0},
    {2, 256, 2, 256, (std::uint64_t{1} << 32) - 1},
    {1, 256, 4, 768, 0},
    {2, 256, 4, 512, (std::uint64_t{1} << 40) + 3},
};

std::string join_first(const std::vector<std::string>& v, std::size_t k = 5) {
  std::string s;
  for (std::size_t i = 0; i < v.size() && i < k; ++i) s += v[i] + "\n";
  if (v.size() > k) s += "... and " + std::to_string(v.size() - k) + " more\n";
  return s;
}

// The sweep of one algorithm: every collective it implements, every n and setting.
void sweep(Algo algo) {
  const auto start = Clock::now();
  const std::uint64_t messages = g_messages.load();
  std::size_t cases = 0;
  std::vector<std::string> problems;
  for (const int n : {1, 2, 3, 4, 5, 8}) {
    std::optional<Layout> layout;
    if (algo == Algo::Hierarchical) {
      // 2 nodes where n is even; odd n: uneven interleaved nodes (n = 3: {0, 1}, {2};
      // n = 5: {0, 2}, {1, 3, 4}), and n = 1 a single node.
      if (n % 2 == 0)
        layout = Layout::blocks(2, n / 2);
      else if (n == 3)
        layout = Layout::from_nodes({0, 0, 1});
      else if (n == 5)
        layout = Layout::from_nodes({0, 1, 0, 1, 1});
      else
        layout = Layout::single_node(n);
    }
    for (const Setting& s : kSettings) {
      // One world per (n, setting): every case continues the counters of the one before.
      World world(n, s.slot_bytes, s.depth, s.base);
      const std::string where = std::string(to_string(algo)) + " n=" + std::to_string(n) +
                                (layout ? " (" + layout->describe() + ")" : std::string()) + ", " +
                                s.describe() + ": ";
      auto one = [&](const Case& c) {
        ++cases;
        for (const std::string& p :
             run_case(world, algo, c, s.nchannels, s.chunk_bytes, layout ? &*layout : nullptr))
          problems.push_back(where + c.describe() + ": " + p);
      };
      for (const Collective coll :
           {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
            Collective::Broadcast, Collective::Reduce}) {
        if (!algorithms::supports(algo, coll)) continue;
        for (const std::size_t count : {1, 7, 1031, 10007}) {
          // 10007 elements in 64 B slots are ~1000 messages a rank: 256 B slots only (time).
          if (count == 10007 && s.slot_bytes < 256) continue;
          for (const auto& [dtype, op] : {std::pair{DataType::Int32, ReduceOp::Sum},
                                          std::pair{DataType::Float32, ReduceOp::Avg}}) {
            if (!reduces(coll) && op != ReduceOp::Sum) continue;
            for (const bool in_place : {false, true}) {
              Case c;
              c.coll = coll;
              c.dtype = dtype;
              c.op = op;
              c.count = count;
              c.root =
                  static_cast<int>((count * 3 + (in_place ? 1 : 0)) % static_cast<std::size_t>(n));
              c.in_place = in_place;
              one(c);
            }
          }
        }
        // One bf16 Max case per reducing collective (n = 5 and 8, 64 B slots of depth 4).
        if (reduces(coll) && (n == 5 || n == 8) && s.slot_bytes == 64 && s.depth == 4 &&
            s.nchannels == 2) {
          Case c;
          c.coll = coll;
          c.dtype = DataType::Bfloat16;
          c.op = ReduceOp::Max;
          c.count = 1031;
          c.root = n - 1;
          one(c);
        }
        if (problems.size() > 20) break;
      }
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  INFO(to_string(algo) << ": " << cases << " cases in " << secs << " s\n" << join_first(problems));
  WARN(to_string(algo) << ": " << cases << " cases, " << g_messages.load() - messages
                       << " messages in " << secs << " s");
  CHECK(problems.empty());
}

bool mentions(const std::vector<std::string>& problems, const std::string& what) {
  for (const auto& p : problems)
    if (p.find(what) != std::string::npos) return true;
  return false;
}

plan::CollArgs make_args(Collective coll, std::size_t count, DataType dtype, ReduceOp op, int root,
                         int n) {
  plan::CollArgs a;
  a.coll = coll;
  a.count = count;
  a.dtype = dtype;
  a.op = op;
  a.root = root;
  a.nranks = n;
  return a;
}

}  // namespace

// ---------------------------------------------------------------------------

TEST_CASE("device plan: encode_channel mirrors every step of every algorithm's plans",
          "[device][encode]") {
  std::size_t channels = 0;
  for (int n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 16}) {
    for (int a = 0; a < algorithms::kNumAlgos; ++a) {
      const auto algo = static_cast<Algo>(a);
      std::optional<Layout> layout;
      if (algo == Algo::Hierarchical && n % 2 == 0) layout = Layout::blocks(2, n / 2);
      for (int ci = 0; ci < plan::kNumCollectives; ++ci) {
        const auto coll = static_cast<Collective>(ci);
        if (!algorithms::supports(algo, coll)) continue;
        for (std::size_t count : {1, 7, 1031}) {
          auto args = make_args(coll, count, DataType::Float32, ReduceOp::Sum, n / 2, n);
          if (coll == Collective::AllToAllv) {  // uneven: block q holds count + q elements
            auto v = std::make_shared<plan::VectorArgs>();
            std::size_t at = 0;
            for (int q = 0; q < n; ++q) {
              v->send_counts.push_back(count + static_cast<std::size_t>(q));
              v->send_displs.push_back(at);
              at += count + static_cast<std::size_t>(q);
            }
            v->recv_counts = v->send_counts;
            v->recv_displs = v->send_displs;
            args.v = std::move(v);
          }
          for (int r = 0; r < n; ++r) {
            if (plan::is_p2p(coll) && r == args.root) continue;  // self: copied, never a Plan
            const plan::Plan p = algorithms::make_plan(
                algo, args, r, AlgoParams{2, 64, layout ? &*layout : nullptr});
            for (std::size_t c = 0; c < p.channels.size(); ++c) {
              const auto& steps = p.channels[c].steps;
              INFO(to_string(algo) << " " << to_string(coll) << " n=" << n << " count " << count
                                   << " rank " << r << " channel " << c);
              const EncodedChannel e = exec::gpu::encode_channel(p.channels[c]);
              ++channels;
              REQUIRE(e.steps.size() == steps.size());
              REQUIRE(e.peers.size() <= static_cast<std::size_t>(kMaxConns));
              for (std::size_t i = 0; i < e.peers.size(); ++i) {
                CHECK(e.peers[i] >= 0);
                CHECK(e.peers[i] < n);
                CHECK(e.peers[i] !=
                      r);  // no plan talks to its own rank (DeviceLinks has no self link)
                for (std::size_t j = 0; j < i; ++j) CHECK(e.peers[i] != e.peers[j]);
              }
              for (std::size_t i = 0; i < steps.size(); ++i) {
                const plan::Step& s = steps[i];
                const DeviceStep& d = e.steps[i];
                INFO("step " << i << ": " << plan::describe(s));
                CHECK(d.kind == static_cast<std::uint8_t>(s.kind));
                CHECK(d.finalize == (s.finalize ? 1 : 0));
                CHECK(d.count == s.count());
                // The kernel moves no message for a zero-count step, the host
                // executor an empty one: plans have none, so the two agree.
                CHECK(d.count > 0);
                CHECK(d.src_buffer == static_cast<std::uint8_t>(s.src.buffer));
                CHECK(d.dst_buffer == static_cast<std::uint8_t>(s.dst.buffer));
                CHECK(d.src_offset == s.src.offset);
                CHECK(d.dst_offset == s.dst.offset);
                if (plan::receives(s.kind)) {
                  REQUIRE(d.recv_conn >= 0);
                  REQUIRE(static_cast<std::size_t>(d.recv_conn) < e.peers.size());
                  CHECK(e.peers[static_cast<std::size_t>(d.recv_conn)] == s.recv_peer);
                } else {
                  CHECK(d.recv_conn == -1);
                }
                if (plan::sends(s.kind)) {
                  REQUIRE(d.send_conn >= 0);
                  REQUIRE(static_cast<std::size_t>(d.send_conn) < e.peers.size());
                  CHECK(e.peers[static_cast<std::size_t>(d.send_conn)] == s.send_peer);
                } else {
                  CHECK(d.send_conn == -1);
                }
                // What the kernel touches lies inside the call's buffers.
                const std::size_t sc = plan::send_count(args), rc = plan::recv_count(args);
                auto within = [&](std::uint8_t buf, std::uint64_t off) {
                  const std::size_t size = buf == 0 ? sc : buf == 1 ? rc : p.scratch_count;
                  return off + d.count <= size;
                };
                if (plan::reads_src(s.kind)) CHECK(within(d.src_buffer, d.src_offset));
                if (plan::writes_dst(s.kind)) CHECK(within(d.dst_buffer, d.dst_offset));
              }
              // Every peer is used by some step (no stray conns).
              for (std::size_t i = 0; i < e.peers.size(); ++i) {
                bool used = false;
                for (const DeviceStep& d : e.steps)
                  used = used || d.recv_conn == static_cast<int>(i) ||
                         d.send_conn == static_cast<int>(i);
                CHECK(used);
              }
            }
          }
        }
      }
    }
  }
  CHECK(channels > 1000);
}

TEST_CASE("device plan: encode_channel refuses what the kernel cannot run", "[device][encode]") {
  SECTION("more than kMaxConns peers on one channel") {
    plan::ChannelPlan ch;
    for (int p = 0; p <= kMaxConns; ++p) {
      plan::Step s;
      s.kind = StepKind::Send;
      s.send_peer = p + 1;
      s.src = {plan::Buffer::Send, 0, 4};
      ch.steps.push_back(s);
    }
    try {
      exec::gpu::encode_channel(ch);
      FAIL("no error");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::InvalidArgument);
      CHECK(std::string(e.what()).find("more than") != std::string::npos);
    }
    ch.steps.pop_back();  // exactly kMaxConns: fine, each its own conn
    const EncodedChannel e = exec::gpu::encode_channel(ch);
    CHECK(e.peers.size() == static_cast<std::size_t>(kMaxConns));
    for (int i = 0; i < kMaxConns; ++i) CHECK(e.steps[static_cast<std::size_t>(i)].send_conn == i);
  }
  SECTION("a step without the peer its kind needs") {
    struct Bad {
      StepKind kind;
      int send_peer, recv_peer;
    };
    for (const Bad b :
         {Bad{StepKind::Send, -1, -1}, Bad{StepKind::Recv, -1, -1},
          Bad{StepKind::RecvReduce, 2, -1}, Bad{StepKind::RecvReduceSend, -1, 2},
          Bad{StepKind::RecvCopySend, 2, -1}, Bad{StepKind::RecvReduceCopySend, -1, 2}}) {
      plan::ChannelPlan ch;
      plan::Step s;
      s.kind = b.kind;
      s.send_peer = b.send_peer;
      s.recv_peer = b.recv_peer;
      s.src = {plan::Buffer::Send, 0, 4};
      s.dst = {plan::Buffer::Recv, 0, 4};
      ch.steps.push_back(s);
      INFO(plan::describe(s));
      CHECK_THROWS_AS(exec::gpu::encode_channel(ch), Error);
    }
  }
  SECTION("local steps need no conn; one peer both ways is one conn") {
    plan::ChannelPlan ch;
    plan::Step copy;
    copy.kind = StepKind::Copy;
    copy.src = {plan::Buffer::Send, 0, 8};
    copy.dst = {plan::Buffer::Recv, 0, 8};
    copy.send_peer = 5;  // ignored: Copy neither sends nor receives
    ch.steps.push_back(copy);
    plan::Step x;
    x.kind = StepKind::RecvReduceCopySend;
    x.send_peer = 3;
    x.recv_peer = 3;
    x.src = {plan::Buffer::Send, 0, 8};
    x.dst = {plan::Buffer::Recv, 0, 8};
    ch.steps.push_back(x);
    const EncodedChannel e = exec::gpu::encode_channel(ch);
    REQUIRE(e.peers == std::vector<int>{3});
    CHECK(e.steps[0].recv_conn == -1);
    CHECK(e.steps[0].send_conn == -1);
    CHECK(e.steps[1].recv_conn == 0);
    CHECK(e.steps[1].send_conn == 0);
  }
}

TEST_CASE("device protocol: ring plans through the channel loop on the CPU", "[device][protocol]") {
  sweep(Algo::Ring);
}

TEST_CASE("device protocol: tree plans through the channel loop on the CPU", "[device][protocol]") {
  sweep(Algo::Tree);
}

TEST_CASE("device protocol: hierarchical plans through the channel loop on the CPU",
          "[device][protocol]") {
  sweep(Algo::Hierarchical);
}

TEST_CASE("device protocol: recursive doubling plans through the channel loop on the CPU",
          "[device][protocol]") {
  sweep(Algo::RecursiveDoubling);
}

TEST_CASE("device protocol: consecutive plans continue the connections' counters",
          "[device][protocol]") {
  const int n = 4;
  World w(n, 64, 4);
  // Pieces rank r sends to peer p on channel c, per plan, from the plans.
  auto expect = [&](Algo algo, const plan::CollArgs& args, int nch, std::size_t chunk) {
    std::map<std::tuple<int, int, int>, std::uint64_t> sends;
    const std::uint64_t piece = 64 / dtype_size(args.dtype);
    for (int r = 0; r < n; ++r) {
      const plan::Plan p = algorithms::make_plan(algo, args, r, AlgoParams{nch, chunk, nullptr});
      for (std::size_t c = 0; c < p.channels.size(); ++c)
        for (const plan::Step& s : p.channels[c].steps)
          if (plan::sends(s.kind))
            sends[{r, s.send_peer, static_cast<int>(c)}] += (s.count() + piece - 1) / piece;
    }
    return sends;
  };
  std::map<std::tuple<int, int, int>, std::uint64_t> total;
  auto step = [&](Algo algo, Collective coll, std::size_t count, DataType dtype, ReduceOp op,
                  int nch, std::size_t chunk) {
    Case c;
    c.coll = coll;
    c.count = count;
    c.dtype = dtype;
    c.op = op;
    c.root = 1;
    INFO(to_string(algo) << " " << c.describe());
    const auto problems = run_case(w, algo, c, nch, chunk, nullptr);
    INFO(join_first(problems));
    REQUIRE(problems.empty());
    for (const auto& [k, v] : expect(algo, make_args(coll, count, dtype, op, 1, n), nch, chunk))
      total[k] += v;
    // Each (rank, peer, channel) link: exactly the pieces of every plan so far, both ends.
    for (const auto& [k, v] : total) {
      const auto [r, p, ch] = k;
      INFO("rank " << r << " -> " << p << " channel " << ch);
      CHECK(w.link(r, p, ch).words()[0] == v);
      CHECK(w.link(p, r, ch).words()[1] == v);
    }
  };
  step(Algo::Ring, Collective::AllReduce, 1031, DataType::Float32, ReduceOp::Avg, 2, 192);
  step(Algo::Ring, Collective::AllGather, 777, DataType::Int32, ReduceOp::Sum, 2, 128);
  // The counters are not multiples of the depth any more; different peers and
  // more messages on the same links.
  step(Algo::Tree, Collective::AllReduce, 513, DataType::Int32, ReduceOp::Sum, 2, 64);
  step(Algo::Ring, Collective::Broadcast, 100, DataType::Bfloat16, ReduceOp::Sum, 2, 192);
  step(Algo::RecursiveDoubling, Collective::AllReduce, 99, DataType::Float32, ReduceOp::Sum, 2,
       192);
  step(Algo::Ring, Collective::AllReduce, 1031, DataType::Float32, ReduceOp::Avg, 2, 192);
}

TEST_CASE("device protocol: ranks 0 and 1 through host proxies over loopback, the rest direct",
          "[device][protocol][proxy]") {
  const auto start = Clock::now();
  const std::uint64_t messages = g_messages.load();
  std::size_t cases = 0;
  std::vector<std::string> problems;
  for (const int n : {2, 3}) {
    for (const Setting& s :
         {Setting{1, 64, 2, 64, 0}, Setting{2, 64, 4, 192, 0}, Setting{2, 256, 4, 512, 0}}) {
      World w(n, s.slot_bytes, s.depth, s.base, /*proxy01=*/true);
      REQUIRE(w.proxied(0, 1));
      REQUIRE(w.proxied(1, 0));
      for (const std::size_t count : {1, 7, 1031, 10007}) {
        for (const auto& [dtype, op] : {std::pair{DataType::Int32, ReduceOp::Sum},
                                        std::pair{DataType::Float32, ReduceOp::Avg}}) {
          for (const bool in_place : {false, true}) {
            Case c;
            c.count = count;
            c.dtype = dtype;
            c.op = op;
            c.in_place = in_place;
            ++cases;
            for (const auto& p : run_case(w, Algo::Ring, c, s.nchannels, s.chunk_bytes, nullptr))
              problems.push_back("n=" + std::to_string(n) + " " + s.describe() + " " +
                                 c.describe() + ": " + p);
          }
        }
      }
      // A different plan on the same (proxied) connections.
      Case g;
      g.coll = Collective::AllGather;
      g.count = 333;
      ++cases;
      for (const auto& p : run_case(w, Algo::Ring, g, s.nchannels, s.chunk_bytes, nullptr))
        problems.push_back("n=" + std::to_string(n) + " " + s.describe() + " " + g.describe() +
                           ": " + p);
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - start).count();
  INFO(cases << " cases in " << secs << " s\n" << join_first(problems));
  WARN("proxy: " << cases << " cases, " << g_messages.load() - messages << " messages in " << secs
                 << " s");
  CHECK(problems.empty());
}

TEST_CASE("device protocol: the channel loop catches a broken encoding (negative controls)",
          "[device][protocol]") {
  Case c;
  c.count = 1031;
  // Rank 0's first multi-element Send on channel 0 sends one element less.
  auto shorten = [](int rank, int channel, EncodedChannel& e) {
    if (rank != 0 || channel != 0) return;
    for (DeviceStep& d : e.steps) {
      if (d.kind == static_cast<std::uint8_t>(StepKind::Send) && d.count > 1) {
        --d.count;
        return;
      }
    }
  };
  SECTION("a piece cut differently, direct") {
    World w(3, 64, 4);
    w.set_timeout(5);
    w.set_mutator(shorten);
    const auto problems = run_case(w, Algo::Ring, c, 1, 192, nullptr);
    INFO(join_first(problems));
    REQUIRE_FALSE(problems.empty());
    CHECK(mentions(problems, "(the ends cut the stream differently)"));
  }
  SECTION("a piece cut differently, through the proxies") {
    World w(2, 64, 4, 0, /*proxy01=*/true);
    w.set_timeout(5);
    w.set_mutator(shorten);
    const auto problems = run_case(w, Algo::Ring, c, 1, 192, nullptr);
    INFO(join_first(problems));
    REQUIRE_FALSE(problems.empty());
    CHECK(mentions(problems, "(the ends cut the stream differently)"));
  }
  SECTION("a lost finalize") {
    World w(3, 64, 4);
    w.set_timeout(5);
    w.set_mutator([](int rank, int, EncodedChannel& e) {
      if (rank == 1)
        for (DeviceStep& d : e.steps) d.finalize = 0;
    });
    c.dtype = DataType::Float32;
    c.op = ReduceOp::Avg;
    const auto problems = run_case(w, Algo::Ring, c, 2, 192, nullptr);
    INFO(join_first(problems));
    REQUIRE_FALSE(problems.empty());
    CHECK(mentions(problems, ", expected "));
  }
  SECTION("a chunk over slot x (depth - 1) deadlocks a ring (why resolve_settings clamps it)") {
    World w(2, 64, 2);
    w.set_timeout(0.5);
    const auto problems = run_case(w, Algo::Ring, c, 1, 128, nullptr);  // 2 pieces a step, 2 slots
    INFO(join_first(problems));
    REQUIRE_FALSE(problems.empty());
    CHECK(mentions(problems, "timeout waiting in step 1 piece at 0 on conn 0 (free slot)"));
    // Within the clamp, the same call runs.
    World ok(2, 64, 2);
    const auto fine = run_case(ok, Algo::Ring, c, 1, 64, nullptr);
    INFO(join_first(fine));
    CHECK(fine.empty());
  }
  SECTION("a message to the wrong conn never arrives: the wait times out, naming the step") {
    World w(3, 64, 4);
    w.set_timeout(0.5);
    w.set_mutator([](int rank, int, EncodedChannel& e) {
      if (rank != 2) return;
      for (DeviceStep& d : e.steps) {
        if (d.recv_conn >= 0)
          d.recv_conn = static_cast<std::int8_t>(d.send_conn >= 0 ? d.send_conn : d.recv_conn);
      }
    });
    const auto problems = run_case(w, Algo::Ring, c, 1, 192, nullptr);
    INFO(join_first(problems));
    REQUIRE_FALSE(problems.empty());
    CHECK(mentions(problems, "timeout waiting in step"));
  }
}
