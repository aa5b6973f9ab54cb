// algorithms_data_test.cc: real data through the tree, hierarchical and
// recursive doubling plans. Plans come from algorithms::make_plan and run on
// exec::Executor over loopback transports, one thread per rank; every output
// element is checked against the float64 reference with the harness's
// tolerances (collectives/reference.hpp).
//
// Sweep: every collective each algorithm implements; dtypes fp32, fp16,
// bf16, int32, fp64; ops sum, max, avg; counts 0, 1, 7, 1009; in
// place and out of place; n in {1, 2, 3, 4, 5, 8} (and, for hierarchical,
// the layouts 2 nodes x 4 and an uneven interleaved 3-node one, besides a
// single node); three settings: 2 channels x 512 KiB chunks in 512 KiB
// slots, 3 channels x 192 B chunks in 64 B slots (many chunks, three pieces
// per step, FIFO depth 4), and 1 channel x 64 B chunks in 64 B slots with
// the minimum FIFO depth of 2.
#include <cmath>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/layout.hpp"
#include "catch.hpp"
#include "collectives/harness.hpp"
#include "collectives/reference.hpp"
#include "exec/executor.hpp"
#include "support/rank_pool.hpp"
#include "transports/loopback/loopback.hpp"

namespace {

using colossus::DataType;
using colossus::ReduceOp;
using colossus::algorithms::Algo;
using colossus::algorithms::AlgoParams;
using colossus::algorithms::Layout;
using colossus::plan::Collective;
using colossus::test::Case;
namespace test = colossus::test;

constexpr unsigned char kSentinel = 0xA5;

struct Setting {
  int nchannels;
  std::size_t chunk_bytes, slot_bytes;
  int depth;
};
const Setting kSettings[] = {{2, 512u << 10, 512u << 10, 4}, {3, 192, 64, 4}, {1, 64, 64, 2}};

// n loopback ranks with their executors and threads, reused across cases.
class World {
 public:
  World(int n, const Setting& s, std::optional<Layout> layout)
      : n_(n),
        setting_(s),
        layout_(std::move(layout)),
        transports_(colossus::transport::make_loopback_transports(n, s.slot_bytes, s.depth)),
        pool_(n) {
    for (auto& t : transports_)
      executors_.push_back(std::make_unique<colossus::exec::Executor>(*t, 60));
  }

  std::string describe() const {
    std::ostringstream os;
    os << "n=" << n_ << (layout_ ? " layout " + layout_->describe() : std::string()) << " channels "
       << setting_.nchannels << " chunk " << setting_.chunk_bytes << " slot "
       << setting_.slot_bytes;
    return os.str();
  }

  // Runs the case on every rank; returns one line per problem.
  std::vector<std::string> run(Algo algo, const Case& c) {
    const test::Inputs inputs = test::make_inputs(c, n_);
    std::mutex mu;
    std::vector<std::string> problems;
    const std::string what = std::string(to_string(algo)) + " " + c.describe() + " " + describe();
    auto errors = pool_.run([&](int r) {
      run_rank(algo, c, r, inputs, [&](const std::string& p) {
        std::lock_guard<std::mutex> lock(mu);
        problems.push_back(what + " rank " + std::to_string(r) + ": " + p);
      });
    });
    for (auto& e : errors) problems.push_back(what + " " + e);
    return problems;
  }

