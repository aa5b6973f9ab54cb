// Communicators bound to a GPU (Options::cuda_device): the stream overloads of
// the public API on device buffers, end to end.
//
//   ranks as threads of this process, all on GPU 0 (loopback_group): every
//     collective x dtypes x ops x counts x in place / out of place x aligned /
//     misaligned, compared exactly with a float64 host reference
//     (device_cases.hpp says why exact comparison is sound);
//   several calls in flight, on one stream and on two streams in turn;
//   CUDA graph capture and replay, with eager calls in between;
//   ranks as processes on GPU 0 (device_worker, started with posix_spawn):
//     over CUDA IPC, and through the host proxy over tcp;
//   misuse: calls that must throw colossus::Error, some of which run (and
//     must pass) where there is no GPU at all.
//
// GPU cases skip themselves where no GPU is usable (gpu_skip.hpp: exit 77).
// Catch2 assertions are not thread-safe: rank threads collect problems as
// text, and the test thread asserts on them.
#include <cuda_runtime_api.h>

#include <barrier>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bootstrap/unique_id.hpp"
#include "catch.hpp"
#include "colossus/colossus.hpp"
#include "gpu/device_cases.hpp"
#include "gpu/gpu_skip.hpp"

namespace colossus::test::device {
namespace {

// Per wait (host handshakes and kernel FIFO waits): a bug ends as an error
// in this time instead of a hang.
constexpr double kTimeoutS = 60;

Options bound(double timeout_s = kTimeoutS) {
  Options o;
  o.cuda_device = 0;
  o.timeout_s = timeout_s;
  return o;
}

// ---- Ranks as threads --------------------------------------------------------

// One rank thread's world: its communicator, two non-blocking streams, and
// its device pools (allocated before any rank starts a collective, freed
// after every rank has finished: cudaFree synchronizes the whole device,
// which must never wait on a kernel that waits on this thread).
struct Rank {
  int rank = 0, n = 0;
  Communicator* comm = nullptr;
  cudaStream_t stream[2] = {nullptr, nullptr};
  std::byte* send_pool = nullptr;
  std::byte* recv_pool = nullptr;
  std::barrier<>* group_barrier = nullptr;
  std::vector<std::string> problems;
  std::size_t dropped = 0;

