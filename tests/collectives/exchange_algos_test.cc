// exchange_algos_test.cc: the hierarchical all-to-all and the binomial-tree
// gather and scatter move every element where the call's definition puts it.
//
// Through the library: loopback groups with the algorithm forced
// (Options::algorithm), the layout from a topology preset (Options::topology:
// 1 node x 5, 2 x 2, 4 x 1, 3 x 4, 2 x 8), 256-byte slots (chunks of a few
// slots: many pieces per block), nchannels 1..3, counts 0, 1, 7, 1009 and
// 65537, dtypes int8, fp16, bf16, int32, fp32, fp64 (alltoall: every type at
// every count but 65537, which takes one type per setting, rotating); tree
// gather and scatter at every root for n = 1..9 and 16, the type and in or
// out of place rotating over the sweep (65537: two roots per setting), and
// whole-block messages with the default slots. Every element of
// every output is compared with the definition, the send buffers must come
// back unchanged, and guard bytes around every buffer untouched.
//
// Through the executor (Plans from make_plan): layouts the presets cannot
// make (nodes whose ranks are not consecutive), at the minimum FIFO depth of
// 2. And the shapes the algorithms claim: inter-node all-to-all traffic stays
// on its rail in one message per peer node, the tree root handles
// ceil(log2 n) messages; an uneven layout is refused with a clear error.
#include <algorithm>
#include <cstring>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "algorithms/algorithm.hpp"
#include "algorithms/layout.hpp"
#include "catch.hpp"
#include "colossus/colossus.hpp"
#include "colossus/error.hpp"
#include "exec/executor.hpp"
#include "support/rank_pool.hpp"
#include "support/values.hpp"
#include "transports/loopback/loopback.hpp"

namespace {

using colossus::Communicator;
using colossus::DataType;
using colossus::Options;
using colossus::algorithms::Algo;
using colossus::algorithms::AlgoParams;
using colossus::algorithms::Layout;
using colossus::plan::Collective;
namespace test = colossus::test;

const DataType kTypes[] = {DataType::Int8,  DataType::Float16, DataType::Bfloat16,
                           DataType::Int32, DataType::Float32, DataType::Float64};
const std::size_t kCounts[] = {0, 1, 7, 1009, 65537};

// Element y of the block rank `from` sends rank `to`: an integer every type
// of kTypes holds exactly, different for neighbouring senders, receivers
// and positions (131, 31 and 7 are invertible modulo each bound).
double value(DataType t, int from, int to, std::size_t y) {
  const std::size_t bound = t == DataType::Int8       ? 120
                            : t == DataType::Bfloat16 ? 251
                            : t == DataType::Float16  ? 2039
                                                      : 1000003;
  return static_cast<double>(
      (static_cast<std::size_t>(from) * 131 + static_cast<std::size_t>(to) * 31 + y * 7 + 3) %
      bound);
}

// A buffer with guard bytes on both sides.
class Guarded {
 public:
  static constexpr std::size_t kGuard = 64;
  static constexpr unsigned char kByte = 0x5A;
  explicit Guarded(std::size_t bytes) : bytes_(bytes + 2 * kGuard, kByte) {}
  unsigned char* data() { return bytes_.data() + kGuard; }
  bool intact(std::size_t from_byte, std::size_t to_byte) const {  // [from, to) of the payload
    for (std::size_t b = from_byte; b < to_byte; ++b) {
      if (bytes_[kGuard + b] != kByte) return false;
    }
    return true;
  }
  bool guards_intact() const {
    const std::size_t payload = bytes_.size() - 2 * kGuard;
    for (std::size_t b = 0; b < kGuard; ++b) {
      if (bytes_[b] != kByte || bytes_[kGuard + payload + b] != kByte) return false;
    }
    return true;
  }