 private:
  void run_rank(Algo algo, const Case& c, int r, const test::Inputs& inputs,
                const std::function<void(const std::string&)>& report) {
    colossus::plan::CollArgs args;
    args.coll = c.coll;
    args.count = c.count;
    args.dtype = c.dtype;
    args.op = c.op;
    args.root = c.root;
    args.nranks = n_;
    const AlgoParams params{setting_.nchannels, setting_.chunk_bytes,
                            layout_ ? &*layout_ : nullptr};
    const colossus::plan::Plan plan = colossus::algorithms::make_plan(algo, args, r, params);
    const std::size_t es = colossus::dtype_size(c.dtype);
    const std::size_t scount = colossus::plan::send_count(args),
                      rcount = colossus::plan::recv_count(args);
    const auto ur = static_cast<std::size_t>(r);
    std::vector<unsigned char> send(scount * es + 16, kSentinel), recv(rcount * es + 16, kSentinel);
    std::vector<unsigned char> scratch(plan.scratch_count * es + 16, kSentinel);
    unsigned char* sp = send.data();
    unsigned char* rp = recv.data();
    if (c.in_place) {
      if (c.coll == Collective::AllGather)
        sp = rp + ur * c.count * es;
      else if (c.coll == Collective::ReduceScatter)
        rp = sp + ur * c.count * es;
      else
        sp = rp;
    }
    for (std::size_t i = 0; i < scount; ++i) test::store(c.dtype, sp, i, inputs[ur][i]);
    executors_[ur]->run(plan, {sp, rp, scratch.data()});

    int bad = 0;
    auto check = [&](std::size_t i, double got, test::Expected e) {
      if (std::fabs(got - e.value) <= e.tolerance) return;
      if (bad++ < 3) {
        std::ostringstream os;
        os << "recv[" << i << "] = " << got << ", expected " << e.value << " +- " << e.tolerance;
        report(os.str());
      }
    };
    std::vector<double> column(static_cast<std::size_t>(n_));
    auto reduced = [&](std::size_t k) {
      for (std::size_t q = 0; q < column.size(); ++q) column[q] = inputs[q][k];
      return test::reduce_reference(c.dtype, c.op, column.data(), n_);
    };
    if (c.coll != Collective::Reduce || r == c.root) {
      for (std::size_t i = 0; i < rcount; ++i) {
        const double got = test::load(c.dtype, rp, i);
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
      for (std::size_t b = 0; b < rcount * es; ++b) {
        if (rp[b] != kSentinel) {
          report("reduce wrote the recv buffer of a non-root rank");
          break;
        }
      }
    }
    if (!c.in_place) {
      for (std::size_t i = 0; i < scount; ++i) {
        if (test::load(c.dtype, sp, i) != inputs[ur][i]) {
          report("send buffer modified at element " + std::to_string(i));
          break;
        }
      }
    }
    // Nothing written past any buffer's end.
    const std::size_t rbytes = c.in_place && c.coll == Collective::ReduceScatter ? 0 : rcount * es;
    for (const auto& [buf, used] :
         {std::pair{&recv, rbytes}, std::pair{&scratch, plan.scratch_count * es}}) {
      for (std::size_t b = used; b < used + 16; ++b) {
        if ((*buf)[b] != kSentinel) {
          report("wrote past the end of a buffer");
          break;
        }
      }
    }
  }

  int n_;
  Setting setting_;
  std::optional<Layout> layout_;
  std::vector<std::unique_ptr<colossus::transport::Transport>> transports_;
  std::vector<std::unique_ptr<colossus::exec::Executor>> executors_;
  test::RankPool pool_;
};

bool reduces(Collective c) {
  return c == Collective::AllReduce || c == Collective::ReduceScatter || c == Collective::Reduce;
}

// The full sweep of one algorithm on one world.
void sweep(Algo algo, World& w, int n, std::vector<std::string>& problems, std::size_t& cases) {
  for (const Collective coll :
       {Collective::AllReduce, Collective::AllGather, Collective::ReduceScatter,
        Collective::Broadcast, Collective::Reduce}) {
    if (!colossus::algorithms::supports(algo, coll)) continue;
    for (const DataType t : {DataType::Float32, DataType::Float16, DataType::Bfloat16,
                             DataType::Int32, DataType::Float64}) {
      for (const ReduceOp op : {ReduceOp::Sum, ReduceOp::Max, ReduceOp::Avg}) {
        if (!reduces(coll) && op != ReduceOp::Sum) continue;
        for (const std::size_t count : {0, 1, 7, 1009}) {
          for (const bool in_place : {false, true}) {
            Case c;
            c.coll = coll;
            c.dtype = t;
            c.op = op;
            c.count = count;
            c.root = static_cast<int>((count * 3 + static_cast<std::size_t>(t)) %
                                      static_cast<std::size_t>(n));
            c.in_place = in_place;
            for (auto& p : w.run(algo, c)) problems.push_back(p);
            ++cases;
          }
        }
      }
    }
  }
}

void require_clean(const std::vector<std::string>& problems, std::size_t cases,
                   std::size_t min_cases) {
  std::string shown;
  for (std::size_t i = 0; i < problems.size() && i < 8; ++i) shown += problems[i] + "\n";
  INFO(problems.size() << " problems in " << cases << " cases; first ones:\n" << shown);
  CHECK(problems.empty());
  CHECK(cases >= min_cases);
}

void sweep_flat(Algo algo) {
  std::vector<std::string> problems;
  std::size_t cases = 0;
  for (const int n : {1, 2, 3, 4, 5, 8}) {
    for (const Setting& s : kSettings) {
      World w(n, s, std::nullopt);
      sweep(algo, w, n, problems, cases);
    }
  }
  require_clean(problems, cases, 500);
}

}  // namespace

TEST_CASE("tree plans move real data", "[algorithms][tree]") { sweep_flat(Algo::Tree); }

TEST_CASE("recursive doubling plans move real data", "[algorithms][recursive_doubling]") {
  sweep_flat(Algo::RecursiveDoubling);
}

TEST_CASE("hierarchical plans move real data", "[algorithms][hierarchical]") {
  std::vector<std::string> problems;
  std::size_t cases = 0;
  const std::vector<std::optional<Layout>> layouts = {
      Layout::blocks(2, 4),
      Layout::from_nodes({0, 1, 1, 2, 0, 1}),  // nodes of 2, 3 and 1 ranks, interleaved
  };
  for (const Setting& s : kSettings) {
    for (const int n : {1, 2, 3, 4, 5, 8}) {
      World w(n, s, std::nullopt);
      sweep(Algo::Hierarchical, w, n, problems, cases);
    }
    for (const auto& l : layouts) {
      World w(l->nranks(), s, l);
      sweep(Algo::Hierarchical, w, l->nranks(), problems, cases);
    }
  }
  require_clean(problems, cases, 1000);
}