  void report(const std::string& what) {
    if (problems.size() < 16) {
      problems.push_back("n " + std::to_string(n) + ", rank " + std::to_string(rank) + ": " + what);
    } else {
      ++dropped;
    }
  }
  // Waits for one stream, then raises what the device met.
  void sync(int which) {
    cuda_ok(cudaStreamSynchronize(stream[which]), "cudaStreamSynchronize");
    comm->check_async_error();
  }
  void barrier() { group_barrier->arrive_and_wait(); }
  // Runs one case start to end on stream `which`; reports what is wrong.
  void run(const Case& c, int which = 0, std::size_t send_offset = 0, std::size_t recv_offset = 0) {
    Call call(c, n, rank, send_pool + send_offset, recv_pool + recv_offset);
    call.stage(stream[which]);
    call.enqueue(*comm, stream[which]);
    call.fetch(stream[which]);
    sync(which);
    check(call);
  }
  void check(const Call& call) {
    for (const auto& p : call.verify()) report(call.c.describe() + ": " + p);
  }
};

// n ranks of a loopback group bound to GPU 0, each on its own thread running
// body(rank). Returns every problem reported ("" lines none: all correct).
std::vector<std::string> run_group(int n, std::size_t send_bytes, std::size_t recv_bytes,
                                   const std::function<void(Rank&)>& body,
                                   const Options& options = bound()) {
  std::vector<Communicator> comms = loopback_group(n, options);
  std::vector<Rank> ranks(static_cast<std::size_t>(n));
  std::barrier<> group_barrier(n);
  std::vector<std::thread> threads;
  for (int r = 0; r < n; ++r) {
    threads.emplace_back([&, r] {
      Rank& me = ranks[static_cast<std::size_t>(r)];
      me.rank = r;
      me.n = n;
      me.comm = &comms[static_cast<std::size_t>(r)];
      me.group_barrier = &group_barrier;
      bool ready = true;
      try {
        cuda_ok(cudaSetDevice(0), "cudaSetDevice");
        for (auto& s : me.stream)
          cuda_ok(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
        cuda_ok(cudaMalloc(reinterpret_cast<void**>(&me.send_pool), send_bytes + 256),
                "cudaMalloc (send pool)");
        cuda_ok(cudaMalloc(reinterpret_cast<void**>(&me.recv_pool), recv_bytes + 256),
                "cudaMalloc (recv pool)");
      } catch (const std::exception& e) {
        me.report(std::string("setup: ") + e.what());
        ready = false;
      }
      group_barrier.arrive_and_wait();  // every pool exists before any collective
      if (ready) {
        try {
          body(me);
        } catch (const Error& e) {
          me.report(std::string("colossus::Error [") + to_string(e.code()) + "]: " + e.what());
        } catch (const std::exception& e) {
          me.report(std::string("exception: ") + e.what());
        }
      }
      // Leaves the group's barriers to the others (a rank that failed early
      // must not leave them waiting), then lets its own work finish: a kernel
      // waiting on a peer that is gone stops at the timeout.
      group_barrier.arrive_and_drop();
      for (auto& s : me.stream) {
        if (s != nullptr) cudaStreamSynchronize(s);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::string> out;
  for (auto& me : ranks) {
    cudaFree(me.send_pool);
    cudaFree(me.recv_pool);
    for (auto& s : me.stream) {
      if (s != nullptr) cudaStreamDestroy(s);
    }
    out.insert(out.end(), me.problems.begin(), me.problems.end());
    if (me.dropped)
      out.push_back("rank " + std::to_string(me.rank) + ": " + std::to_string(me.dropped) +
                    " more problems");
  }
  return out;
}

std::size_t round_up(std::size_t x) { return (x + 255) / 256 * 256; }

// ---- (a) The sweep -----------------------------------------------------------

constexpr std::size_t kBig = std::size_t{1} << 20;
constexpr DataType kMainTypes[] = {DataType::Int32,   DataType::Uint8,     DataType::Int64,
                                   DataType::Float16, DataType::Bfloat16,  DataType::Float32,
                                   DataType::Float64, DataType::Float8e4m3};

// Every case of the sweep for n ranks (the same list, in the same order, on
// every rank). Counts: 0 (a no-op, also with null buffers), 1, 7, 1031 and
// 65537 (primes: ragged splits over ranks, channels and slots), 2^20.
// Layouts: all four (in place or not, x aligned or +1 element) for counts up
// to 65537; "lean" cases and 2^20 take out of place aligned and in place
// misaligned only.
std::vector<Case> sweep(int n) {
  std::vector<Case> out;
  auto add = [&](Case c, bool lean, std::initializer_list<std::size_t> counts) {
    for (const std::size_t count : counts) {
      c.count = count;
      auto push = [&](bool in_place, bool misaligned, bool null_buffers = false) {
        Case k = c;
        k.in_place = in_place;
        k.misaligned = misaligned;
        k.null_buffers = null_buffers;
        k.seed = out.size() + 1;
        out.push_back(k);
      };
      if (count == 0) {
        push(false, false);
        push(false, false, true);
      } else if (lean || count >= kBig) {
        push(false, false);
        push(true, true);
      } else {
        push(false, false);
        push(false, true);
        push(true, false);
        push(true, true);
      }
    }
  };
  const auto all_counts = {std::size_t{0},    std::size_t{1},     std::size_t{7},
                           std::size_t{1031}, std::size_t{65537}, kBig};
  const auto small_counts = {std::size_t{1}, std::size_t{7}, std::size_t{1031}, std::size_t{65537}};
  auto make = [](Coll coll, DataType t, ReduceOp op = ReduceOp::Sum, int root = 0) {
    Case c;
    c.coll = coll;
    c.dtype = t;
    c.op = op;
    c.root = root;
    return c;
  };

  // allreduce: Sum on all 12 dtypes, every count and layout
  for (const DataType t : kAllTypes) add(make(Coll::AllReduce, t), false, all_counts);
  // allreduce: the other ops on 8 dtypes
  for (const ReduceOp op : {ReduceOp::Prod, ReduceOp::Max, ReduceOp::Min, ReduceOp::Avg}) {
    for (const DataType t : kMainTypes) add(make(Coll::AllReduce, t, op), true, small_counts);
  }
  add(make(Coll::AllReduce, DataType::Float32, ReduceOp::Avg), true, {kBig});
  add(make(Coll::AllReduce, DataType::Bfloat16, ReduceOp::Max), true, {kBig});
  add(make(Coll::AllReduce, DataType::Int32, ReduceOp::Prod), true, {kBig});
  add(make(Coll::AllReduce, DataType::Float8e4m3, ReduceOp::Min), true, {kBig});
  // allgather
  for (const DataType t : {DataType::Int32, DataType::Uint8, DataType::Float16, DataType::Float64,
                           DataType::Float8e4m3})
    add(make(Coll::AllGather, t), false, all_counts);
  // reduce_scatter
  const std::pair<DataType, ReduceOp> rs[] = {
      {DataType::Int32, ReduceOp::Sum},   {DataType::Uint8, ReduceOp::Sum},
      {DataType::Int64, ReduceOp::Max},   {DataType::Bfloat16, ReduceOp::Sum},
      {DataType::Float32, ReduceOp::Avg}, {DataType::Float8e4m3, ReduceOp::Min},
      {DataType::Float16, ReduceOp::Prod}};
  for (const auto& [t, op] : rs) add(make(Coll::ReduceScatter, t, op), false, all_counts);
  // broadcast from the first and the last rank
  for (const int root : {0, n - 1}) {
    for (const DataType t :
         {DataType::Uint8, DataType::Int32, DataType::Float16, DataType::Float64})
      add(make(Coll::Broadcast, t, ReduceOp::Sum, root), false, all_counts);
  }
  // reduce to the last rank (and once to rank 0)
  const std::pair<DataType, ReduceOp> rd[] = {
      {DataType::Int32, ReduceOp::Sum},      {DataType::Uint8, ReduceOp::Sum},
      {DataType::Float16, ReduceOp::Max},    {DataType::Bfloat16, ReduceOp::Min},
      {DataType::Float32, ReduceOp::Sum},    {DataType::Float64, ReduceOp::Prod},
      {DataType::Float8e4m3, ReduceOp::Sum}, {DataType::Int64, ReduceOp::Avg}};
  for (const auto& [t, op] : rd) add(make(Coll::Reduce, t, op, n - 1), false, all_counts);
  add(make(Coll::Reduce, DataType::Float32, ReduceOp::Avg, 0), true, all_counts);
  return out;
}

TEST_CASE("device collectives: n threads sharing one GPU", "[cuda][device]") {
  require_gpu("device collectives: n threads sharing one GPU");
  for (const int n : {2, 4, 8}) {
    const std::vector<Case> cases = sweep(n);
    std::size_t send_bytes = 0, recv_bytes = 0;
    for (const Case& c : cases) {
      send_bytes = std::max(send_bytes, send_pool_bytes(c, n));
      recv_bytes = std::max(recv_bytes, recv_pool_bytes(c, n));
    }
    const auto t0 = std::chrono::steady_clock::now();
    const std::vector<std::string> problems = run_group(n, send_bytes, recv_bytes, [&](Rank& me) {
      for (const Case& c : cases) me.run(c);
    });
    std::printf("device sweep: n = %d: %zu calls per rank in %.1f s\n", n, cases.size(),
                seconds_since(t0));
    std::fflush(stdout);
    INFO("n = " << n << " ranks on GPU 0, " << cases.size() << " calls per rank:\n"
                << join(problems));
    CHECK(problems.empty());
  }
}

// ---- (b) Calls in flight -------------------------------------------------------

// Twenty calls of assorted shapes (several first seen mid-stream, so their
// connections are made while earlier calls are still queued).
std::vector<Case> in_flight_cases(int n) {
  struct Shape {
    Coll coll;
    DataType t;
    ReduceOp op;
    std::size_t count;
    int root;
  };
  const Shape shapes[] = {
      {Coll::AllReduce, DataType::Float32, ReduceOp::Sum, 65537, 0},
      {Coll::AllReduce, DataType::Int32, ReduceOp::Max, 1031, 0},
      {Coll::AllReduce, DataType::Bfloat16, ReduceOp::Sum, std::size_t{1} << 18, 0},
      {Coll::AllReduce, DataType::Uint8, ReduceOp::Min, 7, 0},
      {Coll::AllGather, DataType::Float16, ReduceOp::Sum, 4099, 0},
      {Coll::ReduceScatter, DataType::Int64, ReduceOp::Sum, 1031, 0},
      {Coll::Broadcast, DataType::Float64, ReduceOp::Sum, 65537, n - 1},
      {Coll::Reduce, DataType::Float32, ReduceOp::Sum, 1031, 0},
  };
  std::vector<Case> out;
  for (int k = 0; k < 20; ++k) {
    const Shape& s = shapes[k % 8];
    Case c;
    c.coll = s.coll;
    c.dtype = s.t;
    c.op = s.op;
    c.count = s.count;
    c.root = s.root;
    c.in_place = k % 3 == 0;
    c.misaligned = k % 2 == 1;
    c.seed = 1000 + static_cast<std::uint64_t>(k);
    out.push_back(c);
  }
  return out;
}

TEST_CASE(
    "device collectives: several calls in flight on one stream, and on different streams in turn",
    "[cuda][device]") {
  require_gpu(
      "device collectives: several calls in flight on one stream, and on different streams in "
      "turn");
  for (const int n : {3, 8}) {  // 3: a ring that is no power of two
    const std::vector<Case> cases = in_flight_cases(n);
    std::size_t send_slice = 0, recv_slice = 0;
    for (const Case& c : cases) {
      send_slice = std::max(send_slice, round_up(send_pool_bytes(c, n)));
      recv_slice = std::max(recv_slice, round_up(recv_pool_bytes(c, n)));
    }
    const std::size_t chain_count = 4099;
    const int chain_links = 12;
    const std::vector<std::string> problems =
        run_group(n, send_slice * cases.size(), recv_slice * cases.size(), [&](Rank& me) {
          auto calls_for = [&](std::uint64_t reseed) {
            std::vector<Call> calls;
            for (std::size_t k = 0; k < cases.size(); ++k) {
              Case c = cases[k];
              c.seed += reseed;
              calls.emplace_back(c, n, me.rank, me.send_pool + k * send_slice,
                                 me.recv_pool + k * recv_slice);
            }
            return calls;
          };
          // 1. Twenty calls on one stream, no synchronization in between.
          {
            std::vector<Call> calls = calls_for(0);
            for (Call& call : calls) {
              call.stage(me.stream[0]);
              call.enqueue(*me.comm, me.stream[0]);
            }
            for (Call& call : calls) call.fetch(me.stream[0]);
            me.sync(0);
            for (const Call& call : calls) me.check(call);
          }
          // 2. The same, call k on stream k % 2: the library orders one
          //    communicator's calls across streams.
          {
            std::vector<Call> calls = calls_for(50);
            for (std::size_t k = 0; k < calls.size(); ++k) {
              calls[k].stage(me.stream[k % 2]);
              calls[k].enqueue(*me.comm, me.stream[k % 2]);
              calls[k].fetch(me.stream[k % 2]);
            }
            me.sync(0);
            me.sync(1);
            for (const Call& call : calls) me.check(call);
          }
          // 3. A chain: in-place int32 Sum allreduces of one buffer on the two
          //    streams in turn, with no event between them from the caller.
          //    Each reads what the one before wrote, so this holds only if
          //    they run one after another: after k links every element is
          //    n^(k-1) * (sum of the inputs), mod 2^32.
          {
            std::vector<std::int32_t> x(chain_count);
            for (std::size_t i = 0; i < chain_count; ++i) {
              x[i] = static_cast<std::int32_t>(mix(77, me.rank, i) % 1001) - 500;
            }
            auto* buf = reinterpret_cast<std::int32_t*>(me.recv_pool);
            cuda_ok(cudaMemcpyAsync(buf, x.data(), chain_count * 4, cudaMemcpyHostToDevice,
                                    me.stream[0]),
                    "cudaMemcpyAsync");
            for (int k = 0; k < chain_links; ++k) {
              me.comm->allreduce(buf, buf, chain_count, DataType::Int32, ReduceOp::Sum,
                                 me.stream[k % 2]);
            }
            std::vector<std::int32_t> got(chain_count);
            const int last = (chain_links - 1) % 2;
            cuda_ok(cudaMemcpyAsync(got.data(), buf, chain_count * 4, cudaMemcpyDeviceToHost,
                                    me.stream[last]),
                    "cudaMemcpyAsync");
            me.sync(0);
            me.sync(1);
            std::uint32_t scale = 1;
            for (int k = 1; k < chain_links; ++k) scale *= static_cast<std::uint32_t>(n);
            int bad = 0;
            for (std::size_t i = 0; i < chain_count && bad < 3; ++i) {
              std::uint32_t sum = 0;
              for (int r = 0; r < n; ++r) {
                sum += static_cast<std::uint32_t>(static_cast<std::int32_t>(mix(77, r, i) % 1001) -
                                                  500);
              }
              const auto want = static_cast<std::int32_t>(sum * scale);
              if (got[i] != want) {
                ++bad;
                me.report("chain of " + std::to_string(chain_links) +
                          " in-place allreduces on alternating streams: element " +
                          std::to_string(i) + ": got " + std::to_string(got[i]) + ", want " +
                          std::to_string(want));
              }
            }
          }
        });
    INFO("n = " << n << ":\n" << join(problems));
    CHECK(problems.empty());
  }
}

// ---- (c) CUDA graphs -----------------------------------------------------------

// Captures what `enqueue` puts on `s` into an instantiated graph. All ranks
// capture at once; nobody allocates or copies meanwhile (barriers around),
// as global capture mode requires of every thread of the process.
cudaGraphExec_t capture(Rank& me, cudaStream_t s, const std::function<void()>& enqueue) {
  cuda_ok(cudaStreamSynchronize(s), "cudaStreamSynchronize");
  me.barrier();
  cuda_ok(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), "cudaStreamBeginCapture");
  cudaGraph_t graph = nullptr;
  try {
    enqueue();
  } catch (...) {
    cudaStreamEndCapture(s, &graph);
    if (graph) cudaGraphDestroy(graph);
    throw;
  }
  cuda_ok(cudaStreamEndCapture(s, &graph), "cudaStreamEndCapture");
  cudaGraphExec_t exec = nullptr;
  const cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
  cudaGraphDestroy(graph);
  cuda_ok(e, "cudaGraphInstantiate");
  me.barrier();
  return exec;
}

struct GraphExec {
  cudaGraphExec_t exec = nullptr;
  ~GraphExec() {
    if (exec) cudaGraphExecDestroy(exec);
  }
};

TEST_CASE("device collectives: CUDA graph capture", "[cuda][device]") {
  require_gpu("device collectives: CUDA graph capture");
  for (const int n : {2, 4}) {
    auto make = [&](Coll coll, DataType t, std::size_t count, bool in_place, bool misaligned) {
      Case c;
      c.coll = coll;
      c.dtype = t;
      c.count = count;
      c.in_place = in_place;
      c.misaligned = misaligned;
      return c;
    };
    // Captured: first seen inside the capture (connections and device plans
    // are made in relaxed capture mode).
    const Case captured[] = {make(Coll::AllReduce, DataType::Float32, 65537, false, false),
                             make(Coll::AllGather, DataType::Int32, 1031, true, false),
                             make(Coll::ReduceScatter, DataType::Bfloat16, 4099, false, true)};
    // Eager, between replays: the captured allreduce's shape on other
    // buffers, and a shape not seen before.
    const Case eager[] = {make(Coll::AllReduce, DataType::Float32, 65537, true, true),
                          make(Coll::AllReduce, DataType::Int64, 777, false, false)};
    std::size_t send_slice = 0, recv_slice = 0;
    for (const Case& c : captured) {
      send_slice = std::max(send_slice, round_up(send_pool_bytes(c, n)));
      recv_slice = std::max(recv_slice, round_up(recv_pool_bytes(c, n)));
    }
    const std::vector<std::string> problems =
        run_group(n, send_slice * 6, recv_slice * 6, [&](Rank& me) {
          cudaStream_t s = me.stream[0];
          auto slice = [&](int k, const Case& c) {
            return Call(c, n, me.rank, me.send_pool + k * send_slice,
                        me.recv_pool + k * recv_slice);
          };
          std::vector<Call> g;
          for (int k = 0; k < 3; ++k) g.push_back(slice(k, captured[k]));
          GraphExec graph1;
          graph1.exec = capture(me, s, [&] {
            for (const Call& call : g) call.enqueue(*me.comm, s);
          });
          for (int launch = 0; launch < 5; ++launch) {
            for (Call& call : g) {
              call.c.seed = 100 + static_cast<std::uint64_t>(launch);
              call.stage(s);
            }
            cuda_ok(cudaGraphLaunch(graph1.exec, s), "cudaGraphLaunch");
            for (Call& call : g) call.fetch(s);
            me.sync(0);
            for (const Call& call : g) {
              for (const auto& p : call.verify()) {
                me.report("graph launch " + std::to_string(launch) + ": " + call.c.describe() +
                          ": " + p);
              }
            }
            if (launch == 2) {
              for (int k = 0; k < 2; ++k) {
                Case c = eager[k];
                c.seed = 300 + static_cast<std::uint64_t>(k);
                me.run(c, 0, static_cast<std::size_t>(3 + k) * send_slice,
                       static_cast<std::size_t>(3 + k) * recv_slice);
              }
            }
          }
          // A second graph captured once the shape's plan exists (a warm
          // capture), replayed in turn with the first.
          Call h = slice(5, captured[0]);
          GraphExec graph2;
          graph2.exec = capture(me, s, [&] { h.enqueue(*me.comm, s); });
          for (int launch = 0; launch < 2; ++launch) {
            for (Call& call : g) {
              call.c.seed = 500 + static_cast<std::uint64_t>(launch);
              call.stage(s);
            }
            h.c.seed = 600 + static_cast<std::uint64_t>(launch);
            h.stage(s);
            cuda_ok(cudaGraphLaunch(graph1.exec, s), "cudaGraphLaunch");
            cuda_ok(cudaGraphLaunch(graph2.exec, s), "cudaGraphLaunch");
            for (Call& call : g) call.fetch(s);
            h.fetch(s);
            me.sync(0);
            for (const Call* call : {&g[0], &g[1], &g[2], &h}) {
              for (const auto& p : call->verify()) {
                me.report("two graphs, launch " + std::to_string(launch) + ": " +
                          call->c.describe() + ": " + p);
              }
            }
          }
        });
    INFO("n = " << n << ":\n" << join(problems));
    CHECK(problems.empty());
  }
}

// ---- (e) Misuse ----------------------------------------------------------------

struct Thrown {
  bool threw = false;
  bool colossus = false;
  ErrorCode code = ErrorCode::Success;
  std::string what;
  std::string describe() const {
    if (!threw) return "no exception";
    if (!colossus) return "not a colossus::Error: " + what;
    return std::string("colossus::Error [") + to_string(code) + "]: " + what;
  }
};

template <class F>
Thrown thrown_by(F&& f) {
  Thrown t;
  try {
    f();
  } catch (const Error& e) {
    t.threw = t.colossus = true;
    t.code = e.code();
    t.what = e.what();
  } catch (const std::exception& e) {
    t.threw = true;
    t.what = e.what();
  }
  return t;
}

#define CHECK_THROWS_CODE(expected_code, expr)  \
  do {                                          \
    const Thrown t_ = thrown_by([&] { expr; }); \
    INFO(#expr << " -> " << t_.describe());     \
    CHECK(t_.colossus);                         \
    CHECK(t_.code == (expected_code));          \
    CHECK(!t_.what.empty());                    \
  } while (0)

TEST_CASE("device collectives: misuse throws colossus::Error (runs without a GPU too)",
          "[device][errors]") {
  // A communicator that is not bound: every stream overload is InvalidUsage,
  // whatever the buffers (these never reach CUDA).
  {
    std::vector<Communicator> comms = loopback_group(2);
    Communicator& c = comms[0];
    CHECK(c.cuda_device() == -1);
    CHECK_NOTHROW(c.check_async_error());
    std::int32_t buf[8] = {};
    cudaStream_t s = nullptr;
    CHECK_THROWS_CODE(ErrorCode::InvalidUsage,
                      c.allreduce(buf, buf, 4, DataType::Int32, ReduceOp::Sum, s));
    CHECK_THROWS_CODE(ErrorCode::InvalidUsage, c.allgather(buf, buf, 2, DataType::Int32, s));
    CHECK_THROWS_CODE(ErrorCode::InvalidUsage,
                      c.reduce_scatter(buf, buf + 4, 2, DataType::Int32, ReduceOp::Sum, s));
    CHECK_THROWS_CODE(ErrorCode::InvalidUsage, c.broadcast(buf, buf, 4, DataType::Int32, 0, s));
    CHECK_THROWS_CODE(ErrorCode::InvalidUsage,
                      c.reduce(buf, buf, 4, DataType::Int32, ReduceOp::Sum, 1, s));
    CHECK_THROWS_CODE(ErrorCode::InvalidUsage,
                      c.allreduce(nullptr, nullptr, 0, DataType::Int32, ReduceOp::Sum, s));
    c.destroy();
    CHECK_THROWS_CODE(ErrorCode::InvalidUsage,
                      c.allreduce(buf, buf, 4, DataType::Int32, ReduceOp::Sum, s));
    CHECK_THROWS_CODE(ErrorCode::InvalidUsage, c.check_async_error());
    CHECK_THROWS_CODE(ErrorCode::InvalidUsage, (void)c.cuda_device());
  }
  {
    Communicator empty;
    CHECK_THROWS_CODE(
        ErrorCode::InvalidUsage,
        empty.allreduce(nullptr, nullptr, 0, DataType::Float32, ReduceOp::Sum, nullptr));
    CHECK_THROWS_CODE(ErrorCode::InvalidUsage, empty.check_async_error());
  }
  // Options::cuda_device below -1: InvalidArgument, before any rank connects.
  {
    Options o;
    o.cuda_device = -2;
    CHECK_THROWS_CODE(ErrorCode::InvalidArgument, (void)loopback_group(2, o));
    const UniqueId id = make_unique_id();
    CHECK_THROWS_CODE(ErrorCode::InvalidArgument, (void)init(id, 0, 1, o));
    bootstrap::UniqueId raw;
    std::memcpy(&raw, &id, sizeof raw);
    bootstrap::discard_unique_id(raw);  // init threw before taking the listener
  }
  // A device that does not exist (or no usable device at all): an Error with
  // a message, not a crash, from loopback_group and from init.
  {
    std::vector<int> devices = {9999};
    if (!reduce::gpu::device_available()) devices.push_back(0);  // none usable here
    for (const int d : devices) {
      Options o;
      o.cuda_device = d;
      const Thrown t = thrown_by([&] { (void)loopback_group(2, o); });
      INFO("loopback_group(2, cuda_device = " << d << ") -> " << t.describe());
      CHECK(t.colossus);
      CHECK((t.code == ErrorCode::InvalidArgument || t.code == ErrorCode::InvalidUsage));
      CHECK(!t.what.empty());
      const Thrown u = thrown_by([&] { (void)init(make_unique_id(), 0, 1, o); });
      INFO("init(1 rank, cuda_device = " << d << ") -> " << u.describe());
      CHECK(u.colossus);
      CHECK((u.code == ErrorCode::InvalidArgument || u.code == ErrorCode::InvalidUsage));
      CHECK(!u.what.empty());
    }
  }
}

// Runs f on a rank thread and reports unless it throws `code`.
template <class F>
void expect_code(Rank& me, ErrorCode code, const std::string& what, F&& f) {
  const Thrown t = thrown_by(f);
  if (!t.colossus || t.code != code || t.what.empty()) {
    me.report(what + ": want colossus::Error [" + to_string(code) + "], got " + t.describe());
  }
}

TEST_CASE("device collectives: host buffers on a stream, device buffers without one, are refused",
          "[cuda][device][errors]") {
  require_gpu(
      "device collectives: host buffers on a stream, device buffers without one, are refused");
  const int n = 2;
  const std::size_t count = 1031;
  const std::vector<std::string> problems = run_group(n, 1 << 20, 1 << 20, [&](Rank& me) {
    Communicator& c = *me.comm;
    if (c.cuda_device() != 0)
      me.report("cuda_device() = " + std::to_string(c.cuda_device()) + ", want 0");
    c.check_async_error();
    std::vector<float> host(count * n, 1.0f), host2(count * n, 0.0f);
    void* dev = me.send_pool;
    void* dev2 = me.recv_pool;
    cudaStream_t s = me.stream[0];
    // Host memory on a stream: InvalidArgument (checked before anything is
    // enqueued or exchanged, so the peers are not left waiting).
    expect_code(me, ErrorCode::InvalidArgument, "allreduce(host, host, stream)", [&] {
      c.allreduce(host.data(), host2.data(), count, DataType::Float32, ReduceOp::Sum, s);
    });
    expect_code(me, ErrorCode::InvalidArgument, "allreduce(device, host, stream)", [&] {
      c.allreduce(dev, host2.data(), count, DataType::Float32, ReduceOp::Sum, s);
    });
    expect_code(me, ErrorCode::InvalidArgument, "allreduce(host, device, stream)", [&] {
      c.allreduce(host.data(), dev2, count, DataType::Float32, ReduceOp::Sum, s);
    });
    expect_code(me, ErrorCode::InvalidArgument, "allgather(host, host, stream)",
                [&] { c.allgather(host.data(), host2.data(), count, DataType::Float32, s); });
    expect_code(me, ErrorCode::InvalidArgument, "broadcast(host, host, stream)",
                [&] { c.broadcast(host.data(), host2.data(), count, DataType::Float32, 0, s); });
    // Device memory without a stream: InvalidArgument.
    expect_code(me, ErrorCode::InvalidArgument, "allreduce(device, device)",
                [&] { c.allreduce(dev, dev2, count, DataType::Float32, ReduceOp::Sum); });
    expect_code(me, ErrorCode::InvalidArgument, "allreduce(host, device)",
                [&] { c.allreduce(host.data(), dev2, count, DataType::Float32, ReduceOp::Sum); });
    expect_code(me, ErrorCode::InvalidArgument, "reduce_scatter(device, device)",
                [&] { c.reduce_scatter(dev, dev2, count, DataType::Float32, ReduceOp::Sum); });
    // Argument checks shared with the host calls still apply on a stream.
    expect_code(me, ErrorCode::InvalidArgument, "broadcast(root 2 of 2, stream)",
                [&] { c.broadcast(dev, dev2, count, DataType::Float32, 2, s); });
    expect_code(me, ErrorCode::InvalidArgument, "allreduce(null, stream)",
                [&] { c.allreduce(nullptr, dev2, count, DataType::Float32, ReduceOp::Sum, s); });
    // Count 0 is a no-op, null buffers and all.
    c.allreduce(nullptr, nullptr, 0, DataType::Float32, ReduceOp::Sum, s);
    c.check_async_error();
    // None of that harmed the communicator: a device call and a host call
    // on it still work (and a refused pointer left no CUDA error behind for
    // the next launch to trip over).
    Case ok;
    ok.coll = Coll::AllReduce;
    ok.dtype = DataType::Float32;
    ok.count = count;
    me.run(ok);
    std::vector<std::int32_t> mine(count, me.rank + 1), sum(count, 0);
    c.allreduce(mine.data(), sum.data(), count, DataType::Int32, ReduceOp::Sum);
    for (std::size_t i = 0; i < count; ++i) {
      if (sum[i] != 3) {
        me.report("host allreduce on a bound communicator: element " + std::to_string(i) + " = " +
                  std::to_string(sum[i]) + ", want 3");
        break;
      }
    }
  });
  INFO(join(problems));
  CHECK(problems.empty());
}

TEST_CASE(
    "device collectives: a buffer a rank does not use may be null (broadcast send, reduce recv off "
    "the root)",
    "[cuda][device]") {
  require_gpu(
      "device collectives: a buffer a rank does not use may be null (broadcast send, reduce recv "
      "off the root)");
  const int n = 2;
  // Short timeout: if a rank refuses, the others' kernels give up soon.
  const std::vector<std::string> problems = run_group(
      n, 1 << 20, 1 << 20,
      [&](Rank& me) {
        // One rooted call; off the root, the buffer the rank does not use is null.
        auto rooted = [&](Coll coll, DataType dtype, int root) {
          Case k;
          k.coll = coll;
          k.dtype = dtype;
          k.count = 1031;
          k.root = root;
          Call call(k, n, me.rank, me.send_pool, me.recv_pool);
          if (me.rank != root && coll == Coll::Broadcast) call.l.send = nullptr;
          if (me.rank != root && coll == Coll::Reduce) call.l.recv = nullptr;
          call.stage(me.stream[0]);
          call.enqueue(*me.comm, me.stream[0]);
          call.fetch(me.stream[0]);
          me.sync(0);
          me.check(call);
        };
        rooted(Coll::Broadcast, DataType::Int32, 0);
        rooted(Coll::Reduce, DataType::Float32, 1);
      },
      bound(15));
  INFO(join(problems));
  CHECK(problems.empty());
}

TEST_CASE("device collectives: a peer that never joins ends in a Timeout error, not a hang",
          "[cuda][device][errors]") {
  require_gpu("device collectives: a peer that never joins ends in a Timeout error, not a hang");
  const int n = 2;
  const double timeout_s = 3;
  const std::vector<std::string> problems = run_group(
      n, 1 << 20, 1 << 20,
      [&](Rank& me) {
        Case c;
        c.coll = Coll::AllReduce;
        c.dtype = DataType::Float32;
        c.count = 4099;
        me.run(c);  // both ranks: connections and plan exist from here on
        me.barrier();
        if (me.rank == 0) {  // rank 1 sits this one out
          Call call(c, n, me.rank, me.send_pool, me.recv_pool);
          call.stage(me.stream[0]);
          call.enqueue(*me.comm, me.stream[0]);
          const auto t0 = std::chrono::steady_clock::now();
          cuda_ok(cudaStreamSynchronize(me.stream[0]), "cudaStreamSynchronize");
          const double waited = seconds_since(t0);
          if (waited > 10 * timeout_s) {
            me.report("the stranded allreduce ran " + std::to_string(waited) + " s; timeout " +
                      std::to_string(timeout_s) + " s");
          }
          expect_code(me, ErrorCode::Timeout, "check_async_error() after a peer stayed away",
                      [&] { me.comm->check_async_error(); });
          // Unusable from here on: every call says so.
          expect_code(me, ErrorCode::Timeout, "the next allreduce",
                      [&] { call.enqueue(*me.comm, me.stream[0]); });
        }
        me.barrier();
      },
      bound(timeout_s));
  INFO(join(problems));
  CHECK(problems.empty());
}

}  // namespace
}  // namespace colossus::test::device