 private:
  std::vector<unsigned char> bytes_;
};

// One call of an all-to-all, gather or scatter, as every rank makes it.
struct Call {
  Collective coll = Collective::AllToAll;
  DataType type = DataType::Float32;
  std::size_t count = 0;
  int n = 1;
  int root = 0;
  bool in_place = false;  // gather and scatter, at the root
  std::string describe() const {
    return std::string(colossus::plan::to_string(coll)) + " " +
           std::string(colossus::to_string(type)) + " count " + std::to_string(count) + " n " +
           std::to_string(n) + " root " + std::to_string(root) + (in_place ? " in place" : "");
  }
};

using Report = std::function<void(const std::string&)>;

// Rank r's buffers for a call, filled with its inputs; check() compares
// them with the definition afterwards.
class RankBuffers {
 public:
  RankBuffers(const Call& c, int r)
      : c_(c),
        r_(r),
        es_(colossus::dtype_size(c.type)),
        block_(c.count * es_),
        send_(block_ * (sends_all() ? un() : 1)),
        recv_(block_ * (receives_all() ? un() : 1)) {
    send_ptr_ = send_.data();
    recv_ptr_ = recv_.data();
    if (aliased()) {  // the API's in-place arrangements at the root
      if (c.coll == Collective::Gather)
        send_ptr_ = recv_.data() + static_cast<std::size_t>(r) * block_;
      else
        recv_ptr_ = send_.data() + static_cast<std::size_t>(r) * block_;
    }
    for (std::size_t i = 0; i < input_count(); ++i) test::store(c.type, send_ptr_, i, input(i));
  }
  const void* send() const { return send_ptr_; }
  void* recv() { return recv_ptr_; }

  void check(const Report& report) const {
    int bad = 0;
    auto complain = [&](const std::string& what) {
      if (bad++ < 3) report(what);
    };
    for (std::size_t i = 0; i < input_count(); ++i) {
      if (test::load(c_.type, send_ptr_, i) != input(i)) {
        complain("send[" + std::to_string(i) + "] was overwritten");
        break;
      }
    }
    const bool writes = c_.coll != Collective::Gather || r_ == c_.root;
    const std::size_t outputs = writes ? c_.count * (receives_all() ? un() : 1) : 0;
    for (std::size_t i = 0; i < outputs; ++i) {
      const double want = expected(i), got = test::load(c_.type, recv_ptr_, i);
      if (got != want) {
        complain("recv[" + std::to_string(i) + "] = " + std::to_string(got) + ", expected " +
                 std::to_string(want));
      }
    }
    if (!writes && !recv_.intact(0, block_ * un())) complain("a non-root's recv was written");
    if (!send_.guards_intact() || !recv_.guards_intact()) complain("a guard byte was overwritten");
  }

 private:
  std::size_t un() const { return static_cast<std::size_t>(c_.n); }
  bool root() const { return r_ == c_.root; }
  bool sends_all() const {
    return c_.coll == Collective::AllToAll || (c_.coll == Collective::Scatter && root());
  }
  bool receives_all() const {
    return c_.coll == Collective::AllToAll || (c_.coll == Collective::Gather && root()) ||
           (c_.coll == Collective::Gather && !root());  // a non-root's recv must stay untouched
  }
  bool aliased() const { return c_.in_place && root() && c_.coll != Collective::AllToAll; }
  std::size_t input_count() const { return c_.count * (sends_all() ? un() : 1); }
  // Input element i of this rank: block i / count goes to that rank (alltoall,
  // scatter); a gather's single block goes to the root.
  double input(std::size_t i) const {
    if (c_.coll == Collective::Gather) return value(c_.type, r_, c_.root, i);
    const std::size_t q = c_.count ? i / c_.count : 0;
    return value(c_.type, r_, static_cast<int>(q), c_.count ? i % c_.count : 0);
  }
  double expected(std::size_t i) const {
    switch (c_.coll) {
      case Collective::Scatter: return value(c_.type, c_.root, r_, i);
      case Collective::Gather:
        return value(c_.type, static_cast<int>(i / c_.count), c_.root, i % c_.count);
      default: return value(c_.type, static_cast<int>(i / c_.count), r_, i % c_.count);
    }
  }

  Call c_;
  int r_;
  std::size_t es_, block_;
  Guarded send_, recv_;
  unsigned char* send_ptr_ = nullptr;
  unsigned char* recv_ptr_ = nullptr;
};

// Runs body(r, report) on every rank's thread; one line per problem.
std::vector<std::string> on_all_ranks(test::RankPool& pool, const std::string& what,
                                      const std::function<void(int, const Report&)>& body) {
  std::mutex mu;
  std::vector<std::string> problems;
  auto errors = pool.run([&](int r) {
    body(r, [&](const std::string& p) {
      std::lock_guard<std::mutex> lock(mu);
      problems.push_back(what + ": rank " + std::to_string(r) + ": " + p);
    });
  });
  for (const auto& e : errors) problems.push_back(what + ": " + e);
  return problems;
}

// A loopback group with its rank threads.
class Group {
 public:
  Group(int n, const Options& o) : comms_(colossus::loopback_group(n, o)), pool_(n) {}
  std::vector<std::string> run(const Call& c, const std::string& where) {
    return on_all_ranks(pool_, c.describe() + " " + where, [&](int r, const Report& report) {
      RankBuffers b(c, r);
      Communicator& comm = comms_[static_cast<std::size_t>(r)];
      switch (c.coll) {
        case Collective::AllToAll: comm.alltoall(b.send(), b.recv(), c.count, c.type); break;
        case Collective::Gather: comm.gather(b.send(), b.recv(), c.count, c.type, c.root); break;
        default: comm.scatter(b.send(), b.recv(), c.count, c.type, c.root); break;
      }
      b.check(report);
    });
  }

 private:
  std::vector<Communicator> comms_;
  test::RankPool pool_;
};

Options forced(const std::string& topology, int nchannels) {
  Options o;
  o.algorithm = "alltoall:hierarchical;gather:tree;scatter:tree";
  o.topology = topology;
  o.nchannels = nchannels;
  o.slot_bytes = 256;
  o.timeout_s = 60;
  return o;
}

std::string first_of(const std::vector<std::string>& problems) {
  return problems.empty() ? "none" : problems.front();
}

struct Preset {
  const char* topology;
  int n;  // ranks; the preset's mapping makes the layout in the comment
};

}  // namespace

TEST_CASE("hierarchical alltoall through the library: every element, every layout",
          "[exchange][hierarchical]") {
  const Preset presets[] = {{"laptop", 5},              // 1 node x 5: a pairwise exchange
                            {"laptop:nodes=2", 4},      // 2 x 2
                            {"laptop:nodes=4", 4},      // 4 x 1: the network phase only
                            {"laptop:nodes=3", 12},     // 3 x 4
                            {"dgx-h100:nodes=2", 16}};  // 2 x 8
  std::size_t calls = 0;
  std::vector<std::string> problems;
  for (std::size_t k = 0; k < std::size(presets); ++k) {
    const Preset& pr = presets[k];
    for (int nch = 1; nch <= 3; ++nch) {
      Group g(pr.n, forced(pr.topology, nch));
      const std::string where = std::string(pr.topology) + " channels " + std::to_string(nch);
      for (const std::size_t count : kCounts) {
        for (std::size_t t = 0; t < std::size(kTypes); ++t) {
          // The largest count: one type of at most 4 bytes per setting, rotating (time).
          if (count == 65537 && t != (k + static_cast<std::size_t>(nch)) % 5) continue;
          Call c;
          c.coll = Collective::AllToAll;
          c.type = kTypes[t];
          c.count = count;
          c.n = pr.n;
          for (auto& p : g.run(c, where)) problems.push_back(std::move(p));
          ++calls;
        }
      }
    }
  }
  INFO(problems.size() << " problems in " << calls << " calls; first: " << first_of(problems));
  CHECK(problems.empty());
}

TEST_CASE("hierarchical alltoall with the default slots (whole blocks in one message)",
          "[exchange][hierarchical]") {
  Options o = forced("laptop:nodes=3", 2);
  o.slot_bytes = 0;
  Group g(12, o);
  std::vector<std::string> problems;
  for (const std::size_t count : {std::size_t{1}, std::size_t{1009}, std::size_t{65537}}) {
    Call c;
    c.type = DataType::Float32;
    c.count = count;
    c.n = 12;
    for (auto& p : g.run(c, "laptop:nodes=3 default slots")) problems.push_back(std::move(p));
  }
  INFO(first_of(problems));
  CHECK(problems.empty());
}

TEST_CASE("hierarchical alltoall refuses an uneven layout, naming it", "[exchange][hierarchical]") {
  // 5 ranks on 2 laptops: 3 + 2.
  auto comms = colossus::loopback_group(5, forced("laptop:nodes=2", 1));
  test::RankPool pool(5);
  std::vector<std::string> messages(5);
  auto errors = pool.run([&](int r) {
    std::vector<float> in(5 * 4, 1.0f), out(5 * 4);
    try {
      comms[static_cast<std::size_t>(r)].alltoall(in.data(), out.data(), 4, DataType::Float32);
    } catch (const colossus::Error& e) {
      if (e.code() == colossus::ErrorCode::InvalidArgument)
        messages[static_cast<std::size_t>(r)] = e.what();
    }
  });
  REQUIRE(errors.empty());
  for (const std::string& m : messages) {
    INFO(m);
    CHECK(m.find("same number of ranks") != std::string::npos);
    CHECK(m.find("2 nodes") != std::string::npos);
  }
  const Layout uneven = Layout::from_nodes({0, 0, 0, 1, 1});
  colossus::plan::CollArgs a;
  a.coll = Collective::AllToAll;
  a.count = 4;
  a.nranks = 5;
  CHECK_THROWS_AS(colossus::algorithms::make_plan(Algo::Hierarchical, a, 0, {1, 4096, &uneven}),
                  colossus::Error);
  a.coll = Collective::AllToAllv;
  CHECK_FALSE(colossus::algorithms::supports(Algo::Hierarchical, Collective::AllToAllv));
}

TEST_CASE("tree gather and scatter through the library: every root, n = 1..9 and 16",
          "[exchange][tree]") {
  std::size_t calls = 0;
  std::vector<std::string> problems;
  std::size_t turn = 0;  // rotates the type and the in-place choice over the sweep
  for (const int n : {1, 2, 3, 4, 5, 6, 7, 8, 9, 16}) {
    for (int nch = 1; nch <= 3; ++nch) {
      Group g(n, forced("", nch));
      const std::string where = "channels " + std::to_string(nch);
      for (int root = 0; root < n; ++root) {
        for (const Collective coll : {Collective::Gather, Collective::Scatter}) {
          for (const std::size_t count : kCounts) {
            // The largest count at two roots per setting (time).
            if (count == 65537 && root != (nch - 1) % n && root != n - 1) continue;
            Call c;
            c.coll = coll;
            c.type = kTypes[turn % std::size(kTypes)];
            c.count = count;
            c.n = n;
            c.root = root;
            c.in_place = (turn / std::size(kTypes)) % 2 == 1;
            ++turn;
            for (auto& p : g.run(c, where)) problems.push_back(std::move(p));
            ++calls;
          }
        }
      }
    }
  }
  INFO(problems.size() << " problems in " << calls << " calls; first: " << first_of(problems));
  CHECK(problems.empty());
}

namespace {

// Plans from make_plan on loopback transports of `slot` bytes and FIFO `depth`.
class PlanWorld {
 public:
  PlanWorld(int n, std::size_t slot, int depth)
      : transports_(colossus::transport::make_loopback_transports(n, slot, depth)), pool_(n) {
    for (auto& t : transports_)
      executors_.push_back(std::make_unique<colossus::exec::Executor>(*t, 60));
  }
  std::vector<std::string> run(Algo algo, const Call& c, const AlgoParams& params,
                               const std::string& where) {
    return on_all_ranks(pool_, c.describe() + " " + where, [&](int r, const Report& report) {
      colossus::plan::CollArgs a;
      a.coll = c.coll;
      a.count = c.count;
      a.dtype = c.type;
      a.root = c.root;
      a.nranks = c.n;
      const colossus::plan::Plan plan = colossus::algorithms::make_plan(algo, a, r, params);
      RankBuffers b(c, r);
      Guarded scratch(plan.scratch_count * colossus::dtype_size(c.type));
      executors_[static_cast<std::size_t>(r)]->run(plan, {b.send(), b.recv(), scratch.data()});
      b.check(report);
      if (!scratch.guards_intact()) report("a scratch guard byte was overwritten");
    });
  }

 private:
  std::vector<std::unique_ptr<colossus::transport::Transport>> transports_;
  std::vector<std::unique_ptr<colossus::exec::Executor>> executors_;
  test::RankPool pool_;
};

}  // namespace

TEST_CASE("hierarchical alltoall on interleaved layouts, FIFO depth 2",
          "[exchange][hierarchical]") {
  const Layout layouts[] = {
      Layout::from_nodes({0, 1, 0, 1, 0, 1}),                    // 2 x 3, alternating
      Layout::from_nodes({0, 0, 1, 1, 0, 0, 1, 1}),              // 2 x 4, runs of two
      Layout::from_nodes({2, 0, 1, 0, 2, 1, 1, 2, 0, 0, 1, 2}),  // 3 x 4, scattered
  };
  std::vector<std::string> problems;
  for (const Layout& l : layouts) {
    PlanWorld w(l.nranks(), 64, 2);
    for (const int nch : {1, 3}) {
      for (const std::size_t count : {std::size_t{1}, std::size_t{7}, std::size_t{1009}}) {
        for (const DataType t : {DataType::Int8, DataType::Float64}) {
          Call c;
          c.type = t;
          c.count = count;
          c.n = l.nranks();
          const std::string where = l.describe() + " channels " + std::to_string(nch);
          for (auto& p : w.run(Algo::Hierarchical, c, {nch, 64, &l}, where))
            problems.push_back(std::move(p));
        }
      }
    }
  }
  INFO(first_of(problems));
  CHECK(problems.empty());
}

TEST_CASE("tree gather and scatter at FIFO depth 2", "[exchange][tree]") {
  std::vector<std::string> problems;
  for (const int n : {3, 6, 11}) {
    PlanWorld w(n, 64, 2);
    for (int root = 0; root < n; ++root) {
      for (const Collective coll : {Collective::Gather, Collective::Scatter}) {
        Call c;
        c.coll = coll;
        c.type = root % 2 ? DataType::Int8 : DataType::Float64;
        c.count = 1009;
        c.n = n;
        c.root = root;
        for (auto& p : w.run(Algo::Tree, c, {2, 64, nullptr}, "depth 2"))
          problems.push_back(std::move(p));
      }
    }
  }
  INFO(first_of(problems));
  CHECK(problems.empty());
}

TEST_CASE("hierarchical alltoall: one network message per peer node, on the rail",
          "[exchange][hierarchical]") {
  for (const auto [nodes, per] : {std::pair{2, 8}, std::pair{3, 4}, std::pair{4, 1}}) {
    const Layout l = Layout::blocks(nodes, per);
    colossus::plan::CollArgs a;
    a.coll = Collective::AllToAll;
    a.count = 7;
    a.nranks = nodes * per;
    for (int r = 0; r < a.nranks; ++r) {
      const auto p = colossus::algorithms::make_plan(Algo::Hierarchical, a, r, {1, 1 << 19, &l});
      int network = 0, local = 0;
      for (const auto& s : p.channels[0].steps) {
        if (!colossus::plan::sends(s.kind)) continue;
        if (l.node_of(s.send_peer) == l.node_of(r)) {
          ++local;
          continue;
        }
        ++network;
        CHECK(l.local_index(s.send_peer) == l.local_index(r));
        CHECK(s.count() == static_cast<std::size_t>(per) * a.count);
      }
      CHECK(network == nodes - 1);
      CHECK(local == (per - 1) * nodes);  // each intra-node peer: one block per node
    }
  }
}

TEST_CASE("tree gather and scatter: the root handles ceil(log2 n) messages", "[exchange][tree]") {
  for (const int n : {2, 5, 8, 9, 16, 33}) {
    int depth = 0;
    while ((1 << depth) < n) ++depth;
    for (const Collective coll : {Collective::Gather, Collective::Scatter}) {
      colossus::plan::CollArgs a;
      a.coll = coll;
      a.count = 3;
      a.nranks = n;
      a.root = n / 2;
      const auto p = colossus::algorithms::make_plan(Algo::Tree, a, a.root, {1, 1 << 19, nullptr});
      std::size_t messages = 0;
      for (const auto& s : p.channels[0].steps)
        messages += colossus::plan::sends(s.kind) || colossus::plan::receives(s.kind);
      INFO(colossus::plan::to_string(coll) << " n " << n);
      // One more where the relative range of the last subtree wraps past rank n-1.
      CHECK(messages >= static_cast<std::size_t>(depth));
      CHECK(messages <= static_cast<std::size_t>(depth) + 1);
    }
  }
}
